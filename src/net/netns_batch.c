/*
 * netns_batch.c - batch.netns: many named network namespaces made at once
 * for lab:apply (lua/nslab/build.lua), each as netns.add makes one (an
 * empty /run/netns/NAME, unshare(CLONE_NEWNET), its rtnetlink socket
 * opened inside it, a bind mount naming it), with two differences: the
 * sysctls given for it are written while the thread is inside it (no
 * setns there and back later), and the identities of all of them are
 * handed to the caller in one call (one record write) after they all
 * exist and before any has its name. Until named, a namespace lives on
 * the fd its cache entry holds: a process killed before the names leaves
 * only the empty files, which `nslab --clean` removes.
 *
 * Syscalls: open(2), unshare(2), fstat(2), openat(2) (sysctls through a
 * private proc mount), write(2), setns(2), mount(2) (MS_BIND of
 * /proc/self/fd/N). Read: ip-netns(8), namespaces(7), proc(5).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "net/net.h"
#include "net/netns.h"
#include "net/text.h"

/* Writes key = value in the netns the thread is in; 0 or an errno, why
 * filled. */
static int write_sysctl(struct nslab_state *st, const char *key,
			const char *value, size_t len, char *why, size_t n)
{
	char path[PATH_MAX];
	const char *bad = sysctl_path(key, path, sizeof(path));
	int fd, proc, err = 0;
	ssize_t w;

	snprintf(why, n, "sysctl %s", key);
	if (bad)
		return EINVAL;
	proc = sysctl_proc(st);
	/* path is "/proc/sys/...": relative to a proc root, "sys/..." */
	fd = proc >= 0 ? openat(proc, path + sizeof("/proc/") - 1,
				O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
		       : open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno;
	do
		w = write(fd, value, len);
	while (w < 0 && errno == EINTR);
	if (w < 0 || (size_t)w != len)
		err = w < 0 ? errno : EIO;
	close(fd);
	return err;
}

/* The sysctls of item i (table at idx, {key, value, ...}) written here;
 * 0 or an errno, why filled. */
static int write_sysctls(lua_State *L, int idx, lua_Integer i, char *why,
			 size_t n)
{
	struct nslab_state *st = nslab_state(L);
	lua_Integer k, len;
	int err = 0;

	if (lua_isnoneornil(L, idx) || lua_geti(L, idx, i) != LUA_TTABLE) {
		if (!lua_isnoneornil(L, idx))
			lua_pop(L, 1);
		return 0;
	}
	len = luaL_len(L, -1);
	for (k = 1; k + 1 <= len && !err; k += 2) {
		const char *key, *value;
		size_t vlen;

		lua_geti(L, -1, k);
		lua_geti(L, -2, k + 1);
		key = lua_tostring(L, -2);
		value = lua_tolstring(L, -1, &vlen);
		err = key && value ? write_sysctl(st, key, value, vlen, why, n)
				   : EINVAL;
		lua_pop(L, 2);
	}
	lua_pop(L, 1);
	return err;
}

/* Undoes namespaces from..to-1 that have no name yet: their empty files
 * removed, their cache entries (the fds keeping them) closed. */
static void unmade(struct nslab_state *st, lua_State *L, lua_Integer from,
		   lua_Integer to)
{
	char path[NETNS_PATH_SIZE];

	for (lua_Integer i = from; i < to; i++) {
		lua_geti(L, 1, i);
		netns_path(path, lua_tostring(L, -1));
		nl_conn_forget(&st->nl, lua_tostring(L, -1));
		unlink(path);
		lua_pop(L, 1);
	}
}

/* Makes namespace i (unnamed: its file, its socket); 0 or an errno, why
 * filled. Pushes {dev, ino} on success. */
static int make_one(lua_State *L, lua_Integer i, char *why, size_t n)
{
	struct nslab_state *st = nslab_state(L);
	char path[NETNS_PATH_SIZE];
	struct nl_conn *c;
	const char *name;
	int fd, err;

	lua_geti(L, 1, i);
	name = lua_tostring(L, -1);
	lua_pop(L, 1); /* the string stays in the table */
	netns_path(path, name);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		snprintf(why, n, "%s",
			 err == EEXIST ? "netns already exists" : path);
		return err;
	}
	close(fd);
	if (unshare(CLONE_NEWNET) < 0) {
		err = errno;
		unlink(path);
		snprintf(why, n, "unshare");
		return err;
	}
	err = write_sysctls(L, 2, i, why, n);
	c = err ? NULL : nl_conn_adopt(&st->nl, name);
	if (!err && !c) {
		err = errno ? errno : ENOMEM;
		snprintf(why, n, "rtnetlink socket");
	}
	nl_leave(&st->nl);
	if (err || !c) {
		unlink(path);
		return err;
	}
	lua_createtable(L, 2, 0);
	lua_pushinteger(L, (lua_Integer)c->dev);
	lua_rawseti(L, -2, 1);
	lua_pushinteger(L, (lua_Integer)c->ino);
	lua_rawseti(L, -2, 2);
	return 0;
}

