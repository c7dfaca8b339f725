#ifndef GEARBOX_CSYSTEMD_SHIM_H
#define GEARBOX_CSYSTEMD_SHIM_H
#include <sys/types.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <systemd/sd-bus.h>

/* The layout of struct ucred (SO_PEERCRED). Glibc declares it only under _GNU_SOURCE,
   which Swift's Glibc module is not built with, so it is spelled out here. */
struct gearbox_ucred {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};
_Static_assert(sizeof(struct gearbox_ucred) == 12, "struct ucred is three 32-bit fields");

/* accept4(2) is declared only under _GNU_SOURCE too; glibc always exports it. Accepting
   with SOCK_CLOEXEC leaves no window in which a child started by another thread could
   inherit the connection. */
struct sockaddr;
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

#endif
