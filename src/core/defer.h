/*
 * defer.h - holding back the host's signals (defer.c): the state that
 * core.defer_signals keeps and the nslab host's signal hook reads.
 */
#ifndef NSLAB_DEFER_H
#define NSLAB_DEFER_H

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

/* core.defer_signals([notice,] fn, ...): a lua_CFunction. */
int nslab_l_defer_signals(lua_State *L);

#endif
