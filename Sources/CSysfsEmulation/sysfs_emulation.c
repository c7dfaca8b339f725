// Test-only: gives a regular-file copy of /sys/devices/system/cpu the write semantics of
// sysfs, for the gearbox-linux-probe helper that runs libcpufreq against fixture trees.
//
// libcpufreq writes an attribute with open(O_WRONLY) + write() and no O_TRUNC, which is
// right on sysfs (a store replaces the value) but leaves stale bytes in a regular file
// ("800000" over "2400000\n" reads back as "8000000"). This file interposes open(),
// write(), pwrite() at offset 0 (gearboxd's kept-open descriptors) and close() in the probe
// process only, and for paths under
// /sys/devices/system/cpu/ it emulates what kernfs does:
//   - a write replaces the whole value (the file is truncated when the store succeeds, not
//     at open, so a refused store leaves the old value), and reads back with the trailing
//     newline the kernel's show methods print;
//   - a write through a descriptor whose attribute has gone since it was opened fails with
//     ENODEV, as kernfs does for a removed node;
//   - opening an attribute without write permission bits for writing fails with EACCES,
//     even for root (kernfs_fop_open checks the mode, not capabilities);
//   - scaling_setspeed reads "<unsupported>" while the governor is not userspace (the
//     kernel derives it from the governor: store of scaling_governor updates it here).
// It can also log every write and fail chosen writes, so tests can see what reached the
// "kernel" and exercise refused writes:
//   GEARBOX_SYSFS_WRITE_LOG=/path   appends "<monotonic ns> <path> <value>" per write
//   GEARBOX_SYSFS_FAIL=suffix=ERRNO[,suffix=ERRNO...]   write() to a path ending in
//       suffix fails with that errno (EBUSY, EINVAL, EACCES, EIO, ENODEV by name)
//   GEARBOX_SYSFS_TRUST_DESCRIPTORS=1   skips the removed-attribute check (a path lookup per
//       store), for scripts/bench-agent, whose tree loses no attribute while it runs: a store
//       is then one fstat and one pwrite, against the kernel's one pwrite
// The variables are read once, when the library is loaded.
// Nothing here runs in gearboxd or gearboxctl.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sysfs_emulation.h"

#define PREFIX "/sys/devices/system/cpu/"
#define MAX_TRACKED 1024
#define MAX_PATH 512

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *tracked[MAX_TRACKED];

int gearbox_sysfs_emulation_linked(void) { return 1; }

static ssize_t raw_write(int fd, const void *buf, size_t n) {
    return syscall(SYS_write, fd, buf, n);
}

static int raw_close(int fd) { return (int)syscall(SYS_close, fd); }

static ssize_t raw_pwrite(int fd, const void *buf, size_t n, off_t offset) {
    return syscall(SYS_pwrite64, fd, buf, n, offset);
}

static const char *fail_spec;
static const char *write_log;
static int trust_descriptors;

__attribute__((constructor)) static void read_environment(void) {
    fail_spec = getenv("GEARBOX_SYSFS_FAIL");
    write_log = getenv("GEARBOX_SYSFS_WRITE_LOG");
    const char *trust = getenv("GEARBOX_SYSFS_TRUST_DESCRIPTORS");
    trust_descriptors = trust && strcmp(trust, "1") == 0;
}

static int errno_named(const char *name) {
    static const struct { const char *name; int value; } table[] = {
        {"EBUSY", EBUSY}, {"EINVAL", EINVAL}, {"EACCES", EACCES},
        {"EIO", EIO}, {"ENODEV", ENODEV}, {"EPERM", EPERM},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0) return table[i].value;
    return EIO;
}

// The errno GEARBOX_SYSFS_FAIL assigns to writes of `path`, or 0.
static int injected_failure(const char *path) {
    const char *spec = fail_spec;
    if (!spec || !*spec) return 0;
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", spec);
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) continue;
        *eq = '\0';
        size_t pl = strlen(path), sl = strlen(item);
        if (sl <= pl && strcmp(path + pl - sl, item) == 0) return errno_named(eq + 1);
    }
    return 0;
}

