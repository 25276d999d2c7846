/*
 * exec_node.c - what a lab gives the node of a netns beyond the netns and
 * its mount namespace (exec_mntns.c): its own UTS namespace, so hostname
 * and uname -n say the node's name, and the lab's hosts file bound over
 * /etc/hosts. Both are kept in the netns's cache entry (struct nl_conn)
 * and go with it (netns.del, a name reused by another namespace, nslab's
 * exit): nothing is made on any file system, so nothing is left to clean.
 * Every command started in the netns (exec, sh, spawn) joins them.
 *
 * The UTS namespace is made by a short-lived child (unshare, then
 * sethostname), which sends it back: nslab's own hostname never changes,
 * and no setns back to a namespace nslab may not re-enter (rootless) is
 * needed.
 *
 * The hosts text may be a Lua function instead (a lab's, the same for all
 * its nodes): kept in the registry table HOSTS_KEY by netns name, weakly
 * (the lab holds it), and called with the netns name before each command
 * there starts (exec_hosts_pull), so a lab can change it in O(1) per
 * link and have it written once, when something may read it.
 *
 * Syscalls: unshare(2), sethostname(2), setns(2), ftruncate(2),
 * pwrite(2). Read: uts_namespaces(7), hosts(5).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/exec.h"
#include "core/core.h"

#define HOSTNAME_MAX 64			/* HOST_NAME_MAX on Linux */
#define HOSTS_KEY    "nslab.exec.hosts" /* netns name -> function, weak */

struct ns_job {
	int flag;
	const char *text;
	size_t len;
};

/* In the helper child: unshares the namespace, names or offsets it, and
 * sends it. */
static int ns_work(int sock, void *arg)
{
	const struct ns_job *j = arg;
	const char *file = j->flag == CLONE_NEWUTS ? "/proc/thread-self/ns/uts"
			   : j->flag == CLONE_NEWIPC
			       ? "/proc/thread-self/ns/ipc"
			       : "/proc/thread-self/ns/time_for_children";
	struct exec_fail f = {0};
	int fd, r;

	if (unshare(j->flag) < 0)
		exec_child_fail(sock, errno, "unshare %s namespace",
				j->flag == CLONE_NEWUTS	  ? "UTS"
				: j->flag == CLONE_NEWIPC ? "IPC"
							  : "time");
	if (j->flag == CLONE_NEWUTS && sethostname(j->text, j->len) < 0)
		exec_child_fail(sock, errno, "sethostname");
	if (j->flag == CLONE_NEWTIME) {
		fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, j->text, j->len) != (ssize_t)j->len)
			exec_child_fail(sock, errno,
					"write /proc/self/timens_offsets");
		close(fd);
	}
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		exec_child_fail(sock, errno, "open %s", file);
	r = exec_send_fds(sock, &fd, 1, &f);
	close(fd); /* sharing nslab's fd table (exec_child_fds) */
	return r;
}

/*
 * A new namespace of type flag (CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWTIME)
 * made by a short-lived child: a UTS one gets hostname text (len bytes),
 * a time one the timens_offsets text (written before anything enters it).
 * Returns its fd (close-on-exec) or -1 with f filled.
 */
static int ns_make(int flag, const char *text, size_t len, struct exec_fail *f)
{
	struct ns_job j = {flag, text, len};
	int fd;

	/* ns_work makes syscalls only; unshare(CLONE_NEWTIME) with shared
	 * memory is left to a fork, as setns into one is (EUSERS). */
	return exec_child_fds(ns_work, &j, &fd, 1, flag != CLONE_NEWTIME, f) < 0
		   ? -1
		   : fd;
}

/* Makes the namespace (ns_make) and keeps it in *keep (closing the one
 * it replaces); raises the error object. */
static void ns_keep(lua_State *L, const char *op, const char *netns, int flag,
		    const char *text, size_t len, int *keep)
{
	struct exec_fail f;
	int fd = ns_make(flag, text, len, &f);

	if (fd < 0)
		nslab_raise(L, op, netns, netns, f.err, f.step);
	if (*keep >= 0)
		close(*keep);
	*keep = fd;
}

/*
 * The timens_offsets text of opts.time (table at top): monotonic and
 * boottime offsets in seconds (numbers, fractions kept to the ns), each
 * within +-1e9 s. Pushes it; raises an argument error.
 */
