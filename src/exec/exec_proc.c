/*
 * exec_proc.c - the proc object (a started command): proc:wait, :kill,
 * :running, :detach, __gc/__close, and the registry of live procs. How a
 * process ends and what comes of it (results, the errors of check=true
 * and of an interrupted wait) is exec_end.c's.
 *
 * The registry is a weak-keyed table held as an upvalue (never a C
 * global); its finalizer, like each proc's __gc and __close, kills and
 * reaps, so closing the Lua state leaves no child, even after SIGINT or
 * SIGTERM.
 *
 * Syscalls: ppoll(2) on the pidfd. Read: pidfd_open(2), signal(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec.h"
#include "core/core.h"

/*
 * Pushes the proc userdata (created closed, at 4) and its uservalue, the
 * table of names and anchors (at 5, holding op and the netns name).
 */
struct proc *exec_proc_new(lua_State *L, const char *op, int spawn,
			   const struct exec_opts *o, const char *netns)
{
	struct proc *p = lua_newuserdatauv(L, sizeof(*p), 1);
	int uv;

	memset(p, 0, sizeof(*p));
	p->pidfd = p->fd_in = p->fd_out = p->fd_err = -1;
	p->spawn = spawn;
	p->check = o->check;
	p->timeout = o->timeout;
	luaL_setmetatable(L, PROC_MT);
	lua_createtable(L, 8, 4);
	uv = lua_gettop(L);
	lua_pushvalue(L, uv);
	lua_setiuservalue(L, uv - 1, 1);
	lua_pushstring(L, op);
	lua_setfield(L, uv, "op");
	if (netns) {
		lua_pushstring(L, netns);
		lua_setfield(L, uv, "netns");
	}
	return p;
}

void exec_push_proc(lua_State *L, const char *op, const char *object,
		    const char *netns, pid_t pid, int pidfd)
{
	static const struct exec_opts none;
	struct proc *p = exec_proc_new(L, op, 1, &none, netns);

	p->pid = pid;
	p->pidfd = pidfd;
	p->init = 1;
	p->start = nslab_now();
	lua_pushstring(L, object);
	lua_setfield(L, -2, "object");
	lua_pop(L, 1);
	/* Known to the registry as every started proc is. */
	lua_pushvalue(L, -1);
	lua_pushboolean(L, 1);
	lua_rawset(L, lua_upvalueindex(2));
}

static struct proc *check_proc(lua_State *L, int idx)
{
	return luaL_checkudata(L, idx, PROC_MT);
}

/*
 * For the init at idx of a node's PID namespace: reaps every proc of the
 * registry at reg in the same netns whose leader has exited. The kernel
 * holds an ending init until every process of its namespace is reaped,
 * and those nslab started there are nslab's children, not the init's
 * (pid_namespaces(7)): without this, waiting for the init would wait
 * forever. Their results stay for their own wait.
 */
static void reap_node_procs(lua_State *L, int reg, int idx)
{
	const char *op, *object, *netns, *theirs;

	idx = lua_absindex(L, idx);
	proc_names(L, idx, &op, &object, &netns);
	lua_pushnil(L);
	while (lua_next(L, reg)) {
		struct proc *q = luaL_testudata(L, -2, PROC_MT);
		struct pollfd pf;

		lua_pop(L, 1);
		if (!q || q->init || q->reaped || q->pidfd < 0)
			continue;
		pf = (struct pollfd){q->pidfd, POLLIN, 0};
		proc_names(L, -1, &op, &object, &theirs);
		if (netns && theirs && !strcmp(netns, theirs) &&
		    poll(&pf, 1, 0) == 1)
			proc_end(q, 0);
	}
}

/* Waits (ppoll, interruptible as nslab_ppoll) for the leader of p at idx
 * to exit until deadline (0: none); for an init, in slices, reaping its
 * namespace's processes of nslab's between them (reap_node_procs).
 * Returns 1 when it exited, 0 at the deadline, -1 with errno set. */
static int wait_leader(lua_State *L, int reg, int idx, struct proc *p,
		       double deadline)
{
	struct pollfd pf = {p->pidfd, POLLIN, 0};
	struct timespec ts;

	if (!p->init)
		return nslab_ppoll(L, &pf, 1, exec_until(deadline, &ts));
	for (;;) {
		double until = nslab_now() + 0.05;
		int r;

		if (deadline > 0 && deadline < until)
			until = deadline;
		r = nslab_ppoll(L, &pf, 1, exec_until(until, &ts));
		if (r != 0 || (deadline > 0 && nslab_now() >= deadline))
			return r;
		reap_node_procs(L, reg, idx);
	}
}

