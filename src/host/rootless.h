/*
 * rootless.h - labs without root (rootless.c): user, mount and network
 * namespaces made before Lua starts, and the spec sandbox.
 */
#ifndef NSLAB_ROOTLESS_H
#define NSLAB_ROOTLESS_H

/*
 * rootless.c: when *rootless is set, or nslab lacks CAP_NET_ADMIN and
 * CAP_SYS_ADMIN, moves the process into new user, mount and network
 * namespaces before Lua starts. Returns 0, or -1 after printing why.
 */
int rootless_setup(int *rootless, int noenv);

/*
 * nslab --sandbox CMD [ARGS...] (hidden, for tools/sandbox.sh): runs CMD
 * in the namespaces rootless_setup makes, with a user namespace only when
 * nslab lacks the capabilities. Returns only on failure (the exit status).
 */
int rootless_sandbox(char **argv);

#endif
