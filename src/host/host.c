/*
 * host.c - what the host's parts (main.c, repl.c, rootless.c, pidns.c)
 * share: the signals that become Lua errors, running a chunk with a
 * traceback, reporting errors and failed system calls, and the os.exit /
 * os.execute wrappers. Not part of the loadable module.
 *
 * SIGINT, SIGTERM and SIGHUP install a hook from the handler (as lua.c
 * does) that turns them into a Lua error, so to-be-closed labs unwind and
 * clean up, except while core.defer_signals runs (core/defer.c); the host
 * then dies of the same signal. Read: lua(1), signal(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/defer.h"
#include "host/host.h"

extern char **environ;

const char *host_progname = "nslab";
static volatile sig_atomic_t got_signal;
static int exit_signal; /* a signal turned into an error, re-raised at exit */

/*
 * Signals reach Lua as lua.c does it: the handler installs signal_hook
 * (lua_sethook may be called from a signal handler), which raises at the
 * next call (or after 1000 instructions without one). A hook the script had set
 * (debug.sethook: a profiler, a coverage tool) is saved first and given back
 * when signal_hook runs, so such a script stays interruptible and costs nothing
 * when no signal comes. Only the main thread is hooked: a coroutine is stopped
 * when it yields or returns to it (as in lua).
 */
static lua_State *volatile watched; /* the state signals stop, or NULL */
static lua_Hook saved_hook;	    /* the script's hook, while ours waits */
static int saved_mask, saved_count;

static void signal_hook(lua_State *L, lua_Debug *ar);

static void on_signal(int sig)
{
	lua_State *L = watched;

	got_signal = sig;
	if (!L)
		return;
	if (lua_gethook(L) != signal_hook) {
		saved_hook = lua_gethook(L);
		saved_mask = lua_gethookmask(L);
		saved_count = lua_gethookcount(L);
	}
	/* At the next call, so a signal during a C function (io.read,
	 * os.execute) stops the script at once, once its results are
	 * assigned (a wait's EINTR error reaches its pcall); a loop that
	 * calls nothing within 1000 instructions. */
	lua_sethook(L, signal_hook, LUA_MASKCALL | LUA_MASKCOUNT, 1000);
}

int host_pending_signal(void)
{
	return got_signal ? got_signal : exit_signal;
}

void host_clear_signal(void)
{
	got_signal = 0;
	exit_signal = 0;
}

/*
 * Whether core.defer_signals runs (defer.c): then sig is left pending for
 * it to raise when it ends, and its notice, if any, printed now.
 */