/* proc_end, for an init after its namespace's processes (SIGKILL first:
 * the kernel then kills them all). Never raises. */
static void end_proc(lua_State *L, int reg, int idx, struct proc *p)
{
	if (p->init && !p->reaped && p->pidfd >= 0) {
		struct pollfd pf = {p->pidfd, POLLIN, 0};

		exec_signal(p->pid, p->pidfd, SIGKILL);
		while (poll(&pf, 1, 50) == 0)
			reap_node_procs(L, reg, idx);
	}
	proc_end(p, 1);
}

/*
 * proc:wait([timeout]) -> result. Waits for the leader to exit (at most
 * timeout s, else the spawn's timeout counted from its start; none: no
 * limit), kills the group at the limit, ends the rest of the group, reaps
 * and returns the result (the same table on later calls). Raises EINTR
 * after killing the group when the host is signalled; with check=true,
 * raises as exec does.
 */
static int l_proc_wait(lua_State *L)
{
	struct proc *p = check_proc(L, 1);
	double deadline = 0;

	if (!lua_isnoneornil(L, 2)) {
		lua_Number t = luaL_checknumber(L, 2);

		luaL_argcheck(L, t >= 0 && t < 1e9, 2,
			      "timeout must be >= 0 seconds");
		deadline = nslab_now() + t;
	} else if (p->timeout > 0) {
		deadline = p->start + p->timeout;
	}
	lua_settop(L, 1);
	if (!p->reaped) {
		int r = wait_leader(L, lua_upvalueindex(1), 1, p, deadline);

		if (r < 0)
			return proc_raise_interrupted(L, 1, errno);
		if (r == 0)
			p->timed_out = 1;
		if (p->timed_out)
			end_proc(L, lua_upvalueindex(1), 1, p);
		else
			proc_end(p, 0);
		lua_pushvalue(L, 1);
		lua_pushnil(L);
		lua_rawset(L, lua_upvalueindex(1));
	}
	lua_getiuservalue(L, 1, 1); /* 2 */
	if (lua_getfield(L, 2, "result") == LUA_TNIL) {
		lua_pop(L, 1);
		proc_push_result(L, p);
		proc_close_fds(p);
		lua_pushvalue(L, -1);
		lua_setfield(L, 2, "result");
	}
	if (p->check && !proc_result_ok(p))
		return proc_raise_check(L, 1, 3);
	return 1;
}

/* A signal by name ("SIGTERM", "TERM", any case) or number. */
static int check_signal(lua_State *L, int idx)
{
	const char *s;

	if (lua_isnoneornil(L, idx))
		return SIGTERM;
	if (lua_type(L, idx) == LUA_TNUMBER) {
		lua_Integer n = luaL_checkinteger(L, idx);

		luaL_argcheck(L, n >= 1 && n <= SIGRTMAX, idx,
			      "signal number out of range");
		return (int)n;
	}
	s = luaL_checkstring(L, idx);
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (int i = 1; i < SIGRTMIN; i++)
		if (sigabbrev_np(i) && !strcasecmp(sigabbrev_np(i), s))
			return i;
	return luaL_argerror(L, idx,
			     lua_pushfstring(L, "unknown signal '%s'", s));
}

/* proc:kill([signal]) -> boolean: sends signal (default SIGTERM) to the
 * process and its group; false when it was already reaped. */
static int l_proc_kill(lua_State *L)
{
	struct proc *p = check_proc(L, 1);
	int sig = check_signal(L, 2);

	if (p->reaped || p->pidfd < 0) {
		lua_pushboolean(L, 0);
		return 1;
	}
	exec_signal(p->pid, p->pidfd, sig);
	lua_pushboolean(L, 1);
	return 1;
}

/* proc:running() -> boolean: the leader has not exited (its pidfd is
 * not readable); an exited one stays unreaped until wait. */
static int l_proc_running(lua_State *L)
{
	struct proc *p = check_proc(L, 1);
	struct pollfd pf = {p->pidfd, POLLIN, 0};

	lua_pushboolean(L, !p->reaped && p->pidfd >= 0 && poll(&pf, 1, 0) == 0);
	return 1;
}