static void time_offsets(lua_State *L, int idx)
{
	static const char *const clocks[] = {"monotonic", "boottime", NULL};
	luaL_Buffer b;
	int t = lua_gettop(L);

	luaL_argcheck(L, lua_istable(L, t), idx,
		      "field 'time' must be a table {monotonic =, boottime =}");
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING ||
		    (strcmp(lua_tostring(L, -1), "monotonic") != 0 &&
		     strcmp(lua_tostring(L, -1), "boottime") != 0))
			luaL_argerror(L, idx,
				      "field 'time' takes monotonic and "
				      "boottime only");
	}
	luaL_buffinit(L, &b);
	for (int i = 0; clocks[i]; i++) {
		double v, sec;
		long long ns;
		int isnum;

		lua_getfield(L, t, clocks[i]);
		v = lua_tonumberx(L, -1, &isnum);
		if (!isnum && !lua_isnil(L, -1))
			luaL_argerror(L, idx,
				      lua_pushfstring(L,
						      "field 'time.%s' must be "
						      "a number (seconds)",
						      clocks[i]));
		lua_pop(L, 1);
		if (!isnum)
			continue;
		luaL_argcheck(L, v > -1e9 && v < 1e9, idx,
			      "time offsets must be within +-1e9 seconds");
		sec = floor(v); /* the kernel wants 0 <= ns < 1e9 */
		ns = llround((v - sec) * 1e9);
		if (ns >= 1000000000) {
			sec += 1;
			ns -= 1000000000;
		}
		lua_pushfstring(L, "%s %I %I\n", clocks[i], (lua_Integer)sec,
				(lua_Integer)ns);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
}

/* Replaces the text of the hosts file bound in the kept mount namespace;
 * returns 0 or -1 with errno set. Readers see it at once (same inode). */
static int hosts_rewrite(int fd, const char *text, size_t len)
{
	if (ftruncate(fd, 0) < 0)
		return -1;
	for (size_t off = 0; off < len;) {
		ssize_t w = pwrite(fd, text + off, len - off, (off_t)off);

		if (w < 0 && errno != EINTR)
			return -1;
		off += w > 0 ? (size_t)w : 0;
	}
	return 0;
}

/*
 * Reads opts.dirs (table at idx) into a malloc'd list of NUL-terminated
 * paths ended by an empty one (*out; NULL when absent). Raises an
 * argument error for a wrong type, EINVAL for a path that is not absolute,
 * holds a ".." component or a NUL, or is PATH_MAX bytes or more.
 */
static void read_dirs(lua_State *L, int idx, const char *op, const char *netns,
		      char **out)
{
	size_t total = 1, n, len, off = 0;
	char *list;

	*out = NULL;
	if (lua_getfield(L, idx, "dirs") == LUA_TNIL)
		return;
	luaL_argcheck(L, lua_istable(L, -1), idx,
		      "field 'dirs' must be an array of paths");
	n = (size_t)lua_rawlen(L, -1);
	for (size_t i = 1; i <= n; i++) {
		const char *d;

		if (lua_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING)
			luaL_argerror(L, idx, "field 'dirs' must hold strings");
		d = lua_tolstring(L, -1, &len);
		if (d[0] != '/' || memchr(d, 0, len) || len >= PATH_MAX ||
		    !strcmp(d, "/..") || strstr(d, "/../") ||
		    (len >= 3 && !strcmp(d + len - 3, "/..")))
			nslab_raise(L, op, lua_pushfstring(L, "\"%s\"", d),
				    netns, EINVAL,
				    "dirs entries must be absolute paths "
				    "without \"..\"");
		total += len + 1;
		lua_pop(L, 1);
	}
	list = malloc(total);
	if (!list) {
		nslab_raise(L, op, netns, netns, ENOMEM, "dirs");
		return;
	}
	for (size_t i = 1; i <= n; i++) {
		const char *d;

		lua_rawgeti(L, -1, (lua_Integer)i);
		d = lua_tolstring(L, -1, &len); /* checked above: a string */
		if (d && off + len + 1 < total) {
			memcpy(list + off, d, len + 1);
			off += len + 1;
		}
		lua_pop(L, 1);
	}
	list[off] = 0;
	lua_pop(L, 1);
	*out = list;
}

/*
 * Opens DIR/cgroup.procs of the cgroup directory path for writing and
 * keeps it in c->cgfd (closing the one it replaces); raises the error
 * object naming the file.
 */
