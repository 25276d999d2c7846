/*
 * netns.c - named network namespaces, the iproute2 way: a namespace is kept
 * alive by a bind mount of its nsfs inode at /run/netns/NAME, and
 * /run/netns is a shared mount so the mount reaches every mount namespace,
 * so `ip netns` and nslab see each other's namespaces.
 *
 * Syscalls: unshare(CLONE_NEWNET), mount(MS_BIND, MS_SHARED), umount2
 * (MNT_DETACH), setns. Read: ip-netns(8), namespaces(7), mount(2).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nslab.h"

#define PATH_SIZE (sizeof(NSLAB_NETNS_DIR) + 256)

static void netns_path(char *buf, const char *name)
{
	snprintf(buf, PATH_SIZE, NSLAB_NETNS_DIR "/%s", name);
}

/* As `ip netns add` does: create /run/netns and make it a shared mount
 * (bind-mounting it on itself first when it is not a mount point).
 * Returns 0 or -1 with errno set. */
static int netns_dir_setup(struct nslab_state *st)
{
	if (st->netns_dir_ready)
		return 0;
	if (mkdir(NSLAB_NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return -1;
	while (mount("", NSLAB_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL)) {
		if (errno != EINVAL)
			return -1;
		if (mount(NSLAB_NETNS_DIR, NSLAB_NETNS_DIR, "none",
			  MS_BIND | MS_REC, NULL))
			return -1;
	}
	st->netns_dir_ready = 1;
	return 0;
}

/*
 * Detaches every mount stacked on path (P6), then removes the file.
 * Returns 0 or -1 with errno set; EBUSY means the name is still there.
 */
static int netns_remove(const char *path)
{
	int i;

	for (i = 0; i < 64; i++)
		if (umount2(path, MNT_DETACH) < 0)
			break;
	if (i == 64 || (errno != EINVAL && errno != ENOENT))
		return errno = i == 64 ? EBUSY : errno, -1;
	return unlink(path);
}

/*
 * netns.add(name): creates the named netns. Unshares a new network
 * namespace in the calling thread, bind-mounts it at /run/netns/NAME,
 * opens its rtnetlink socket while inside (cached for later calls) and
 * returns to nslab's own namespace, error or not.
 */
static int l_netns_add(lua_State *L)
{
	struct nslab_state *st = nslab_state(L);
	const char *name = luaL_checkstring(L, 1);
	const char *obj;
	char path[PATH_SIZE];
	int fd, err;

	nslab_check_netns(L, "netns.add", name);
	obj = lua_pushfstring(L, "\"%s\"", name);
	nslab_need_caps(L, "netns.add", obj);
	if (netns_dir_setup(st) < 0)
		return nslab_raise(L, "netns.add", obj, NULL, errno,
				   "cannot set up " NSLAB_NETNS_DIR);
	netns_path(path, name);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		return nslab_raise(L, "netns.add", obj, NULL, err,
				   err == EEXIST ? "netns already exists"
						 : path);
	}
	close(fd);
	if (unshare(CLONE_NEWNET) < 0) {
		err = errno;
		unlink(path);
		return nslab_raise(L, "netns.add", obj, NULL, err, "unshare");
	}
	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) <
	    0) {
		err = errno;
		nl_leave(st);
		unlink(path);
		return nslab_raise(L, "netns.add", obj, NULL, err,
				   "bind mount");
	}
	if (!nl_conn_adopt(st, name)) {
		err = errno;
		nl_leave(st);
		netns_remove(path);
		return nslab_raise(L, "netns.add", obj, NULL, err,
				   "rtnetlink socket");
	}
	nl_leave(st);
	return 0;
}

/*
 * netns.del(name): detaches the mount(s) at /run/netns/NAME and removes
 * the file; the namespace itself goes when its last process or fd does.
 */
static int l_netns_del(lua_State *L)
{
	struct nslab_state *st = nslab_state(L);
	const char *name = luaL_checkstring(L, 1);
	const char *obj;
	char path[PATH_SIZE], why[PATH_SIZE + 64];
	struct stat sb;
	int err;

	nslab_check_netns(L, "netns.del", name);
	obj = lua_pushfstring(L, "\"%s\"", name);
	nslab_need_caps(L, "netns.del", obj);
	netns_path(path, name);
	if (lstat(path, &sb) < 0) {
		err = errno;
		return nslab_raise(L, "netns.del", obj, NULL, err,
				   err == ENOENT ? "netns does not exist"
						 : path);
	}
	nl_conn_forget(st, name);
	if (netns_remove(path) < 0) {
		err = errno;
		snprintf(why, sizeof(why), "%s is still there", path);
		return nslab_raise(L, "netns.del", obj, NULL, err, why);
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* netns.list() -> sorted array of the names in /run/netns. */
static int l_netns_list(lua_State *L)
{
	DIR *d = opendir(NSLAB_NETNS_DIR);
	char **names = NULL, **tmp;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int err = 0;

	if (!d) {
		if (errno == ENOENT) {
			lua_newtable(L);
			return 1;
		}
		return nslab_raise(L, "netns.list", NSLAB_NETNS_DIR, NULL,
				   errno, NULL);
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			tmp = realloc(names, cap * sizeof(*names));
			if (!tmp) {
				err = ENOMEM;
				break;
			}
			names = tmp;
		}
		if (!(names[n] = strdup(de->d_name))) {
			err = ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (!err && n)
		qsort(names, n, sizeof(*names), cmp_names);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		if (!err) {
			lua_pushstring(L, names[i]);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		free(names[i]);
	}
	free(names);
	if (err)
		return nslab_raise(L, "netns.list", NSLAB_NETNS_DIR, NULL, err,
				   NULL);
	return 1;
}

/* netns.exists(name) -> boolean: the name is taken in /run/netns. */
static int l_netns_exists(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	char path[PATH_SIZE];
	struct stat sb;

	nslab_check_netns(L, "netns.exists", name);
	netns_path(path, name);
	lua_pushboolean(L, lstat(path, &sb) == 0);
	return 1;
}

static const luaL_Reg funcs[] = {
    {"add", l_netns_add},	{"del", l_netns_del}, {"list", l_netns_list},
    {"exists", l_netns_exists}, {NULL, NULL},
};

void nslab_open_netns(lua_State *L)
{
	nslab_newlib(L, "netns", funcs);
}
