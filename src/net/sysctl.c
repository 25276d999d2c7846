/*
 * sysctl.c - kernel parameters of a network namespace, read and written
 * through /proc/sys as sysctl(8) does. /proc/sys/net shows the namespace
 * of the task that opens the file, so the file is opened inside the netns
 * (setns there and back, error or not) and then read or written from
 * here: the caller's own values are never touched (pitfall P7).
 *
 * With many namespaces, opening /proc/sys/net/... slows down: every
 * namespace that was looked at leaves its own "net" entry under /proc/sys
 * in the dcache, all in one hash chain (told apart by proc_sys_compare),
 * so a lookup walked 1000 of them at 1000 namespaces (0.1-0.2 ms per
 * sysctl). Since Linux 5.8 each proc mount is its own superblock with its
 * own dcache, so sysctls are opened through a private proc mount (fsopen,
 * attached nowhere), replaced every SYSCTL_PROC_REUSE uses to keep its
 * chains short; where the kernel refuses one (containers masking /proc),
 * /proc/sys is used as before.
 *
 * Syscalls: setns(2), open(2), openat(2), read(2), write(2), fsopen(2),
 * fsconfig(2), fsmount(2).
 * Read: sysctl(8), sysctl.d(5), proc(5) (/proc/sys), ip-sysctl.rst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core.h"
#include "net/net.h"
#include "net/text.h"

#define SYSCTL_MAX 16384 /* longest value read, bytes */

/*
 * Whether key lives under /proc/sys/net, the only sysctls that belong to
 * a network namespace. The others (kernel.hostname, vm.*, fs.*) are the
 * UTS, IPC or whole machine's whatever netns the file is opened in, so
 * setting one "for a netns" would change them for everybody.
 */
static int sysctl_per_netns(const char *key)
{
	char sep = strchr(key, '/') ? '/' : '.';

	return strncmp(key, "net", 3) == 0 && (key[3] == sep || !key[3]);
}

#define SYSCTL_PROC_REUSE 32

/* A new proc mount attached nowhere (new mount API); fd or -1. */
static int proc_mount(void)
{
#if defined(SYS_fsopen) && defined(FSOPEN_CLOEXEC)
	int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC), m = -1;

	if (fs < 0)
		return -1;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	close(fs);
	return m;
#else
	return -1;
#endif
}

/*
 * The fd of the private proc mount to open sysctls through, or -1 to use
 * /proc. Which netns's sysctls it shows is decided at each lookup by the
 * calling thread's netns, as for /proc.
 */
int sysctl_proc(struct nslab_state *st)
{
	if (st->sysproc_refused)
		return -1;
	if (st->sysproc_fd >= 0 && st->sysproc_uses++ < SYSCTL_PROC_REUSE)
		return st->sysproc_fd;
	if (st->sysproc_fd >= 0)
		close(st->sysproc_fd);
	st->sysproc_fd = proc_mount();
	st->sysproc_uses = 1;
	st->sysproc_refused = st->sysproc_fd < 0;
	return st->sysproc_fd;
}

/*
 * Opens the sysctl key with flags inside netns (NULL: nslab's own),
 * returning the fd; raises the error object for op on failure, naming
 * the key, the netns and the reason (ENOENT: no such sysctl).
 */
static int sysctl_open(lua_State *L, const char *op, const char *netns,
		       const char *key, int flags)
{
	struct nslab_state *st = nslab_state(L);
	char path[PATH_MAX], why[PATH_MAX + 64];
	const char *bad = sysctl_path(key, path, sizeof(path));
	int fd, err, proc;

	if (bad) {
		snprintf(why, sizeof(why), "%s: \"%s\"", bad, key);
		nslab_raise(L, op, key, netns, EINVAL, why);
	}
	if (netns && !sysctl_per_netns(key)) {
		snprintf(why, sizeof(why),
			 "%s is not per network namespace: only net.* keys "
			 "can be %s for a netns",
			 key, (flags & O_ACCMODE) == O_RDONLY ? "read" : "set");
		nslab_raise(L, op, key, netns, EINVAL, why);
	}
	if (netns) {
		nslab_conn(L, op, key, netns); /* clear error if it is gone */
		if (nl_enter(&st->nl, netns) < 0) {
			err = errno;
			nl_leave(&st->nl);
			nslab_raise(L, op, key, netns, err, "setns");
		}
	}
	proc = sysctl_proc(st);
	/* path is "/proc/sys/...": relative to a proc root, "sys/..." */
	fd = proc >= 0 ? openat(proc, path + sizeof("/proc/") - 1,
				flags | O_CLOEXEC | O_NOFOLLOW)
		       : open(path, flags | O_CLOEXEC | O_NOFOLLOW);
	err = errno;
	if (netns)
		nl_leave(&st->nl);
	if (fd >= 0)
		return fd;
	if (err == ENOENT || err == ENOTDIR)
		snprintf(why, sizeof(why), "no such sysctl (%s)", path);
	else if (err == EISDIR)
		snprintf(why, sizeof(why), "%s is a directory, not a sysctl",
			 path);
	else if (err == EACCES && (flags & O_ACCMODE) == O_WRONLY)
		snprintf(why, sizeof(why), "%s is read-only", path);
	else
		snprintf(why, sizeof(why), "%s", path);
	nslab_raise(L, op, key, netns, err == ENOTDIR ? ENOENT : err, why);
	return -1;
}

