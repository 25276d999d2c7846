/*
 * host.h - what the host's files (main.c, repl.c, rootless.c, pidns.c) share;
 * none of it is part of the loadable module.
 */
#ifndef NSLAB_HOST_H
#define NSLAB_HOST_H

#include <lua.h>

/* Runs the function on the stack (below narg args) with a traceback
 * message handler; returns the lua_pcall status. */
int host_docall(lua_State *L, int narg, int nres);

/* Prints the error on the stack (if status is not LUA_OK) to stderr. */
int host_report(lua_State *L, int status);

/* Writes "nslab: msg" to stderr. */
void host_message(const char *msg);

/* Writes "nslab: what: strerror (ECODE); why" (why may be NULL) to stderr
 * and returns -1. */
int host_fail(const char *what, int err, const char *why);

/* The signal (SIGINT, SIGTERM, SIGHUP) pending or turned into an error
 * since the last host_clear_signal, or 0. */
int host_pending_signal(void);
void host_clear_signal(void);

/* Makes L the state SIGINT, SIGTERM and SIGHUP interrupt (the handler
 * hooks it, see host.c); NULL before it is closed. */
void host_watch_signals(lua_State *L);

/* The name error messages start with (argv[0]). */
extern const char *host_progname;

/* Installs the SIGINT, SIGTERM and SIGHUP handlers. */
void host_install_signals(void);

/* Remembers sig as the signal the host dies of at exit (a command killed
 * by SIGINT under os.execute counts as one). */
void host_set_exit_signal(int sig);

/* The signal to die of at exit (pending or turned into an error), or 0;
 * clears the pending one. */
int host_take_exit_signal(void);

/* Wraps os.exit (closes the state, so labs clean up) and os.execute (a
 * command killed by SIGINT or SIGQUIT interrupts the script). */
void host_wrap_os(lua_State *L);

#endif