/* proc:detach() -> pid: forgets the process, which runs on: no kill at
 * __gc, __close or lua_close; afterwards the proc acts as reaped. */
static int l_proc_detach(lua_State *L)
{
	struct proc *p = check_proc(L, 1);

	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
	p->reaped = 1, p->code = -1, p->sig = 0;
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	lua_rawset(L, lua_upvalueindex(1));
	lua_pushinteger(L, p->pid);
	return 1;
}

/* __gc and __close: kill the group, reap, close; safe twice. */
static int l_proc_gc(lua_State *L)
{
	struct proc *p = check_proc(L, 1);

	end_proc(L, lua_upvalueindex(1), 1, p);
	proc_close_fds(p);
	return 0;
}

/* __tostring: proc 1234 "sleep" in netns "red" (running) */
static int l_proc_tostring(lua_State *L)
{
	struct proc *p = check_proc(L, 1);
	const char *op, *object, *netns;

	proc_names(L, 1, &op, &object, &netns);
	lua_pushfstring(L, "proc %d %s", (int)p->pid, object);
	if (netns)
		lua_pushfstring(L, " in netns \"%s\" (", netns);
	else
		lua_pushliteral(L, " (");
	if (p->reaped)
		proc_push_ending(L, p);
	else
		lua_pushliteral(L, "running");
	lua_pushliteral(L, ")");
	lua_concat(L, 4);
	return 1;
}

/* __index: the methods (upvalue 1), and the field pid. */
static int l_proc_index(lua_State *L)
{
	struct proc *p = check_proc(L, 1);

	if (lua_type(L, 2) == LUA_TSTRING &&
	    !strcmp(lua_tostring(L, 2), "pid")) {
		lua_pushinteger(L, p->pid);
		return 1;
	}
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(1));
	return 1;
}

/* Kills and reaps every proc in the registry at idx; returns how many
 * were still running. */
static int end_all(lua_State *L, int idx)
{
	int n = 0;

	/* Inits last: each waits for its namespace's processes. */
	for (int inits = 0; inits < 2; inits++) {
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			struct proc *p = luaL_testudata(L, -2, PROC_MT);

			lua_pop(L, 1);
			if (p && p->init == inits && !p->reaped &&
			    p->pidfd >= 0) {
				end_proc(L, idx, -1, p);
				n++;
			}
		}
	}
	return n;
}

/* core.exec.killall() -> n: kills and reaps every spawned process still
 * alive (a lab's last resort). */
int l_proc_killall(lua_State *L)
{
	lua_pushinteger(L, end_all(L, lua_upvalueindex(2)));
	return 1;
}

/* core.exec.procs() -> array of the procs not yet reaped. */
int l_proc_list(lua_State *L)
{
	lua_Integer i = 0;

	lua_newtable(L);
	lua_pushnil(L);
	while (lua_next(L, lua_upvalueindex(2))) {
		struct proc *p = luaL_testudata(L, -2, PROC_MT);

		lua_pop(L, 1);
		if (p && !p->reaped) {
			lua_pushvalue(L, -1);
			lua_rawseti(L, -3, ++i);
		}
	}
	return 1;
}

/* The registry's __gc: at lua_close, whatever is left is ended. */
static int l_registry_gc(lua_State *L)
{
	end_all(L, 1);
	return 0;
}

/* Makes the proc metatable and gives the registry (a table at index
 * registry) its weak keys and finalizer. */
void proc_open(lua_State *L, int registry)
{
	static const luaL_Reg methods[] = {
	    {"wait", l_proc_wait},
	    {"kill", l_proc_kill},
	    {"running", l_proc_running},
	    {"detach", l_proc_detach},
	    {NULL, NULL},
	};
	static const luaL_Reg meta[] = {
	    {"__gc", l_proc_gc},
	    {"__close", l_proc_gc},
	    {"__tostring", l_proc_tostring},
	    {NULL, NULL},
	};

	lua_createtable(L, 0, 2);
	lua_pushliteral(L, "k");
	lua_setfield(L, -2, "__mode");
	lua_pushcfunction(L, l_registry_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, registry);

	luaL_newmetatable(L, PROC_MT);
	lua_pushvalue(L, registry);
	luaL_setfuncs(L, meta, 1);
	lua_newtable(L); /* methods, the registry as upvalue */
	lua_pushvalue(L, registry);
	luaL_setfuncs(L, methods, 1);
	lua_pushcclosure(L, l_proc_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}
