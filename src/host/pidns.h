/*
 * pidns.h - the processes around nslab's PID namespace (pidns.c).
 */
#ifndef NSLAB_PIDNS_H
#define NSLAB_PIDNS_H

/*
 * Forks init and the worker into the PID namespace the caller unshared.
 * Returns 0 in the worker (with /proc of the new namespace mounted), or
 * execs argv there when argv is not NULL; the parent never returns. -1
 * after printing why.
 */
int pidns_run(char **argv);

/*
 * When nslab starts as PID 1 (a container's entry point, unshare -pf),
 * orphans are reparented to it and nothing would reap them: it forks, the
 * child returns 0 and goes on as nslab, and PID 1 stays a tiny init that
 * reaps every process, passes kill(2)'s signals on to the child and exits
 * as it does. Returns 0 at once when nslab is not PID 1.
 */
int pidns_pid1(void);

#endif