static void cgroup_keep(lua_State *L, const char *op, const char *netns,
			const char *path, struct nl_conn *c)
{
	char file[PATH_MAX];
	int fd;

	if (path[0] != '/' || snprintf(file, sizeof(file), "%s/cgroup.procs",
				       path) >= (int)sizeof(file))
		nslab_raise(L, op, netns, netns, EINVAL,
			    "cgroup must be an absolute path");
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		nslab_raise(L, op, netns, netns, errno,
			    lua_pushfstring(L, "open %s", file));
	if (c->cgfd >= 0)
		close(c->cgfd);
	c->cgfd = fd;
}

/* Starts the node's PID namespace and its init (exec_pidns_init); pushes
 * the init's proc and returns 1, or raises the error object. */
static int pidns_start(lua_State *L, const char *op, const char *netns,
		       struct nl_conn *c)
{
	struct exec_fail f;
	int pidfd;
	pid_t pid;

	if (exec_pidns_init(c, netns, &pid, &pidfd, &f) < 0)
		nslab_raise(L, op, netns, netns, f.err, f.step);
	exec_push_proc(L, op, "nslab-init", netns, pid, pidfd);
	return 1;
}

/* Makes text (len bytes) the node's /etc/hosts: rewritten in place when
 * bound already, else bound when the mount namespace is made (again).
 * Raises the error object. */
static void hosts_keep(lua_State *L, const char *op, const char *netns,
		       const char *text, size_t len, struct nl_conn *c)
{
	char *copy = strdup(text);

	if (!copy)
		nslab_raise(L, op, netns, netns, ENOMEM, "hosts");
	free(c->hosts);
	c->hosts = copy;
	if (c->hostsfd >= 0) {
		if (hosts_rewrite(c->hostsfd, text, len) < 0)
			nslab_raise(L, op, netns, netns, errno,
				    "rewrite /etc/hosts");
	} else if (c->mntfd >= 0) {
		/* Made without it: made again on the next command. */
		close(c->mntfd);
		c->mntfd = -1;
	}
}

/* Makes fn (the function at idx) the source of netns's hosts text:
 * HOSTS_KEY[netns] = fn, in a table with weak values made on first use. */
static void hosts_source(lua_State *L, int idx, const char *netns,
			 struct nl_conn *c)
{
	idx = lua_absindex(L, idx);
	if (lua_getfield(L, LUA_REGISTRYINDEX, HOSTS_KEY) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_newtable(L); /* its metatable */
		lua_pushliteral(L, "v");
		lua_setfield(L, -2, "__mode");
		lua_setmetatable(L, -2);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, HOSTS_KEY);
	}
	lua_pushvalue(L, idx);
	lua_setfield(L, -2, netns);
	lua_pop(L, 1);
	c->hosts_pull = 1;
}

/*
 * When netns's hosts text comes from a function (hosts_source), asks it
 * again (fn(netns) -> string) and keeps the answer as hosts_keep does
 * when it differs from the text kept: called before each command in
 * netns starts, before its mount namespace is made or reused. Raises what
 * the function raises, EINVAL when it returns no string or one with a NUL.
 */
void exec_hosts_pull(lua_State *L, const char *op, const char *netns,
		     struct nl_conn *c)
{
	const char *text;
	size_t len;

	if (!c->hosts_pull)
		return;
	if (lua_getfield(L, LUA_REGISTRYINDEX, HOSTS_KEY) != LUA_TTABLE)
		lua_pushnil(L); /* two values to pop, as below */
	else
		lua_getfield(L, -1, netns);
	if (!lua_isfunction(L, -1)) {
		/* The lab that gave it is gone: the text stays as it is. */
		lua_pop(L, 2);
		c->hosts_pull = 0;
		return;
	}
	lua_pushstring(L, netns);
	lua_call(L, 1, 1);
	text =
	    lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
	if (!text || memchr(text, 0, len)) {
		nslab_raise(L, op, netns, netns, EINVAL,
			    "the hosts function must return a string "
			    "without NUL");
		return; /* not reached: nslab_raise raises */
	}
	if (!c->hosts || strlen(c->hosts) != len ||
	    memcmp(c->hosts, text, len) != 0)
		hosts_keep(L, op, netns, text, len, c);
	lua_pop(L, 2);
}

/*
 * core.exec.node(netns, opts): opts.hostname (1..64 bytes) gives the netns
 * a new UTS namespace with that hostname, which every later command there
 * joins; opts.hosts (a string) becomes /etc/hosts for its commands
 * (rewritten in place when given again), or (a function) is asked for
 * that text before each command (exec_hosts_pull), and at once when the
 * mount namespace is made already or now (dirs, pid); opts.pid = true a PID
 * namespace (returned: its init's proc), opts.cgroup a cgroup directory every
 * command joins. Returns nothing else; raises the error object (ENOENT:
 * no such netns; EINVAL: a bad hostname).
 */
