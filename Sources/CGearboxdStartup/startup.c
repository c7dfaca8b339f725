// gearboxd's settings that must be made before any thread allocates.
//
// One malloc arena: glibc gives each thread that allocates while another holds the main
// arena an arena of its own, and the agent's threads (the Swift concurrency pool, which runs
// before `main` hands over to the command, and the dither thread) each then keep resident
// heap pages for the little they allocate. Set from Swift once the command runs, the limit
// comes after the pool's threads have their arenas; set here it holds for every thread
// (0.4-0.6 MB less peak RSS on the 96-CPU bench, docs/performance.md).
#include <malloc.h>

#include "gearboxd_startup.h"

static int single_arena;

__attribute__((constructor)) static void gearboxd_limit_malloc_arenas(void) {
    single_arena = mallopt(M_ARENA_MAX, 1) == 1;
}

int gearboxd_single_malloc_arena(void) { return single_arena; }
