/*
 * exec_mntns.c - the mount namespace commands in a netns run in, made as
 * `ip netns exec` makes one per command: a private mount namespace
 * (unshare(CLONE_NEWNS)) whose / is a recursive slave, so nothing mounted
 * in it reaches nslab; /sys replaced with a sysfs of the netns, so
 * /sys/class/net lists that namespace's links (pitfall P3), read-only if
 * the old one was; each /etc/netns/NAME/FILE bound over /etc/FILE. It is
 * made once, by a short-lived child that sends it back, and kept: joining
 * it costs a setns, where making it waits for an RCU grace period (the
 * sysfs unmount).
 *
 * The kept namespace is a slave of nslab's /: mounts made later where /
 * is shared (systemd hosts, nslab's sandbox and rootless mode) show in it,
 * as they would in a fresh one; /etc/netns/NAME is checked on every call
 * (inode and ctime, so a file added, removed or renamed there) and the
 * namespace made again when it changed. A file edited in place shows
 * anyway, being bound by inode.
 *
 * Syscalls: fork(2), setns(2), unshare(2), mount(2), umount2(2),
 * statvfs(3), socketpair(2) with SCM_RIGHTS (unix(7)). Read: ip-netns(8),
 * mount_namespaces(7), sysfs(5).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec.h"

/* Writes "nslab: warning: cannot bind SRC on DST: ENOENT" to stderr with
 * write(2) only (the child shares nslab's memory until it execs). */
static void bind_warning(const char *src, const char *dst, int err)
{
	const char *parts[] = {
	    "nslab: warning: cannot bind ", src, " on ", dst, ": ",
	    strerrorname_np(err),	    "\n"};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (write(2, parts[i], strlen(parts[i])) < 0)
			return;
}

/* As iproute2's bind_etc: each /etc/netns/NAME/FILE over /etc/FILE. */
static void child_bind_etc(int errfd, const char *netns)
{
	char dir[320], src[600], dst[600];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/etc/netns/%s", netns);
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return;
		exec_child_fail(errfd, errno, "open %s", dir);
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(src, sizeof(src), "%s/%s", dir, e->d_name);
		snprintf(dst, sizeof(dst), "/etc/%s", e->d_name);
		/* As ip netns exec: a file that cannot be bound (no /etc/FILE
		 * to bind over, a directory) is skipped with a warning, not
		 * a reason to refuse every command in the namespace. */
		if (mount(src, dst, "none", MS_BIND, NULL) < 0)
			bind_warning(src, dst, errno);
	}
	closedir(d);
}

/*
 * The lab's hosts text as a file of a private tmpfs (a detached mount:
 * nothing is made on any file system) bound over /etc/hosts. Returns the
 * file, open read-write for later rewrites, or -1 after a warning when
 * there is no /etc/hosts to bind over.
 */
static int child_hosts(int errfd, const char *text)
{
	size_t len = strlen(text);
	int fs, mnt, fd, tree;

	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		exec_child_fail(errfd, errno, "make a tmpfs for /etc/hosts");
	mnt = fsmount(fs, FSMOUNT_CLOEXEC,
		      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		exec_child_fail(errfd, errno, "mount a tmpfs for /etc/hosts");
	fd = openat(mnt, "hosts", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		exec_child_fail(errfd, errno, "create the lab's hosts file");
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno != EINTR)
			exec_child_fail(errfd, errno, "write the hosts file");
		off += w > 0 ? (size_t)w : 0;
	}
	tree = open_tree(mnt, "hosts", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		exec_child_fail(errfd, errno, "clone the hosts file mount");
	if (move_mount(tree, "", AT_FDCWD, "/etc/hosts",
		       MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		bind_warning("the lab's hosts", "/etc/hosts", errno);
		close(fd);
		fd = -1;
	}
	close(tree);
	close(mnt);
	close(fs);
	return fd;
}

/* The mount half of ip netns exec, after setns, then the node's own: a
 * tmpfs on each of dirs (struct nl_conn), the lab's hosts file; returns
 * the hosts file (child_hosts) when hosts is set, else -1. */
static int child_mounts(int errfd, const char *netns, const char *hosts,
			const char *dirs)
{
	int hostsfd = -1;

	unsigned long flags = 0;
	struct statvfs sv;

	if (unshare(CLONE_NEWNS) < 0)
		exec_child_fail(errfd, errno, "unshare mount namespace");
	/* Slave, not private: mounts made later by the host (a new netns
	 * under /run/netns) still show, ours never go back. */
	if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) < 0)
		exec_child_fail(errfd, errno, "make / a recursive slave mount");
	if (statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY))
		flags = MS_RDONLY;
	/* Failing is fine: /sys may not have been mounted at all. */
	umount2("/sys", MNT_DETACH);
	if (mount(netns, "/sys", "sysfs", flags, NULL) < 0)
		exec_child_fail(errfd, errno, "mount sysfs on /sys");
	for (const char *d = dirs; d && *d; d += strlen(d) + 1)
		if (mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV,
			  "mode=755") < 0)
			exec_child_fail(errfd, errno, "mount tmpfs on %s", d);
	/* Before /etc/netns/NAME, whose own hosts file then wins. */
	if (hosts)
		hostsfd = child_hosts(errfd, hosts);
	child_bind_etc(errfd, netns);
	return hostsfd;
}

