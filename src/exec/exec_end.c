/*
 * exec_end.c - how a started command ends and what comes of it: ending
 * it (proc_end), its result table, and the errors of check=true and of an
 * interrupted wait; and the deadlines waits poll against.
 *
 * The end of a process always goes: SIGKILL to its group while the
 * unreaped leader still holds the group id, then waitid on the pidfd.
 *
 * Syscalls: pread(2) of the spawn memfds, tcsetpgrp(3). Read:
 * pidfd_open(2), waitid(2), signal(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec.h"
#include "core/core.h"

struct timespec *exec_until(double deadline, struct timespec *ts)
{
	double d = deadline - nslab_now();

	if (deadline <= 0)
		return NULL;
	d = d < 0 ? 0 : d;
	ts->tv_sec = (time_t)d;
	ts->tv_nsec = (long)((d - (double)ts->tv_sec) * 1e9);
	return ts;
}

void proc_close_fds(struct proc *p)
{
	int *fds[] = {&p->fd_in, &p->fd_out, &p->fd_err};

	for (size_t i = 0; i < 3; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	free(p->out.buf);
	free(p->err.buf);
	memset(&p->out, 0, sizeof(p->out));
	memset(&p->err, 0, sizeof(p->err));
}

/*
 * Ends the process: SIGKILL to its group (and, with kill_leader, to the
 * leader through the pidfd), then reaps it. The group kill comes first,
 * while the unreaped leader still holds the group id. Gives the terminal
 * back when the child had it.
 */
void proc_end(struct proc *p, int kill_leader)
{
	sigset_t ttou, old;

	if (p->pidfd < 0)
		return;
	exec_signal(p->pid, kill_leader ? p->pidfd : -1, SIGKILL);
	if (exec_reap(p->pidfd, &p->code, &p->sig) < 0)
		p->code = -1, p->sig = 0;
	close(p->pidfd);
	p->pidfd = -1;
	p->reaped = 1;
	p->elapsed = nslab_now() - p->start;
	if (p->fg) {
		sigemptyset(&ttou);
		sigaddset(&ttou, SIGTTOU);
		sigprocmask(SIG_BLOCK, &ttou, &old);
		tcsetpgrp(0, getpgrp());
		sigprocmask(SIG_SETMASK, &old, NULL);
		p->fg = 0;
	}
}

/* Where errors name the command: the op, "argv[0]" (or "the command" for
 * sh), the netns; kept in the proc's uservalue for wait's errors. */
void proc_names(lua_State *L, int proc, const char **op, const char **object,
		const char **netns)
{
	lua_getiuservalue(L, proc, 1);
	lua_getfield(L, -1, "op");
	*op = lua_tostring(L, -1);
	lua_getfield(L, -2, "object");
	*object = lua_tostring(L, -1);
	lua_getfield(L, -3, "netns");
	*netns = lua_tostring(L, -1);
	lua_pop(L, 4); /* the strings stay referenced by the table */
}

/* ---- results ---- */

/* Pushes what the process wrote on stdout (which 1) or stderr (2): the
 * exec sink, or the whole spawn memfd. */
static void push_output(lua_State *L, struct proc *p, int which)
{
	int fd = which == 1 ? p->fd_out : p->fd_err;
	const struct sink *k = which == 1 ? &p->out : &p->err;
	struct stat sb;
	luaL_Buffer b;
	size_t got = 0;
	char *dst;

	if (!p->spawn || fd < 0 || fstat(fd, &sb) < 0) {
		lua_pushlstring(L, k->buf ? k->buf : "", k->len);
		return;
	}
	dst = luaL_buffinitsize(L, &b, (size_t)sb.st_size);
	while (got < (size_t)sb.st_size) {
		ssize_t r =
		    pread(fd, dst + got, (size_t)sb.st_size - got, (off_t)got);

		if (r <= 0 && !(r < 0 && errno == EINTR))
			break;
		got += r > 0 ? (size_t)r : 0;
	}
	luaL_pushresultsize(&b, got);
}

int proc_result_ok(const struct proc *p)
{
	return !p->timed_out && p->sig == 0 && p->code == 0;
}

static void push_signame(lua_State *L, int sig)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		lua_pushfstring(L, "SIG%s", abbrev);
	else
		lua_pushfstring(L, "SIG%d", sig);
}