/* The optional netns argument at idx: nil (nslab's own) or a name. */
static const char *sysctl_netns(lua_State *L, int idx, const char *op)
{
	const char *netns;

	if (lua_isnil(L, idx))
		return NULL;
	netns = nslab_checkstr(L, idx, op, "netns");
	nslab_check_netns(L, op, netns);
	return netns;
}

/*
 * sysctl.get(netns, key) -> value as a string, its one trailing newline
 * removed ("1", "4096\t131072\t6291456").
 */
static int l_sysctl_get(lua_State *L)
{
	const char *netns = sysctl_netns(L, 1, "sysctl.get");
	const char *key = nslab_checkstr(L, 2, "sysctl.get", "key");
	char buf[SYSCTL_MAX];
	size_t len = 0;
	ssize_t r = 0;
	int fd, err;

	fd = sysctl_open(L, "sysctl.get", netns, key, O_RDONLY);
	while (len < sizeof(buf) &&
	       ((r = read(fd, buf + len, sizeof(buf) - len)) > 0 ||
		(r < 0 && errno == EINTR)))
		len += r > 0 ? (size_t)r : 0;
	err = r < 0 ? errno : len == sizeof(buf) ? EFBIG : 0;
	close(fd);
	if (err)
		return nslab_raise(L, "sysctl.get", key, netns, err,
				   err == EISDIR  ? "a directory, not a sysctl"
				   : err == EFBIG ? "value longer than 16 KiB"
						  : "read");
	if (len && buf[len - 1] == '\n')
		len--;
	lua_pushlstring(L, buf, len);
	return 1;
}

/*
 * sysctl.set(netns, key, value): writes value (string or number) in one
 * write(2), as sysctl -w does; the kernel's EINVAL for a bad value is
 * raised naming key and netns.
 */
static int l_sysctl_set(lua_State *L)
{
	const char *netns = sysctl_netns(L, 1, "sysctl.set");
	const char *key = nslab_checkstr(L, 2, "sysctl.set", "key");
	const char *value;
	size_t len;
	ssize_t w;
	int fd, err;

	luaL_argexpected(
	    L, lua_type(L, 3) == LUA_TSTRING || lua_type(L, 3) == LUA_TNUMBER,
	    3, "string or number");
	if (lua_type(L, 3) == LUA_TNUMBER && !lua_isinteger(L, 3)) {
		/* 64.0 is 64 to the kernel's parsers, which take no "." */
		int exact = 0;
		lua_Integer n = lua_tointegerx(L, 3, &exact);

		luaL_argcheck(L, exact, 3,
			      "a number value must be a whole number");
		lua_pushinteger(L, n);
		lua_replace(L, 3);
	}
	luaL_tolstring(L, 3, &len);
	/* the kernel's parsers stop at a NUL: "1\0garbage" would pass */
	value = nslab_nonul(L, -1, "sysctl.set", "value");
	fd = sysctl_open(L, "sysctl.set", netns, key, O_WRONLY);
	do
		w = write(fd, value, len);
	while (w < 0 && errno == EINTR);
	err = w < 0 ? errno : (size_t)w != len ? EIO : 0;
	close(fd);
	if (err) {
		lua_pushfstring(L, "the kernel refused value \"%s\"", value);
		return nslab_raise(L, "sysctl.set", key, netns, err,
				   lua_tostring(L, -1));
	}
	return 0;
}

static const luaL_Reg funcs[] = {
    {"get", l_sysctl_get},
    {"set", l_sysctl_set},
    {NULL, NULL},
};

void nslab_open_sysctl(lua_State *L)
{
	nslab_newlib(L, "sysctl", funcs);
}