struct mntns_job {
	const struct nl_conn *c;
	const char *netns;
};

/* In the helper child: enters the netns, mounts, sends the mount
 * namespace and the hosts file it bound (if any). */
static int mntns_work(int sock, void *arg)
{
	const struct mntns_job *j = arg;
	struct exec_fail f = {0};
	int fds[2];

	if (setns(j->c->nsfd, CLONE_NEWNET) < 0)
		exec_child_fail(sock, errno, "setns");
	fds[1] = child_mounts(sock, j->netns, j->c->hosts, j->c->dirs);
	fds[0] = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (fds[0] < 0)
		exec_child_fail(sock, errno, "open /proc/thread-self/ns/mnt");
	/* Last: this child is not in the /proc it mounts. */
	if (j->c->pidnsfd >= 0)
		exec_pidns_proc(j->c->pidnsfd, sock);
	return exec_send_fds(sock, fds, fds[1] >= 0 ? 2 : 1, &f);
}

/*
 * Makes a mount namespace for commands in the netns nsfd (named netns) in
 * a short-lived child, which sends it back with the hosts file it bound
 * (*hostsfd, -1 if none). Returns its fd (close-on-exec) or -1 with f
 * filled.
 */
static int mntns_make(const struct nl_conn *c, const char *netns, int *hostsfd,
		      struct exec_fail *f)
{
	struct mntns_job j = {c, netns};
	int fds[2];

	if (exec_child_fds(mntns_work, &j, fds, c->hosts ? 2 : 1, 0, f) < 0)
		return -1;
	*hostsfd = c->hosts ? fds[1] : -1;
	return fds[0];
}

/* ctime of the /etc/netns/NAME this close to now (s) may be changed again
 * without its ctime moving (coarse timestamps): check it next time too. */
#define ETC_RACY 0.05

int exec_mntns(struct nl_conn *c, const char *netns, struct exec_fail *f)
{
	char dir[320];
	struct stat sb;
	struct timespec now;
	int exists, fd, hostsfd;

	snprintf(dir, sizeof(dir), "/etc/netns/%s", netns);
	exists = stat(dir, &sb) == 0;
	if (c->mntfd >= 0 && !c->etc_racy && exists == c->etc_exists &&
	    (!exists || (sb.st_dev == c->etc_dev && sb.st_ino == c->etc_ino &&
			 sb.st_ctim.tv_sec == c->etc_ctime.tv_sec &&
			 sb.st_ctim.tv_nsec == c->etc_ctime.tv_nsec)))
		return c->mntfd;
	fd = mntns_make(c, netns, &hostsfd, f);
	if (fd < 0)
		return -1;
	if (c->mntfd >= 0)
		close(c->mntfd);
	if (c->hostsfd >= 0)
		close(c->hostsfd);
	c->mntfd = fd;
	c->hostsfd = hostsfd;
	c->etc_exists = exists;
	c->etc_racy = 0;
	if (exists) {
		c->etc_dev = sb.st_dev;
		c->etc_ino = sb.st_ino;
		c->etc_ctime = sb.st_ctim;
		clock_gettime(CLOCK_REALTIME, &now);
		c->etc_racy =
		    (double)(now.tv_sec - sb.st_ctim.tv_sec) +
			(double)(now.tv_nsec - sb.st_ctim.tv_nsec) / 1e9 <
		    ETC_RACY;
	}
	return fd;
}