static int deferred(lua_State *L, int sig)
{
	struct nslab_signals *s;
	int held = 0;

	if (lua_getfield(L, LUA_REGISTRYINDEX, NSLAB_SIGNALS_KEY) ==
		LUA_TUSERDATA &&
	    lua_rawlen(L, -1) == sizeof(*s)) {
		s = lua_touserdata(L, -1);
		if (s->depth > 0) {
			s->pending = sig;
			held = 1;
			if (lua_getiuservalue(L, -1, 1) == LUA_TSTRING)
				host_message(lua_tostring(L, -1));
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	return held;
}

/* Installed by on_signal: gives the script's hook back, then turns the
 * signal into an error at this safe point, unless it is deferred. */
static void signal_hook(lua_State *L, lua_Debug *ar)
{
	sigset_t block, old;
	int sig;

	(void)ar;
	/* A signal now would save our own hook as the script's. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	lua_sethook(L, saved_hook, saved_mask, saved_count);
	saved_hook = NULL;
	sig = got_signal;
	got_signal = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (!sig)
		return; /* cleared meanwhile (the REPL dropped a line) */
	/* Once: the unwinding (labs closing) runs without our hook. */
	exit_signal = sig;
	if (deferred(L, sig))
		return;
	nslab_raise_interrupted(L, sig);
}

/* The registry's NSLAB_PENDING_KEY (core/defer.h): whether a signal came
 * that signal_hook has not turned into an error yet. */
static int l_signal_pending(lua_State *L)
{
	lua_pushboolean(L, got_signal != 0);
	return 1;
}

void host_watch_signals(lua_State *L)
{
	if (L) {
		lua_pushcfunction(L, l_signal_pending);
		lua_setfield(L, LUA_REGISTRYINDEX, NSLAB_PENDING_KEY);
	}
	watched = L;
}

void host_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* Each handler runs alone: it saves and swaps the Lua hook. */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	/* No SA_RESTART: blocking waits return EINTR and give up. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void host_message(const char *msg)
{
	if (host_progname)
		fprintf(stderr, "%s: ", host_progname);
	fprintf(stderr, "%s\n", msg);
	fflush(stderr);
}

int host_fail(const char *what, int err, const char *why)
{
	const char *code = strerrorname_np(err);
	char buf[600];

	snprintf(buf, sizeof(buf), "%s: %s (%s)%s%s", what, strerror(err),
		 code ? code : "EUNKNOWN", why && *why ? "; " : "",
		 why ? why : "");
	host_message(buf);
	return -1;
}

/*
 * Message handler: the error as text plus a traceback, as lua.c's. One
 * difference: an error object with __tostring (nslab's kernel errors) also
 * gets the traceback, since such objects carry no file:line of their own.
 */
static int msghandler(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (msg == NULL) {
		if (luaL_callmeta(L, 1, "__tostring") &&
		    lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg = lua_pushfstring(L, "(error object is a %s value)",
					      luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

int host_report(lua_State *L, int status)
{
	if (status != LUA_OK) {
		host_message(lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	return status;
}

int host_docall(lua_State *L, int narg, int nres)
{
	int base = lua_gettop(L) - narg;
	int status;

	lua_pushcfunction(L, msghandler);
	lua_insert(L, base);
	status = lua_pcall(L, narg, nres, base);
	lua_remove(L, base);
	return status;
}

void host_set_exit_signal(int sig)
{
	exit_signal = sig;
}

int host_take_exit_signal(void)
{
	int sig = got_signal ? got_signal : exit_signal;

	got_signal = 0;
	return sig;
}

/*
 * os.exit closes the state unless told otherwise (lua's default is not to):
 * closing runs the __close/__gc of labs held in globals, so a script that
 * calls os.exit(1) still leaves no namespace behind.
 */
static int l_exit(lua_State *L)
{
	/* Checked here, so a bad argument is reported at the caller's line
	 * and not from inside the wrapped function. */
	if (!lua_isnoneornil(L, 1) && !lua_isboolean(L, 1))
		luaL_checkinteger(L, 1);
	lua_settop(L, 2);
	if (lua_isnil(L, 2)) {
		lua_pushboolean(L, 1);
		lua_replace(L, 2);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 2, 0);
	return 0;
}

/* Forwards sig to the command (target: its pid, or minus its process
 * group) and waits for it at most 2 s, then SIGKILL: a shell passes
 * Ctrl-C to its foreground job the same way. */
static void execute_forward(pid_t pid, pid_t target, int sig, int *status)
{
	struct timespec nap = {0, 10000000L}; /* 10 ms */

	kill(target, sig);
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return;
		nanosleep(&nap, NULL);
	}
	kill(target, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* Runs "sh -c cmd" and returns its wait status, or -1 with errno. SIGQUIT
 * is ignored here meanwhile (Ctrl-\ on a terminal is the command's) and
 * default in the child. */
static int execute_wait(const char *cmd)
{
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	struct sigaction ign = {0}, oldquit;
	posix_spawnattr_t attr;
	sigset_t def;
	pid_t pid;
	int status = -1, err, group = !isatty(0);

	ign.sa_handler = SIG_IGN;
	sigemptyset(&def);
	sigaddset(&def, SIGQUIT);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr,
				 (short)(POSIX_SPAWN_SETSIGDEF |
					 (group ? POSIX_SPAWN_SETPGROUP : 0)));
	sigaction(SIGQUIT, &ign, &oldquit);
	err = posix_spawn(&pid, "/bin/sh", NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (err == 0) {
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR)
				break;
			if (got_signal) { /* the hook raises once we return */
				execute_forward(pid, group ? -pid : pid,
						got_signal, &status);
				break;
			}
		}
	}
	sigaction(SIGQUIT, &oldquit, NULL);
	errno = err;
	return err ? -1 : status;
}

/*
 * os.execute as lua's (the command through "sh -c"; true or nil, "exit"
 * or "signal", the number), but without system(3), which ignores SIGINT
 * and SIGQUIT in the caller while the command runs: a SIGINT sent to
 * nslab alone (kill, systemd, a CI runner) was lost. A signal that reaches
 * nslab while the command runs is passed on to the command, and once it
 * has ended the script is interrupted. A command killed by SIGINT or
 * SIGQUIT (Ctrl-C or Ctrl-\ on a terminal reach only it, or both)
 * interrupts the script too, as a shell stops at its foreground job's
 * Ctrl-C.
 */
static int l_execute(lua_State *L)
{
	const char *cmd = luaL_optstring(L, 1, NULL);
	int status, sig;

	if (!cmd) { /* is a shell there: lua's own answer */
		lua_settop(L, 0);
		lua_pushvalue(L, lua_upvalueindex(1));
		lua_call(L, 0, LUA_MULTRET);
		return lua_gettop(L);
	}
	status = execute_wait(cmd);
	if (status < 0)
		return luaL_fileresult(L, 0, NULL);
	if (WIFSIGNALED(status)) {
		sig = WTERMSIG(status);
		if ((sig == SIGINT || sig == SIGQUIT) && !got_signal) {
			host_set_exit_signal(sig);
			return nslab_raise_interrupted(L, sig);
		}
		lua_pushnil(L);
		lua_pushliteral(L, "signal");
		lua_pushinteger(L, sig);
		return 3;
	}
	status = WEXITSTATUS(status);
	if (status == 0)
		lua_pushboolean(L, 1);
	else
		lua_pushnil(L);
	lua_pushliteral(L, "exit");
	lua_pushinteger(L, status);
	return 3;
}

void host_wrap_os(lua_State *L)
{
	lua_getglobal(L, "os");
	lua_getfield(L, -1, "execute");
	lua_pushcclosure(L, l_execute, 1);
	lua_setfield(L, -2, "execute");
	lua_pop(L, 1);
	lua_getglobal(L, "os");
	lua_getfield(L, -1, "exit");
	lua_pushcclosure(L, l_exit, 1);
	lua_setfield(L, -2, "exit");
	lua_pop(L, 1);
}
