/*
 * defer.h - holding back the host's signals (defer.c): the state that
 * core.defer_signals keeps and the nslab host's signal hook reads.
 */
#ifndef NSLAB_DEFER_H
#define NSLAB_DEFER_H

#include <time.h>

#include <lua.h>

/*
 * The registry key of the struct below: a full userdata (one user value,
 * the notice: a string or nil) that core.defer_signals makes on first use
 * and the nslab host's signal hook (host.c) reads. Absent: nothing was
 * ever deferred.
 */
#define NSLAB_SIGNALS_KEY "nslab.signals"

struct nslab_signals {
	int depth;   /* core.defer_signals calls running (nested) */
	int pending; /* a signal the host held back meanwhile, or 0 */
};

/*
 * The registry key of a lua_CFunction the nslab host puts there: called
 * with no arguments, it pushes whether a signal came that its hook has not
 * turned into an error yet. Absent (plain lua5.4): never.
 */
#define NSLAB_PENDING_KEY "nslab.signal_pending"

/* Whether the host has a signal waiting for its hook (see above). */
int nslab_signal_pending(lua_State *L);

/*
 * ppoll(2) for the waits of exec and proc:wait that a host signal must
 * cut short: SIGINT, SIGTERM and SIGHUP are blocked while the host is
 * asked whether one already came (then -1 with EINTR at once: a signal
 * that landed just before the wait began would otherwise wait out the
 * whole command), and ppoll unblocks them atomically.
 */
struct pollfd;
int nslab_ppoll(lua_State *L, struct pollfd *fds, unsigned long n,
		const struct timespec *ts);

/* Raises the error "interrupted (SIGINT)" (or "(signal N)"), with no
 * file:line position. Never returns. */
int nslab_raise_interrupted(lua_State *L, int sig);

/* core.defer_signals([notice,] fn, ...): a lua_CFunction. */
int nslab_l_defer_signals(lua_State *L);

#endif
