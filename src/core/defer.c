/*
 * defer.c - core.defer_signals: runs a function with the nslab host's
 * signals (SIGINT, SIGTERM, SIGHUP) held back, so that something made and
 * the record of how to undo it never come apart, and a teardown finishes.
 *
 * The host (main.c) turns those signals into the Lua error "interrupted
 * (SIGINT)" from a hook it installs in its signal handler. The module and
 * the host share one struct nslab_signals, a full userdata in the registry
 * at NSLAB_SIGNALS_KEY: the module counts the deferrals running (depth);
 * the host's hook, finding depth > 0, leaves the signal in `pending` and
 * prints the deferral's notice (the userdata's user value) instead of
 * raising. When the outermost deferral ends, this file raises the pending
 * interrupt. The state lives in the Lua state, not in a C global, so two
 * Lua states never share it.
 *
 * Read: signal(7), lua(1) (how lua.c handles SIGINT), Lua 5.4 manual
 * lua_sethook and lua_pcall.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include "core/core.h"

/* The shared struct, made on first use; leaves the userdata on the stack. */
static struct nslab_signals *signals_push(lua_State *L)
{
	struct nslab_signals *s;

	if (lua_getfield(L, LUA_REGISTRYINDEX, NSLAB_SIGNALS_KEY) ==
	    LUA_TUSERDATA)
		return lua_touserdata(L, -1);
	lua_pop(L, 1);
	s = lua_newuserdatauv(L, sizeof(*s), 1);
	memset(s, 0, sizeof(*s));
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, NSLAB_SIGNALS_KEY);
	return s;
}

/*
 * core.defer_signals([notice,] fn, ...) -> what fn(...) returns. See
 * lua/nslab/init.lua's documentation of nslab.core.defer_signals.
 * Stack while fn runs: [ud, old notice, notice?, fn, args...].
 */
int nslab_l_defer_signals(lua_State *L)
{
	int has_notice = lua_type(L, 1) == LUA_TSTRING;
	int fn = has_notice ? 2 : 1, status, sig;
	struct nslab_signals *s;

	luaL_checktype(L, fn, LUA_TFUNCTION);
	s = signals_push(L);
	lua_getiuservalue(L, -1, 1);
	if (has_notice) {
		lua_pushvalue(L, 1);
		lua_setiuservalue(L, -3, 1);
	}
	lua_rotate(L, 1, 2);
	fn += 2;
	s->depth++;
	status = lua_pcall(L, lua_gettop(L) - fn, LUA_MULTRET, 0);
	s->depth--;
	lua_pushvalue(L, 2);
	lua_setiuservalue(L, 1, 1);
	if (s->depth == 0 && s->pending) {
		/* fn's own error, if any, gives way: the user asked to stop. */
		sig = s->pending;
		s->pending = 0;
		return nslab_raise_interrupted(L, sig);
	}
	if (status != LUA_OK)
		return lua_error(L);
	return lua_gettop(L) - fn + 1;
}

int nslab_signal_pending(lua_State *L)
{
	lua_CFunction f;
	int pending = 0;

	if (lua_getfield(L, LUA_REGISTRYINDEX, NSLAB_PENDING_KEY) ==
		LUA_TFUNCTION &&
	    (f = lua_tocfunction(L, -1)) != NULL) {
		f(L);
		pending = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return pending;
}

int nslab_ppoll(lua_State *L, struct pollfd *fds, unsigned long n,
		const struct timespec *ts)
{
	sigset_t block, old;
	int r, err;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (nslab_signal_pending(L)) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		errno = EINTR;
		return -1;
	}
	r = ppoll(fds, (nfds_t)n, ts, &old);
	err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return r;
}

int nslab_raise_interrupted(lua_State *L, int sig)
{
	/* No position: it would name whatever Lua line the signal landed
	 * on, often inside the library; the traceback says where. */
	if (sigabbrev_np(sig))
		lua_pushfstring(L, "interrupted (SIG%s)", sigabbrev_np(sig));
	else
		lua_pushfstring(L, "interrupted (signal %d)", sig);
	return lua_error(L);
}
