/*
 * exec.c - running commands inside a network namespace, for Lua:
 * core.exec.exec, sh and spawn (documented in lua/nslab/exec.lua).
 * Arguments are read in exec_args.c, the child is started in
 * exec_spawn.c (in the netns's mount namespace from exec_mntns.c), the
 * proc object lives in exec_proc.c, its end and results in exec_end.c.
 *
 * exec runs to completion: stdout and stderr come back through pipes that
 * one ppoll loop drains together with the stdin pipe and the child's
 * pidfd, so megabytes on both streams cannot deadlock. spawn runs in the
 * background: its stdout and stderr go to anonymous memory files
 * (memfd_create), which never fill up, so the child never blocks on nslab
 * however long nobody calls proc:wait (the price: output stays in memory
 * until then); its stdin is a memfd holding the given string.
 *
 * Every process gets its own process group; timeouts and kills act on the
 * group. A leader's exit ends the rest of its group too: exec and wait
 * leave no background process behind (spawn is for that).
 *
 * Syscalls: pipe2(2), memfd_create(2), ppoll(2), tcgetpgrp(3).
 * Read: pipe(7), memfd_create(2), poll(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec.h"
#include "core/core.h"

#define EXIT_GRACE 1.0 /* s to read output after the group was ended */
#define READ_CHUNK 65536

/* An anonymous close-on-exec memory file holding data (len bytes),
 * positioned at its start; returns the fd or -1 with errno set. */
static int memfd(const char *name, const char *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	for (size_t off = 0; fd >= 0 && off < len;) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno != EINTR) {
			int err = errno;

			close(fd);
			errno = err;
			return -1;
		}
		off += w > 0 ? (size_t)w : 0;
	}
	if (fd >= 0 && len)
		lseek(fd, 0, SEEK_SET);
	return fd;
}

/*
 * Makes the child's stdin/stdout/stderr (s->fd) and nslab's ends (p).
 * fds nslab must close once the child started go to own[]. Returns 0 or
 * -1 with errno set and *step naming the call.
 */
static int setup_io(struct proc *p, const struct exec_opts *o,
		    struct exec_spec *s, int own[3], const char **step)
{
	int pfd[2];

