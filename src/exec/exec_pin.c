/*
 * exec_pin.c - keeping a node's UTS, IPC, time and PID namespaces (exec_node.c,
 * exec_pidns.c)
 * alive and reachable by other processes, as `ip netns add` keeps a netns:
 * a bind mount of the namespace file on an empty file. nslab holds these
 * namespaces only as fds in the netns's cache entry, so without a pin
 * they end with the process that made the lab, and another process
 * (`nslab --attach`, a kept lab reopened) could not run commands that see
 * the node's hostname. pin mounts them under a directory of the lab's
 * (/run/nslab/ns/LAB/NODE/{uts,ipc,time,pid}); adopt opens them there into
 * this process's cache entry of the netns; unpin detaches and removes
 * them.
 *
 * Syscalls: mount(2) MS_BIND, umount2(2) MNT_DETACH, ioctl(2)
 * NS_GET_NSTYPE (ioctl_ns(2)), unlink(2), rmdir(2). Read: namespaces(7),
 * ip-netns(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "exec/exec.h"
#include "core/core.h"

struct pin_kind {
	const char *name; /* file name in the pin directory */
	int type;	  /* CLONE_NEW* as NS_GET_NSTYPE reports it */
	size_t off;	  /* offset of its fd in struct nl_conn */
};

static const struct pin_kind kinds[] = {
    {"uts", CLONE_NEWUTS, offsetof(struct nl_conn, utsfd)},
    {"ipc", CLONE_NEWIPC, offsetof(struct nl_conn, ipcfd)},
    {"time", CLONE_NEWTIME, offsetof(struct nl_conn, timefd)},
    {"pid", CLONE_NEWPID, offsetof(struct nl_conn, pidnsfd)},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static int *fd_of(struct nl_conn *c, const struct pin_kind *k)
{
	return (int *)(void *)((char *)c + k->off);
}

/* Detaches every mount stacked on path (at most 64, as netns.del), then
 * unlinks it. Returns 0 (also when path does not exist) or -1 with errno
 * set (EBUSY: still mounted on). */
static int unpin_file(const char *path)
{
	int i;

	for (i = 0; i < 64; i++)
		if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			break;
	if (i == 64)
		return errno = EBUSY, -1;
	if (errno != EINVAL && errno != ENOENT)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Binds namespace fd on path (made empty, 0600). Returns 0 or -1 with
 * errno set and nothing left at path. */
static int pin_file(int fd, const char *path)
{
	char src[64];
	int f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (f < 0)
		return -1;
	close(f);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (mount(src, path, "none", MS_BIND, NULL) < 0) {
		int err = errno;

		unlink(path);
		errno = err;
		return -1;
	}
	return 0;
}

/* The arguments (netns, dir) of pin and adopt: returns the netns's cache
 * entry, with *netns and *dir set; pushes the table of kinds to fill. */
static struct nl_conn *pin_args(lua_State *L, const char *op,
				const char **netns, const char **dir)
{
	struct nl_conn *c;

	*netns = nslab_checkstr(L, 1, op, "netns");
	nslab_check_netns(L, op, *netns);
	*dir = nslab_checkstr(L, 2, op, "dir");
	c = nslab_conn(L, op, *netns, *netns);
	lua_newtable(L);
	return c;
}

/*
 * core.exec.pin(netns, dir) -> {kind...}: binds each namespace the node
 * of netns holds (uts, ipc, time, pid) on dir/KIND. dir must exist. Raises the
 * error object naming the file (EEXIST: already pinned there); what was
 * pinned before the failure is undone.
 */
int l_exec_pin(lua_State *L)
{
	const char *op = "exec.pin", *netns, *dir;
	char path[4200];
	struct nl_conn *c;
	int n = 0;

	c = pin_args(L, op, &netns, &dir);
	for (size_t i = 0; i < NKINDS; i++) {
		int fd = *fd_of(c, &kinds[i]);

		if (fd < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, kinds[i].name);
		if (pin_file(fd, path) < 0) {
			int err = errno;

			for (size_t j = 0; j < i; j++) {
				snprintf(path, sizeof(path), "%s/%s", dir,
					 kinds[j].name);
				if (*fd_of(c, &kinds[j]) >= 0)
					unpin_file(path);
			}
			snprintf(path, sizeof(path), "%s/%s", dir,
				 kinds[i].name);
			nslab_raise(L, op, path, netns, err, "bind mount");
		}
		lua_pushstring(L, kinds[i].name);
		lua_rawseti(L, -2, ++n);
	}
	return 1;
}

/*
 * core.exec.adopt(netns, dir) -> {kind...}: opens the namespaces pinned
 * in dir (those present) into this process's cache entry of netns, so
 * commands run there join them, as in the process that made the node.
 * Raises EINVAL naming a file that is not a namespace of its kind.
 */
int l_exec_adopt(lua_State *L)
{
	const char *op = "exec.adopt", *netns, *dir;
	char path[4200];
	struct nl_conn *c;
	int n = 0;

	c = pin_args(L, op, &netns, &dir);
	for (size_t i = 0; i < NKINDS; i++) {
		int fd, err, *keep = fd_of(c, &kinds[i]);

		snprintf(path, sizeof(path), "%s/%s", dir, kinds[i].name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			nslab_raise(L, op, path, netns, errno, "open");
		}
		if (ioctl(fd, NS_GET_NSTYPE) != kinds[i].type) {
			err = errno;
			close(fd);
			nslab_raise(L, op, path, netns, err ? err : EINVAL,
				    "not a pinned namespace of its kind");
		}
		if (*keep >= 0)
			close(*keep);
		*keep = fd;
		lua_pushstring(L, kinds[i].name);
		lua_rawseti(L, -2, ++n);
	}
	return 1;
}

/*
 * core.exec.unpin(dir): detaches and removes dir/uts, dir/ipc, dir/time
 * (those present), then dir itself. A dir that does not exist is fine.
 * Raises the error object naming what could not be removed.
 */
int l_exec_unpin(lua_State *L)
{
	const char *op = "exec.unpin", *dir;
	char path[4200];

	dir = nslab_checkstr(L, 1, op, "dir");
	for (size_t i = 0; i < NKINDS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, kinds[i].name);
		if (unpin_file(path) < 0)
			nslab_raise(L, op, path, NULL, errno, "unmount");
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		nslab_raise(L, op, dir, NULL, errno, "rmdir");
	return 0;
}
