/*
 * netns.c - named network namespaces, the iproute2 way: a namespace is kept
 * alive by a bind mount of its nsfs inode at /run/netns/NAME, and
 * /run/netns is a shared mount so the mount reaches every mount namespace,
 * so `ip netns` and nslab see each other's namespaces.
 *
 * The processes living in a netns (pids, kill) are netns_pids.c's.
 *
 * Syscalls: unshare(CLONE_NEWNET), mount(MS_BIND, MS_SHARED), umount2
 * (MNT_DETACH), setns, flock. Read: ip-netns(8), namespaces(7),
 * mount(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "core/core.h"
#include "net/net.h"
#include "net/netns.h"

/*
 * As `ip netns add` does: create /run/netns and make it a shared mount,
 * bind-mounting it on itself first when it is not a mount point (the
 * first make-shared fails with EINVAL). Both steps run under an flock on
 * the directory, so two processes starting at once cannot both find "not
 * a mount point" and stack two bind mounts (a shared mount bound on
 * itself again also propagates a copy: mounts multiply). A second EINVAL
 * after the bind mount is an error, not a reason to bind again. Returns 0
 * or -1 with errno set.
 */
int netns_dir_setup(struct nslab_state *st)
{
	int fd, bound = 0, rc = 0, err = 0;

	if (st->netns_dir_ready)
		return 0;
	if (mkdir(NSLAB_NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return -1;
	fd = open(NSLAB_NETNS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	while (mount("", NSLAB_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL)) {
		if (errno != EINVAL || bound ||
		    mount(NSLAB_NETNS_DIR, NSLAB_NETNS_DIR, "none",
			  MS_BIND | MS_REC, NULL)) {
			err = errno;
			rc = -1;
			break;
		}
		bound = 1;
	}
	close(fd); /* and with it the lock */
	if (rc < 0)
		errno = err;
	else
		st->netns_dir_ready = 1;
	return rc;
}

/*
 * Detaches every mount stacked on path (P6), then removes the file.
 * Returns 0 or -1 with errno set; EBUSY means the name is still there.
 */
static int netns_remove(const char *path)
{
	int i;

	/* UMOUNT_NOFOLLOW: should the path have become a symlink since it
	 * was checked, its target is never unmounted. */
	for (i = 0; i < 64; i++)
		if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			break;
	if (i == 64 || (errno != EINVAL && errno != ENOENT))
		return errno = i == 64 ? EBUSY : errno, -1;
	return unlink(path);
}

/*
 * The option on_create of netns.add: when the table at idx has it, calls
 * it with the identity (st_dev, st_ino of the nsfs inode) of the namespace
 * the thread is now in, before that namespace gets its name, so a caller
 * can record what it made before it can outlive nslab. Returns 0, or -1
 * with the callback's error on the stack (or errno set when the identity
 * cannot be read).
 */
static int netns_on_create(lua_State *L, int idx, struct stat *sb)
{
	if (stat("/proc/thread-self/ns/net", sb) < 0)
		return -1;
	if (lua_isnoneornil(L, idx))
		return 0;
	lua_getfield(L, idx, "on_create");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	lua_pushinteger(L, (lua_Integer)sb->st_dev);
	lua_pushinteger(L, (lua_Integer)sb->st_ino);
	return lua_pcall(L, 2, 0, 0) == LUA_OK ? 0 : -1;
}

/*
 * netns.add(name[, opts]) -> dev, ino: creates the named netns. Unshares
 * a new network namespace in the calling thread, calls opts.on_create(dev,
 * ino) if given, bind-mounts it at /run/netns/NAME, opens its rtnetlink
 * socket while inside (cached for later calls) and returns to nslab's own
 * namespace, error or not. dev and ino are its identity, as netns.id says.
 */
static int l_netns_add(lua_State *L)
{
	static const char *const fields[] = {"on_create", NULL};
	struct nslab_state *st = nslab_state(L);
	const char *name = nslab_checkstr(L, 1, "netns.add", "name");
	const char *obj;
	char path[NETNS_PATH_SIZE];
	struct stat sb;
	int fd, err;

	nslab_check_netns(L, "netns.add", name);
	lua_settop(L, 2); /* opts (or nil) at 2, the object name at 3 */
	if (!lua_isnil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		nslab_check_fields(L, 2, fields);
		lua_getfield(L, 2, "on_create");
		luaL_argcheck(L, lua_isnil(L, -1) || lua_isfunction(L, -1), 2,
			      "field 'on_create' must be a function");
		lua_pop(L, 1);
	}
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
	if (netns_on_create(L, 2, &sb) < 0) {
		err = errno;
		nl_leave(&st->nl);
		unlink(path);
		if (lua_gettop(L) > 3) /* the callback's error */
			return lua_error(L);
		return nslab_raise(L, "netns.add", obj, NULL, err,
				   "/proc/thread-self/ns/net");
	}
	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) <
	    0) {
		err = errno;
		nl_leave(&st->nl);
		unlink(path);
		return nslab_raise(L, "netns.add", obj, NULL, err,
				   "bind mount");
	}
	if (!nl_conn_adopt(&st->nl, name)) {
		err = errno;
		nl_leave(&st->nl);
		netns_remove(path);
		return nslab_raise(L, "netns.add", obj, NULL, err,
				   "rtnetlink socket");
	}
	nl_leave(&st->nl);
	lua_pushinteger(L, (lua_Integer)sb.st_dev);
	lua_pushinteger(L, (lua_Integer)sb.st_ino);
	return 2;
}

/*
 * The option of netns.del: {dev = , ino = }, an identity as netns.id gives
 * it. Raises ESTALE when the table at idx holds one and sb is another
 * namespace (the name was deleted and made again since), so a caller never
 * removes a namespace it did not make.
 */
static void netns_check_id(lua_State *L, int idx, const char *obj,
			   const struct stat *sb)
{
	static const char *const fields[] = {"dev", "ino", NULL};
	lua_Integer dev, ino;

	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	nslab_check_fields(L, idx, fields);
	lua_getfield(L, idx, "dev");
	lua_getfield(L, idx, "ino");
	luaL_argcheck(L, lua_isinteger(L, -2) && lua_isinteger(L, -1), idx,
		      "fields 'dev' and 'ino' must be integers");
	dev = lua_tointeger(L, -2);
	ino = lua_tointeger(L, -1);
	lua_pop(L, 2);
	if ((lua_Integer)sb->st_dev != dev || (lua_Integer)sb->st_ino != ino)
		nslab_raise(L, "netns.del", obj, NULL, ESTALE,
			    "the name now holds another namespace (made "
			    "again since): left alone");
}

/*
 * netns.id(name) -> dev, ino: the identity of the namespace bound at
 * /run/netns/NAME (st_dev and st_ino of its nsfs inode, as /proc/PID/ns/net
 * shows it), or nothing when the name does not exist. A symlink there, or
 * a file that is no namespace, raises EINVAL.
 */
static int l_netns_id(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	const char *obj;
	char path[NETNS_PATH_SIZE];
	struct stat sb;
	struct statfs sf;
	int err;

	nslab_check_netns(L, "netns.id", name);
	netns_path(path, name);
	if (lstat(path, &sb) < 0) {
		err = errno;
		if (err == ENOENT)
			return 0;
		obj = lua_pushfstring(L, "\"%s\"", name);
		return nslab_raise(L, "netns.id", obj, NULL, err, path);
	}
	if (S_ISLNK(sb.st_mode) || statfs(path, &sf) < 0 ||
	    sf.f_type != NSFS_MAGIC) {
		obj = lua_pushfstring(L, "\"%s\"", name);
		return nslab_raise(L, "netns.id", obj, NULL, EINVAL,
				   S_ISLNK(sb.st_mode)
				       ? "a symlink, not a network namespace"
				       : "not a network namespace");
	}
	lua_pushinteger(L, (lua_Integer)sb.st_dev);
	lua_pushinteger(L, (lua_Integer)sb.st_ino);
	return 2;
}

/*
 * netns.del(name[, id]): detaches the mount(s) at /run/netns/NAME and removes
 * the file; the namespace itself goes when its last process or fd does.
 */
static int l_netns_del(lua_State *L)
{
	struct nslab_state *st = nslab_state(L);
	const char *name = nslab_checkstr(L, 1, "netns.del", "name");
	const char *obj;
	char path[NETNS_PATH_SIZE], why[NETNS_PATH_SIZE + 64];
	struct stat sb;
	int err;

	nslab_check_netns(L, "netns.del", name);
	lua_settop(L, 2); /* the identity (or nil) at 2 */
	obj = lua_pushfstring(L, "\"%s\"", name);
	nslab_need_caps(L, "netns.del", obj);
	netns_path(path, name);
	if (lstat(path, &sb) < 0) {
		err = errno;
		return nslab_raise(L, "netns.del", obj, NULL, err,
				   err == ENOENT ? "netns does not exist"
						 : path);
	}
	if (S_ISLNK(sb.st_mode)) {
		snprintf(why, sizeof(why),
			 "%s is a symlink, not a netns: left alone", path);
		return nslab_raise(L, "netns.del", obj, NULL, ELOOP, why);
	}
	netns_check_id(L, 2, obj, &sb);
	nl_conn_forget(&st->nl, name);
	if (netns_remove(path) < 0) {
		err = errno;
		snprintf(why, sizeof(why), "%s is still there", path);
		return nslab_raise(L, "netns.del", obj, NULL, err, why);
	}
	return 0;
}

/* netns.list() -> sorted array of the names in /run/netns. */
static int l_netns_list(lua_State *L)
{
	if (nslab_push_dir(L, NSLAB_NETNS_DIR) == 0)
		return 1;
	if (errno == ENOENT) {
		lua_newtable(L);
		return 1;
	}
	return nslab_raise(L, "netns.list", NSLAB_NETNS_DIR, NULL, errno, NULL);
}

/* netns.exists(name) -> boolean: the name is taken in /run/netns. */
static int l_netns_exists(lua_State *L)
{
	const char *name = nslab_checkstr(L, 1, "netns.exists", "name");
	char path[NETNS_PATH_SIZE];
	struct stat sb;

	nslab_check_netns(L, "netns.exists", name);
	netns_path(path, name);
	lua_pushboolean(L, lstat(path, &sb) == 0);
	return 1;
}

/*
 * netns.del_placeholder(name) -> boolean: removes /run/netns/NAME when it
 * is only what netns.add (and ip netns add) makes first, before the bind
 * mount: an empty regular file, no namespace mounted on it. A process
 * killed between the two leaves one, and no namespace identity was ever
 * recorded for it. Anything else there (a namespace, a symlink, a file
 * with content) is left alone: false. Unlinking a mount point fails
 * (EBUSY), so a mount made meanwhile is never undone.
 */
static int l_netns_del_placeholder(lua_State *L)
{
	const char *name =
	    nslab_checkstr(L, 1, "netns.del_placeholder", "name");
	char path[NETNS_PATH_SIZE];
	struct stat sb;
	struct statfs sf;

	nslab_check_netns(L, "netns.del_placeholder", name);
	netns_path(path, name);
	if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size != 0 ||
	    statfs(path, &sf) < 0 || sf.f_type == NSFS_MAGIC ||
	    unlink(path) < 0) {
		lua_pushboolean(L, 0);
		return 1;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static const luaL_Reg funcs[] = {
    {"add", l_netns_add},   {"del", l_netns_del},
    {"list", l_netns_list}, {"exists", l_netns_exists},
    {"pids", l_netns_pids}, {"kill", l_netns_kill},
    {"id", l_netns_id},	    {"del_placeholder", l_netns_del_placeholder},
    {NULL, NULL},
};

void nslab_open_netns(lua_State *L)
{
	nslab_newlib(L, "netns", funcs);
}
