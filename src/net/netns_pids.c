/*
 * netns_pids.c - the processes living in named network namespaces:
 * netns.pids and netns.kill, found as `ip netns pids` finds them (the
 * nsfs inode of /proc/PID/ns/net against that of /run/netns/NAME) and
 * signalled through a pidfd, so a pid reused since the scan is never hit.
 *
 * Syscalls: pidfd_open(2), pidfd_send_signal(2). Read: ip-netns(8),
 * namespaces(7), proc(5).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core.h"
#include "net/netns.h"

struct nsid {
	dev_t dev;
	ino_t ino;
};

/*
 * The nsfs identities of the names at idx (a name or an array of names),
 * in a userdata left on the stack (so a raised error frees it); names
 * that do not exist are skipped. A name that is a symlink raises ELOOP:
 * followed, it could name any namespace (/proc/1/ns/net: the host's).
 * Returns how many were found.
 */
static size_t netns_ids(lua_State *L, int idx, const char *op,
			struct nsid **ids)
{
	int one = lua_type(L, idx) == LUA_TSTRING;
	lua_Integer n = one ? 1 : (lua_Integer)lua_rawlen(L, idx);
	size_t k = 0;

	if (!one)
		luaL_checktype(L, idx, LUA_TTABLE);
	*ids = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(**ids), 0);
	for (lua_Integer i = 1; i <= n; i++) {
		const char *name;
		char path[NETNS_PATH_SIZE];
		struct stat sb;

		if (one)
			lua_pushvalue(L, idx);
		else if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
			luaL_argerror(L, idx, "names must be strings");
		name = nslab_nonul(L, -1, op, "name");
		nslab_check_netns(L, op, name);
		netns_path(path, name);
		if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode))
			nslab_raise(L, op, lua_pushfstring(L, "\"%s\"", name),
				    NULL, ELOOP,
				    lua_pushfstring(L,
						    "%s is a symlink, not a "
						    "netns: left alone",
						    path));
		if (stat(path, &sb) == 0)
			(*ids)[k++] = (struct nsid){sb.st_dev, sb.st_ino};
		lua_pop(L, 1);
	}
	return k;
}

/* Whether process pid lives in one of the n namespaces of ids. */
static int pid_in(pid_t pid, const struct nsid *ids, size_t n)
{
	char path[64];
	struct stat sb;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &sb) < 0)
		return 0; /* gone, or a zombie: it holds no namespace */
	for (size_t i = 0; i < n; i++)
		if (sb.st_dev == ids[i].dev && sb.st_ino == ids[i].ino)
			return 1;
	return 0;
}

/*
 * Calls each(pid, data) for every process (never nslab itself) living in
 * one of the namespaces of ids, pushing nothing. Returns 0, or -1 with
 * errno when /proc cannot be read.
 */
static int netns_scan(const struct nsid *ids, size_t n,
		      void (*each)(pid_t, const struct nsid *, size_t, void *),
		      void *data)
{
	DIR *d;
	struct dirent *de;
	pid_t self = getpid();

	if (n == 0)
		return 0;
	if (!(d = opendir("/proc")))
		return -1;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self)
			continue;
		if (pid_in((pid_t)pid, ids, n))
			each((pid_t)pid, ids, n, data);
	}
	closedir(d);
	return 0;
}

struct pid_list {
	pid_t *pids;
	size_t n, cap;
	int err;
};

static void collect(pid_t pid, const struct nsid *ids, size_t n, void *data)
{
	struct pid_list *l = data;
	pid_t *tmp;

	(void)ids, (void)n;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		tmp = realloc(l->pids, l->cap * sizeof(*tmp));
		if (!tmp) {
			l->err = ENOMEM;
			return;
		}
		l->pids = tmp;
	}
	l->pids[l->n++] = pid;
}

/* netns.pids(names) -> array of the pids living in those namespaces. */
int l_netns_pids(lua_State *L)
{
	struct pid_list l = {NULL, 0, 0, 0};
	struct nsid *ids;
	size_t n = netns_ids(L, 1, "netns.pids", &ids);

	if (netns_scan(ids, n, collect, &l) < 0)
		l.err = errno;
	if (l.err) {
		free(l.pids);
		return nslab_raise(L, "netns.pids", "/proc", NULL, l.err, NULL);
	}
	lua_createtable(L, (int)l.n, 0);
	for (size_t i = 0; i < l.n; i++) {
		lua_pushinteger(L, l.pids[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	free(l.pids);
	return 1;
}

struct kill_job {
	int sig;
	int n;
};

/* Signals pid through a pidfd opened first and checked to still be in
 * one of the namespaces, so a pid reused since the scan is never hit. */
static void signal_one(pid_t pid, const struct nsid *ids, size_t n, void *data)
{
	struct kill_job *k = data;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return;
	if (pid_in(pid, ids, n) &&
	    syscall(SYS_pidfd_send_signal, fd, k->sig, NULL, 0) == 0)
		k->n++;
	close(fd);
}

/* netns.kill(names[, signal]) -> count: signals (default SIGKILL) every
 * process living in those namespaces. */
int l_netns_kill(lua_State *L)
{
	static const char *const names[] = {"SIGKILL", "SIGTERM", "SIGINT",
					    "SIGHUP", NULL};
	static const int sigs[] = {SIGKILL, SIGTERM, SIGINT, SIGHUP};
	struct kill_job k = {sigs[luaL_checkoption(L, 2, "SIGKILL", names)], 0};
	struct nsid *ids;
	size_t n = netns_ids(L, 1, "netns.kill", &ids);

	if (netns_scan(ids, n, signal_one, &k) < 0)
		return nslab_raise(L, "netns.kill", "/proc", NULL, errno, NULL);
	lua_pushinteger(L, k.n);
	return 1;
}