/* Names namespace i (the bind mount); 0 or an errno. */
static int name_one(lua_State *L, lua_Integer i)
{
	struct nslab_state *st = nslab_state(L);
	char path[NETNS_PATH_SIZE], self[64];
	struct nl_conn *c;
	const char *name;

	lua_geti(L, 1, i);
	name = lua_tostring(L, -1);
	lua_pop(L, 1);
	netns_path(path, name);
	c = nl_tab_find(&st->nl, name);
	if (!c)
		return ENOENT;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", c->nsfd);
	return mount(self, path, "none", MS_BIND, NULL) < 0 ? errno : 0;
}

/*
 * batch.netns(names, sysctls, on_ids) -> nothing, or index, errno, why:
 * makes the named namespaces names[1..n]; sysctls[i] (or nil) is {key,
 * value, ...} written inside names[i]; on_ids({{dev, ino}, ...}) is
 * called once all exist, before any is named (raising undoes them all and
 * passes its error on). At a failure, those not named yet are undone and
 * the 1-based index of the failing one is returned with the errno and the
 * step: names[1..index-1] exist then (named) when it failed naming them,
 * none when it failed making them.
 */
int l_batch_netns(lua_State *L)
{
	static const char op[] = "batch.netns";
	struct nslab_state *st = nslab_state(L);
	char why[PATH_MAX + 64];
	lua_Integer i, n;
	int err;

	luaL_checktype(L, 1, LUA_TTABLE);
	if (!lua_isnoneornil(L, 2))
		luaL_checktype(L, 2, LUA_TTABLE);
	luaL_checktype(L, 3, LUA_TFUNCTION);
	lua_settop(L, 3);
	n = luaL_len(L, 1);
	for (i = 1; i <= n; i++) {
		lua_geti(L, 1, i);
		nslab_check_netns(L, op, nslab_checkstr(L, -1, op, "name"));
		lua_pop(L, 1);
	}
	nslab_need_caps(L, op, NULL);
	if (netns_dir_setup(st) < 0) {
		lua_pushinteger(L, 1);
		lua_pushinteger(L, errno);
		lua_pushstring(L, "cannot set up " NSLAB_NETNS_DIR);
		return 3;
	}
	lua_pushvalue(L, 3);
	lua_createtable(L, (int)n, 0); /* the ids, at 5 */
	for (i = 1; i <= n; i++) {
		err = make_one(L, i, why, sizeof(why));
		if (err) {
			unmade(st, L, 1, i);
			lua_pushinteger(L, i);
			lua_pushinteger(L, err);
			lua_pushstring(L, why);
			return 3;
		}
		lua_rawseti(L, 5, i);
	}
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		unmade(st, L, 1, n + 1);
		return lua_error(L);
	}
	for (i = 1; i <= n; i++) {
		err = name_one(L, i);
		if (err) {
			unmade(st, L, i, n + 1);
			lua_pushinteger(L, i);
			lua_pushinteger(L, err);
			lua_pushliteral(L, "bind mount");
			return 3;
		}
	}
	return 0;
}