/* How a reaped process ended: "exited with status 3", "killed by
 * SIGTERM", "timed out after 0.5 s". */
void proc_push_ending(lua_State *L, const struct proc *p)
{
	if (p->timed_out) {
		lua_pushfstring(L, "timed out after %f s", p->timeout);
	} else if (p->sig) {
		push_signame(L, p->sig);
		lua_pushfstring(L, "killed by %s", lua_tostring(L, -1));
		lua_remove(L, -2);
	} else {
		lua_pushfstring(L, "exited with status %d", p->code);
	}
}

/* {ok, status, signal, stdout, stderr, elapsed, timed_out} */
void proc_push_result(lua_State *L, struct proc *p)
{
	lua_createtable(L, 0, 7);
	lua_pushboolean(L, proc_result_ok(p));
	lua_setfield(L, -2, "ok");
	if (p->code >= 0) {
		lua_pushinteger(L, p->code);
		lua_setfield(L, -2, "status");
	}
	if (p->sig) {
		push_signame(L, p->sig);
		lua_setfield(L, -2, "signal");
	}
	push_output(L, p, 1);
	lua_setfield(L, -2, "stdout");
	push_output(L, p, 2);
	lua_setfield(L, -2, "stderr");
	lua_pushnumber(L, p->elapsed);
	lua_setfield(L, -2, "elapsed");
	lua_pushboolean(L, p->timed_out);
	lua_setfield(L, -2, "timed_out");
}

/*
 * check=true and a failure: raises an error object with op, object, netns,
 * code ("EXIT"; "ETIMEDOUT" with errno for a timeout), status, signal,
 * result, and msg "exited with status 2: <last line of stderr>".
 */
int proc_raise_check(lua_State *L, int proc, int result)
{
	const char *op, *object, *netns, *err, *end, *line;
	struct proc *p = lua_touserdata(L, proc);
	size_t len;
	luaL_Buffer b;

	proc_names(L, proc, &op, &object, &netns);
	lua_createtable(L, 0, 10);
	lua_pushstring(L, op);
	lua_setfield(L, -2, "op");
	lua_pushstring(L, object);
	lua_setfield(L, -2, "object");
	if (netns) {
		lua_pushstring(L, netns);
		lua_setfield(L, -2, "netns");
	}
	lua_pushvalue(L, result);
	lua_setfield(L, -2, "result");
	lua_getfield(L, result, "status");
	lua_setfield(L, -2, "status");
	lua_getfield(L, result, "signal");
	lua_setfield(L, -2, "signal");
	/* The last line of stderr usually says why. Fetched before the
	 * buffer starts: nothing may sit above a buffer while adding. */
	lua_getfield(L, result, "stderr");
	err = lua_tolstring(L, -1, &len);
	if (!err)
		err = "", len = 0;
	luaL_buffinit(L, &b);
	proc_push_ending(L, p);
	luaL_addvalue(&b);
	end = err + len;
	while (end > err && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	for (line = end; line > err && line[-1] != '\n'; line--)
		;
	if (end > line) {
		luaL_addstring(&b, ": ");
		luaL_addlstring(
		    &b, line,
		    (size_t)(end - line) > 200 ? 200 : (size_t)(end - line));
	}
	luaL_pushresult(&b);
	lua_remove(L, -2); /* stderr */
	lua_setfield(L, -2, "msg");
	lua_pushstring(L, p->timed_out ? "ETIMEDOUT" : "EXIT");
	lua_setfield(L, -2, "code");
	if (p->timed_out) {
		lua_pushinteger(L, ETIMEDOUT);
		lua_setfield(L, -2, "errno");
	}
	luaL_setmetatable(L, NSLAB_ERROR_MT);
	return lua_error(L);
}

/* A signal to the host interrupted a wait: the child's group is killed
 * and reaped, then EINTR raised; the host unwinds the lab. */
int proc_raise_interrupted(lua_State *L, int proc, int err)
{
	const char *op, *object, *netns;
	struct proc *p = lua_touserdata(L, proc);
	pid_t pid = p->pid;

	proc_end(p, 1);
	proc_close_fds(p);
	proc_names(L, proc, &op, &object, &netns);
	return nslab_raise(
	    L, op, object, netns, err,
	    err == EINTR
		? lua_pushfstring(L, "interrupted, process group %d killed",
				  (int)pid)
		: lua_pushfstring(L, "process group %d killed", (int)pid));
}