	for (int i = 0; i < 3; i++)
		s->fd[i] = own[i] = -1;
	if (o->in && p->spawn) {
		*step = "memfd_create for stdin";
		s->fd[0] = own[0] = memfd("nslab-stdin", o->in, o->in_len);
	} else if (o->in) {
		*step = "pipe for stdin";
		if (pipe2(pfd, O_CLOEXEC) == 0) {
			s->fd[0] = own[0] = pfd[0];
			p->fd_in = pfd[1];
			fcntl(pfd[1], F_SETFL, O_NONBLOCK);
			p->in = o->in;
			p->in_len = o->in_len;
		}
	} else if (o->capture || p->spawn) {
		/* A background reader of the terminal would be stopped. */
		*step = "open /dev/null";
		s->fd[0] = own[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (s->fd[0] < 0 && (o->in || o->capture || p->spawn))
		return -1;
	if (o->out_path) {
		/* Opened here, by nslab, in its own mount namespace and with
		 * its own credentials: the command writes to what the path
		 * names for nslab, whatever its node's mounts hide. */
		*step = "open the stdout file";
		s->fd[1] = own[1] = open(
		    o->out_path,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666);
		if (s->fd[1] < 0)
			return -1;
	}
	if (!o->capture)
		return 0;
	for (int i = o->out_path ? 2 : 1; i < 3; i++) {
		int *mine = i == 1 ? &p->fd_out : &p->fd_err;

		if (p->spawn) {
			*step = "memfd_create for output";
			*mine = s->fd[i] = memfd(
			    i == 1 ? "nslab-stdout" : "nslab-stderr", NULL, 0);
			if (*mine < 0)
				return -1;
			continue;
		}
		*step = "pipe for output";
		if (pipe2(pfd, O_CLOEXEC) < 0)
			return -1;
		*mine = pfd[0];
		s->fd[i] = own[i] = pfd[1];
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_own(int own[3])
{
	for (int i = 0; i < 3; i++)
		close_fd(&own[i]);
}

/*
 * Sets s->argv from arg 2: the argv array, or with shell the command
 * string run by /bin/sh -c, anchored in uv. Stores the object of error
 * messages in uv.object ("prog", or the command cut to 60 bytes) and
 * returns it.
 */
static const char *start_argv(lua_State *L, const char *op, int shell, int uv,
			      struct exec_spec *s)
{
	const char *object;

	if (shell) {
		static const char *sh[] = {"/bin/sh", "-c", NULL, NULL};
		char **argv = lua_newuserdatauv(L, sizeof(sh), 0);

		exec_anchor(L, uv);
		memcpy(argv, sh, sizeof(sh));
		argv[2] = (char *)lua_tostring(L, 2);
		s->argv = argv;
		size_t len = strlen(argv[2]);

		lua_pushliteral(L, "\"");
		lua_pushlstring(L, argv[2], len > 60 ? 57 : len);
		lua_pushstring(L, len > 60 ? "...\"" : "\"");
		lua_concat(L, 3);
	} else {
		s->argv = exec_argv(L, 2, uv, op);
		lua_pushfstring(L, "\"%s\"", s->argv[0]);
	}
	object = lua_tostring(L, -1);
	lua_setfield(L, uv, "object");
	return object;
}

/*
 * For a child in netns: its netns fd and mount namespace into s, and our
 * working directory into here (PATH_MAX bytes) as the child's default.
 * Raises the error object (ENOENT: no such netns; nothing was started).
 */
static void start_netns(lua_State *L, const char *op, const char *object,
			const char *netns, struct exec_spec *s, char *here)
{
	struct nl_conn *c = nslab_conn(L, op, object, netns);
	struct exec_fail f;

	exec_hosts_pull(L, op, netns, c); /* before the mount namespace */
	s->nsfd = c->nsfd;
	s->mntfd = exec_mntns(c, netns, &f);
	if (s->mntfd < 0)
		nslab_raise(L, op, object, netns, f.err, f.step);
	s->utsfd = c->utsfd;
	s->ipcfd = c->ipcfd;
	s->timefd = c->timefd;
	s->pidnsfd = c->pidnsfd;
	s->cgfd = c->cgfd;
	if (!s->cwd && getcwd(here, PATH_MAX))
		s->here = here;
}

/*
 * Makes the child's stdio and starts it as s says, filling p. Nothing
 * raises between the pipes and the child's start, so no fd leaks; a
 * failure closes them all and raises the error object.
 */
static void start_child(lua_State *L, const char *op, const char *object,
			struct proc *p, const struct exec_opts *o,
			struct exec_spec *s)
{
	const char *step = NULL;
	struct exec_fail f;
	int own[3], err;

	if (setup_io(p, o, s, own, &step) < 0) {
		err = errno;
		close_own(own);
		proc_close_fds(p);
		nslab_raise(L, op, object, s->netns, err, step);
	}
	/* capture=false on our terminal: the child's group takes it, as a
	 * shell's foreground job, so ^C and reads go to the command. Not when
	 * our group lies outside our PID namespace (rootless, the sandbox):
	 * getpgrp() is then 0, tcgetpgrp() too, and the terminal could not be
	 * taken back; ^C then reaches nslab, which kills the command. */
	s->foreground = !p->spawn && s->fd[0] < 0 && isatty(0) &&
			getpgrp() > 0 && tcgetpgrp(0) == getpgrp();
	p->start = nslab_now();
	if (exec_start(s, &p->pid, &p->pidfd, &f) < 0) {
		close_own(own);
		proc_close_fds(p);
		nslab_raise(L, op, object, s->netns, f.err, f.step);
	}
	p->fg = s->foreground;
	close_own(own);
}

/*
 * Args 1 netns (nil: nslab's own), 2 argv (array; with shell, a command
 * string), 3 opts. Checks everything, starts the child and leaves the
 * proc userdata on top. Raises the child's start failure (a missing
 * program: ENOENT) as an error object, after reaping it.
 */
static struct proc *start(lua_State *L, const char *op, int shell, int spawn)
{
	struct nslab_state *st = nslab_state(L);
	const char *netns = NULL, *object;
	char here[PATH_MAX];
	struct exec_spec s;
	struct exec_opts o;
	struct proc *p;

	memset(&s, 0, sizeof(s));
	s.nsfd = s.mntfd = s.utsfd = s.ipcfd = s.timefd = -1;
	s.pidnsfd = s.cgfd = -1;
	if (!lua_isnoneornil(L, 1)) {
		netns = nslab_checkstr(L, 1, op, "netns");
		nslab_check_netns(L, op, netns);
	}
	if (shell)
		nslab_checkstr(L, 2, op, "command");
	else
		luaL_checktype(L, 2, LUA_TTABLE);
	exec_read_opts(L, 3, &o, op);
	lua_settop(L, 3);

	p = exec_proc_new(L, op, spawn, &o, netns); /* 4: proc, 5: its names */
	object = start_argv(L, op, shell, 5, &s);
	s.envp = exec_env(L, 3, 5, op);
	exec_user(L, 3, 5, &s, op, object, netns);
	s.cwd = o.cwd;
	s.drop_caps = o.caps_none;
	s.no_pdeathsig = o.no_pdeathsig;
	s.netns = netns;
	if (netns) /* ENOENT here: nothing was started */
		start_netns(L, op, object, netns, &s, here);
	if (st->nofile_raised)
		s.nofile = &st->nofile;
	start_child(L, op, object, p, &o, &s);
	lua_settop(L, 4);
	return p;
}

/* ---- exec: the drain loop ---- */

/* One read into the sink; returns bytes read, 0 at EOF, -1 on error. */
static ssize_t sink_read(int fd, struct sink *k)
{
	ssize_t r;

	if (k->cap - k->len < READ_CHUNK) {
		size_t ncap = k->cap ? k->cap * 2 : (size_t)4 * READ_CHUNK;
		char *nb = realloc(k->buf, ncap);

		if (!nb)
			return errno = ENOMEM, -1;
		k->buf = nb;
		k->cap = ncap;
	}
	r = read(fd, k->buf + k->len, k->cap - k->len);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 1; /* nothing lost, poll again */
	if (r > 0)
		k->len += (size_t)r;
	return r;
}

/* Writes some of stdin; returns 1 while more is left, 0 when done or the
 * reader went away (EPIPE, with SIGPIPE blocked and then discarded). */
static int feed_stdin(struct proc *p)
{
	sigset_t pipe_set, old;
	struct timespec zero = {0, 0};
	ssize_t w;
	int err;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	w = write(p->fd_in, p->in + p->in_off, p->in_len - p->in_off);
	err = errno;
	if (w < 0 && err == EPIPE)
		sigtimedwait(&pipe_set, NULL, &zero);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (w > 0)
		p->in_off += (size_t)w;
	if (w < 0 && (err == EAGAIN || err == EINTR))
		return 1;
	return w >= 0 && p->in_off < p->in_len;
}

/*
 * Runs the started exec to its end: feeds stdin, drains stdout and
 * stderr, kills the group at the timeout, and when the leader exits ends
 * the rest of its group and reads what is left (for at most EXIT_GRACE,
 * in case an escaped process holds the pipes). Returns 0 (the leader is
 * then reaped by proc_end), or -1 with errno: EINTR when a signal (the
 * host's SIGINT/SIGTERM) interrupted, ENOMEM.
 */
static int drain(lua_State *L, struct proc *p, double timeout)
{
	double deadline = timeout > 0 ? p->start + timeout : 0, grace = 0;
	int exited = 0;

	if (p->fd_in >= 0 && p->in_len == 0)
		close_fd(&p->fd_in);
	for (;;) {
		struct pollfd pf[4];
		int *fds[4] = {NULL, &p->fd_out, &p->fd_err, &p->fd_in};
		int idx[4] = {-1, -1, -1, -1}, n = 0;
		struct timespec ts;
		double t = nslab_now();

		if (!exited) {
			pf[n] = (struct pollfd){p->pidfd, POLLIN, 0};
			idx[0] = n++;
		}
		for (int i = 1; i < 4; i++) {
			if (*fds[i] < 0)
				continue;
			pf[n] = (struct pollfd){*fds[i],
						i == 3 ? POLLOUT : POLLIN, 0};
			idx[i] = n++;
		}
		if (exited && (n == 0 || t >= grace))
			break;
		if (!exited && deadline > 0 && t >= deadline) {
			exec_signal(p->pid, p->pidfd, SIGKILL);
			p->timed_out = 1;
			deadline = 0;
			continue;
		}
		if (nslab_ppoll(L, pf, (unsigned long)n,
				exec_until(exited ? grace : deadline, &ts)) < 0)
			return -1; /* EINTR: the host was signalled */
		if (idx[0] >= 0 && pf[idx[0]].revents) {
			exited = 1;
			grace = nslab_now() + EXIT_GRACE;
			/* The leader is a zombie: the group id is still
			 * ours to kill its leftovers. */
			exec_signal(p->pid, -1, SIGKILL);
			close_fd(&p->fd_in);
		}
		for (int i = 1; i < 3; i++) {
			if (idx[i] < 0 || !pf[idx[i]].revents)
				continue;
			ssize_t r =
			    sink_read(*fds[i], i == 1 ? &p->out : &p->err);
			if (r < 0 && errno == ENOMEM)
				return -1;
			if (r <= 0)
				close_fd(fds[i]);
		}
		if (idx[3] >= 0 && pf[idx[3]].revents && p->fd_in >= 0 &&
		    !feed_stdin(p))
			close_fd(&p->fd_in);
	}
	/* Only what an escaped process kept open is left. */
	for (int i = 1; i < 4; i++)
		close_fd(i == 1 ? &p->fd_out : i == 2 ? &p->fd_err : &p->fd_in);
	return 0;
}

/* Shared by exec and sh: start, drain, reap, result, check. */
static int run(lua_State *L, const char *op, int shell)
{
	struct proc *p = start(L, op, shell, 0);

	if (drain(L, p, p->timeout) < 0)
		return proc_raise_interrupted(L, 4, errno);
	proc_end(p, 0);
	proc_push_result(L, p);
	proc_close_fds(p);
	if (p->check && !proc_result_ok(p))
		return proc_raise_check(L, 4, 5);
	return 1;
}

/* core.exec.exec(netns, argv, opts) -> result; see lua/nslab/exec.lua. */
static int l_exec(lua_State *L)
{
	return run(L, "exec", 0);
}

/* core.exec.sh(netns, command, opts) -> result: /bin/sh -c command. */
static int l_sh(lua_State *L)
{
	return run(L, "sh", 1);
}

/* core.exec.spawn(netns, argv, opts) -> proc, listed in the registry
 * (upvalue 2) until reaped. */
static int l_spawn(lua_State *L)
{
	start(L, "spawn", 0, 1);
	lua_pushvalue(L, 4);
	lua_pushboolean(L, 1);
	lua_rawset(L, lua_upvalueindex(2));
	return 1;
}

void nslab_open_exec(lua_State *L)
{
	static const luaL_Reg funcs[] = {
	    {"exec", l_exec},	    {"sh", l_sh},
	    {"spawn", l_spawn},	    {"killall", l_proc_killall},
	    {"procs", l_proc_list}, {NULL, NULL},
	};
	static const luaL_Reg node[] = {
	    {"node", l_exec_node},   {"uts", l_exec_uts},
	    {"pin", l_exec_pin},     {"adopt", l_exec_adopt},
	    {"unpin", l_exec_unpin}, {NULL, NULL},
	};
	int state = lua_gettop(L), registry;

	/* [..., core, state] */
	lua_newtable(L);
	registry = lua_gettop(L);
	proc_open(L, registry);

	lua_newtable(L);
	lua_pushvalue(L, state);
	lua_pushvalue(L, registry);
	nslab_setfuncs(L, "nslab", funcs, 2); /* nslab.exec, nslab.sh... */
	lua_pushvalue(L, state);
	lua_pushvalue(L, registry);
	nslab_setfuncs(L, "nslab.exec", node, 2); /* nslab.exec.node */
	lua_setfield(L, state - 1, "exec");
	lua_settop(L, state);
}
