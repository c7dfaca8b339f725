#ifndef GEARBOXD_STARTUP_H
#define GEARBOXD_STARTUP_H

/// 1 when glibc was told, before main ran, to keep one malloc arena (M_ARENA_MAX = 1).
int gearboxd_single_malloc_arena(void);

#endif