static void log_write(const char *path, const char *buf, size_t n) {
    const char *log = write_log;
    if (!log || !*log) return;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char line[MAX_PATH + 128];
    size_t vlen = n;
    while (vlen > 0 && (buf[vlen - 1] == '\n' || buf[vlen - 1] == ' ')) vlen--;
    if (vlen > 64) vlen = 64;
    int len = snprintf(line, sizeof line, "%lld %s %.*s\n",
                       (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, path, (int)vlen, buf);
    if (len > 0) raw_write(fd, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
    raw_close(fd);
}

// After a store to scaling_governor, the kernel's scaling_setspeed shows "<unsupported>"
// unless the new governor is userspace.
static void derive_setspeed(const char *path, const char *buf, size_t n) {
    const char *suffix = "/scaling_governor";
    size_t pl = strlen(path), sl = strlen(suffix);
    if (pl < sl || strcmp(path + pl - sl, suffix) != 0) return;
    if (n >= 9 && strncmp(buf, "userspace", 9) == 0) return;
    char sibling[MAX_PATH];
    snprintf(sibling, sizeof sibling, "%.*s/scaling_setspeed", (int)(pl - sl), path);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, sibling, O_WRONLY | O_CLOEXEC, 0);
    if (fd < 0) return;
    if (raw_pwrite(fd, "<unsupported>\n", 14, 0) == 14) (void)ftruncate(fd, 14);
    raw_close(fd);
}

static int emulated_open(const char *path, int flags, mode_t mode) {
    int writing = (flags & O_ACCMODE) != O_RDONLY;
    if (!writing || strncmp(path, PREFIX, strlen(PREFIX)) != 0)
        return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0222) == 0) {
        errno = EACCES;
        return -1;
    }
    long fd = syscall(SYS_openat, AT_FDCWD, path, flags & ~O_TRUNC, mode);
    if (fd >= 0 && fd < MAX_TRACKED) {
        pthread_mutex_lock(&lock);
        free(tracked[fd]);
        tracked[fd] = strdup(path);
        pthread_mutex_unlock(&lock);
    }
    return (int)fd;
}

int open(const char *path, int flags, ...) {
    mode_t mode = 0;
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return emulated_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    mode_t mode = 0;
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return emulated_open(path, flags, mode);
}

static ssize_t emulated_store(int fd, const void *buf, size_t n, int positional);

ssize_t write(int fd, const void *buf, size_t n) { return emulated_store(fd, buf, n, 0); }

// A store at offset 0 (what gearboxd's kept-open descriptors make) is a store like write();
// at any other offset sysfs would hand the attribute a partial value, which nothing here makes.
ssize_t pwrite(int fd, const void *buf, size_t n, off_t offset) {
    if (offset == 0) return emulated_store(fd, buf, n, 1);
    return raw_pwrite(fd, buf, n, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t offset) { return pwrite(fd, buf, n, offset); }

// `positional`: the caller asked for offset 0 (pwrite), which an untracked descriptor gets.
static ssize_t emulated_store(int fd, const void *buf, size_t n, int positional) {
    char path[MAX_PATH];
    path[0] = '\0';
    if (fd >= 0 && fd < MAX_TRACKED) {
        pthread_mutex_lock(&lock);
        if (tracked[fd]) snprintf(path, sizeof path, "%s", tracked[fd]);
        pthread_mutex_unlock(&lock);
    }
    if (!path[0]) return positional ? raw_pwrite(fd, buf, n, 0) : raw_write(fd, buf, n);
    int failure = injected_failure(path);
    if (failure) {
        errno = failure;
        return -1;
    }
    // A descriptor kept open on an attribute that has since gone (its policy removed, its
    // CPU's cpufreq link taken away with the CPU) no longer reaches the kernel: kernfs
    // deactivates the node (ENODEV), and an inactive policy refuses stores.
    struct stat named, opened;
    if (fstat(fd, &opened) != 0 ||
        (!trust_descriptors && (stat(path, &named) != 0 || named.st_ino != opened.st_ino || named.st_dev != opened.st_dev))) {
        errno = ENODEV;
        return -1;
    }
    // The new value, with the newline the kernel's show methods print, goes over the old one
    // in one pwrite; the file is cut to its length only when it was longer. A process killed
    // between the two leaves the new value on the first line (a kernel store is never torn;
    // emptying the file first would leave nothing, which no kernel shows).
    char value[4096];
    if (n >= sizeof value) {
        errno = EINVAL;  // sysfs takes at most a page
        return -1;
    }
    size_t length = n;
    memcpy(value, buf, length);
    if (length == 0 || value[length - 1] != '\n') value[length++] = '\n';
    ssize_t stored = raw_pwrite(fd, value, length, 0);
    if (stored < 0) return -1;
    if ((size_t)stored != length) {
        errno = EIO;
        return -1;
    }
    if (opened.st_size > (off_t)length && ftruncate(fd, (off_t)length) != 0) return -1;
    ssize_t written = (ssize_t)n;
    if (written >= 0) {
        log_write(path, buf, (size_t)written);
        derive_setspeed(path, buf, (size_t)written);
    }
    return written;
}

int close(int fd) {
    if (fd >= 0 && fd < MAX_TRACKED) {
        pthread_mutex_lock(&lock);
        free(tracked[fd]);
        tracked[fd] = NULL;
        pthread_mutex_unlock(&lock);
    }
    return raw_close(fd);
}
