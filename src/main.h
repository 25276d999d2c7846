/*
 * main.h - what the host's files (main.c, repl.c, rootless.c) share; none
 * of it is part of the loadable module.
 */
#ifndef NSLAB_MAIN_H
#define NSLAB_MAIN_H

#include <lua.h>

/* Runs the function on the stack (below narg args) with a traceback
 * message handler; returns the lua_pcall status. */
int host_docall(lua_State *L, int narg, int nres);

/* Prints the error on the stack (if status is not LUA_OK) to stderr. */
int host_report(lua_State *L, int status);

/* Writes "nslab: msg" to stderr. */
void host_message(const char *msg);

/* The signal (SIGINT, SIGTERM, SIGHUP) pending or turned into an error
 * since the last host_clear_signal, or 0. */
int host_pending_signal(void);
void host_clear_signal(void);

/* Makes L the state SIGINT, SIGTERM and SIGHUP interrupt (the handler
 * hooks it, see main.c); NULL before it is closed. */
void host_watch_signals(lua_State *L);

/* The interactive loop (repl.c); returns when input ends. */
void repl_run(lua_State *L);

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

/*
 * When nslab starts as PID 1 (a container's entry point, unshare -pf),
 * orphans are reparented to it and nothing would reap them: it forks, the
 * child returns 0 and goes on as nslab, and PID 1 stays a tiny init that
 * reaps every process, passes kill(2)'s signals on to the child and exits
 * as it does. Returns 0 at once when nslab is not PID 1.
 */
int rootless_pid1(void);

#endif