int l_exec_node(lua_State *L)
{
	static const char *const fields[] = {
	    "hostname", "hosts", "dirs", "ipc", "time", "pid", "cgroup", NULL};
	const char *op = "exec.node", *netns, *name = NULL, *hosts = NULL;
	int hosts_fn = 0;
	const char *offsets = NULL;
	size_t name_len = 0, hosts_len = 0, offsets_len = 0;
	struct exec_fail f;
	struct nl_conn *c;
	char *dirs;
	const char *cgroup = NULL;
	int ipc = 0, pid = 0;

	netns = nslab_checkstr(L, 1, op, "netns");
	nslab_check_netns(L, op, netns);
	luaL_checktype(L, 2, LUA_TTABLE);
	nslab_check_fields(L, 2, fields);
	if (lua_getfield(L, 2, "hostname") != LUA_TNIL) {
		name = luaL_checklstring(L, -1, &name_len);
		if (name_len < 1 || name_len > HOSTNAME_MAX ||
		    memchr(name, 0, name_len))
			nslab_raise(L, op, netns, netns, EINVAL,
				    "hostname must be 1..64 bytes, no NUL");
	}
	if (lua_getfield(L, 2, "hosts") == LUA_TFUNCTION) {
		hosts_fn = lua_gettop(L);
	} else if (!lua_isnil(L, -1)) {
		hosts = luaL_checklstring(L, -1, &hosts_len);
		if (memchr(hosts, 0, hosts_len))
			nslab_raise(L, op, netns, netns, EINVAL,
				    "hosts must not contain NUL");
	}
	if (lua_getfield(L, 2, "ipc") != LUA_TNIL) {
		luaL_argcheck(L, lua_isboolean(L, -1), 2,
			      "field 'ipc' must be a boolean");
		ipc = lua_toboolean(L, -1);
	}
	if (lua_getfield(L, 2, "time") != LUA_TNIL) {
		time_offsets(L, 2);
		offsets = lua_tolstring(L, -1, &offsets_len);
	}
	if (lua_getfield(L, 2, "pid") != LUA_TNIL) {
		luaL_argcheck(L, lua_isboolean(L, -1), 2,
			      "field 'pid' must be a boolean");
		pid = lua_toboolean(L, -1);
	}
	if (lua_getfield(L, 2, "cgroup") != LUA_TNIL)
		cgroup = nslab_checkstr(L, -1, op, "cgroup");
	c = nslab_conn(L, op, netns, netns);
	if (pid && c->pidnsfd >= 0)
		nslab_raise(L, op, netns, netns, EEXIST,
			    "the node has a PID namespace already");
	if (cgroup)
		cgroup_keep(L, op, netns, cgroup, c);
	/* Nothing raises between its malloc and c owning it. */
	read_dirs(L, 2, op, netns, &dirs);
	if (dirs) {
		free(c->dirs);
		c->dirs = dirs;
		if (c->mntfd >= 0)
			close(c->mntfd);
		c->mntfd = -1;
	}
	if (hosts) {
		c->hosts_pull = 0;
		hosts_keep(L, op, netns, hosts, hosts_len, c);
	} else if (hosts_fn) {
		hosts_source(L, hosts_fn, netns, c);
		if (c->mntfd >= 0 || dirs || pid)
			exec_hosts_pull(L, op, netns, c);
	}
	/* Before the init, which joins them. */
	if (name)
		ns_keep(L, op, netns, CLONE_NEWUTS, name, name_len, &c->utsfd);
	if (ipc)
		ns_keep(L, op, netns, CLONE_NEWIPC, "", 0, &c->ipcfd);
	if (offsets)
		ns_keep(L, op, netns, CLONE_NEWTIME, offsets, offsets_len,
			&c->timefd);
	if (pid) /* makes the mount namespace too, with /proc */
		return pidns_start(L, op, netns, c);
	/* Made now, so a directory that cannot be mounted on fails here,
	 * naming it, not on the node's first command. */
	if (dirs && exec_mntns(c, netns, &f) < 0) {
		free(c->dirs); /* later commands run without them */
		c->dirs = NULL;
		nslab_raise(L, op, netns, netns, f.err, f.step);
	}
	return 0;
}
