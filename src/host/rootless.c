/*
 * rootless.c - running without root. Before Lua starts, nslab moves itself
 * into a new user namespace (the caller's uid and gid mapped to root), a
 * new mount namespace (private propagation, a fresh tmpfs on /run holding
 * /run/netns and /run/nslab, sysfs of the new netns on /sys), a new
 * network namespace (the lab's "host", lo up) and a new PID namespace, so
 * that everything a lab starts dies with it (the processes on either side
 * of it are pidns.c's). The same setup, minus the user namespace when
 * nslab is privileged, is the spec sandbox (nslab --sandbox CMD..., used
 * by tools/sandbox.sh).
 *
 * Syscalls: unshare(CLONE_NEWUSER, CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWPID;
 * CLONE_NEWUTS|CLONE_NEWIPC for the sandbox),
 * /proc/self/{setgroups,uid_map,gid_map}, mount(2) (MS_PRIVATE, tmpfs,
 * sysfs, overlay), ioctl(SIOCSIFFLAGS).
 * Read: user_namespaces(7), mount_namespaces(7), network_namespaces(7),
 * capabilities(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host.h"
#include "host/pidns.h"
#include "host/rootless.h"
#include "core/caps.h"
#include "core/core.h"

/* A sysctl's integer value, or -1 when the file is absent. */
static long read_sysctl(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Writes text to a /proc file in one write(2); 0 or -1 with errno. */
static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n, len = (ssize_t)strlen(text);
	int err;

	if (fd < 0)
		return -1;
	n = write(fd, text, (size_t)len);
	err = errno;
	close(fd);
	if (n == len)
		return 0;
	errno = n < 0 ? err : EIO;
	return -1;
}

/*
 * Why unshare(CLONE_NEWUSER) failed with err, naming the sysctl that
 * decides: user.max_user_namespaces (all kernels; ENOSPC when 0 or
 * reached), kernel.unprivileged_userns_clone (Debian/Ubuntu kernels, EPERM
 * when 0), kernel.apparmor_restrict_unprivileged_userns (Ubuntu 23.10+).
 */
static void userns_hint(int err, char *buf, size_t n)
{
	long max = read_sysctl("/proc/sys/user/max_user_namespaces");
	long clone = read_sysctl("/proc/sys/kernel/unprivileged_userns_clone");
	long aa = read_sysctl(
	    "/proc/sys/kernel/apparmor_restrict_unprivileged_userns");

	if (max == 0)
		snprintf(buf, n,
			 "user namespaces are disabled: sysctl "
			 "user.max_user_namespaces is 0 (root can enable them: "
			 "sysctl -w user.max_user_namespaces=10000)");
	else if (err == ENOSPC)
		snprintf(buf, n,
			 "the limit of user namespaces is reached (sysctl "
			 "user.max_user_namespaces = %ld, or nested 32 deep)",
			 max);
	else if (clone == 0)
		snprintf(buf, n,
			 "unprivileged user namespaces are disabled: sysctl "
			 "kernel.unprivileged_userns_clone is 0");
	else if (aa == 1)
		snprintf(buf, n,
			 "AppArmor restricts user namespaces: sysctl "
			 "kernel.apparmor_restrict_unprivileged_userns is 1");
	else if (err == EINVAL)
		snprintf(buf, n,
			 "this kernel has no user namespaces "
			 "(CONFIG_USER_NS)");
	else
		snprintf(buf, n,
			 "user namespaces are not allowed here (a seccomp "
			 "filter, as in containers, or the sysctls "
			 "user.max_user_namespaces, "
			 "kernel.unprivileged_userns_clone)");
}

/*
 * After unshare(CLONE_NEWUSER): maps root inside to the caller's uid and
 * gid outside. Unprivileged, only that one id can be mapped, and only
 * after setgroups(2) is denied. Returns 0 or -1 after printing why.
 */
static int userns_map(uid_t uid, gid_t gid)
{
	char map[64];

	if (write_file("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
		return host_fail("cannot write /proc/self/setgroups", errno,
				 NULL);
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) < 0)
		return host_fail("cannot write /proc/self/uid_map", errno,
				 NULL);
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
	if (write_file("/proc/self/gid_map", map) < 0)
		return host_fail("cannot write /proc/self/gid_map", errno,
				 NULL);
	return 0;
}

/* Sets lo up in the current netns, as a host's has it (SIOCSIFFLAGS,
 * netdevice(7)). Returns 0 or -1 with errno. */
static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = -1, err;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	err = errno;
	close(fd);
	errno = err;
	return r;
}

/*
 * New mount, network and PID namespaces (the PID one for the next
 * children): / made private so nothing propagates back (then shared
 * among its own mounts), a fresh tmpfs on
 * /run (so /run/netns and /run/nslab exist and are ours even where an
 * unprivileged user could not create them), sysfs of the new netns on
 * /sys, lo up. Returns 0 or -1 after printing why.
 */
static int isolate(void)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) < 0)
		return host_fail(
		    "cannot create mount, network and PID namespaces", errno,
		    NULL);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return host_fail("cannot make / a private mount", errno, NULL);
	/* Shared again, but now only among our own mounts: what is mounted
	 * here later reaches the mount namespaces kept for commands (slaves
	 * of ours, exec_mntns.c), never the caller's. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL) < 0)
		return host_fail("cannot make / a shared mount", errno, NULL);
	if (mount("nslab-run", "/run", "tmpfs", MS_NOSUID | MS_NODEV,
		  "mode=0755") < 0)
		return host_fail("cannot mount a tmpfs on /run", errno, NULL);
	if (mkdir(NSLAB_NETNS_DIR, 0755) < 0 || mkdir(NSLAB_RUN_DIR, 0755) < 0)
		return host_fail("cannot create /run/netns and /run/nslab",
				 errno, NULL);
	/* Where the host's sysfs is partly hidden (containers mask parts of
	 * it), the kernel refuses a new one (EPERM): keep the old view. */
	if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0 &&
	    errno != EPERM)
		return host_fail("cannot mount sysfs on /sys", errno, NULL);
	if (lo_up() < 0)
		return host_fail("cannot set lo up", errno, NULL);
	return 0;
}

/*
 * Enters the new namespaces: a user namespace first when userns (unshare
 * already done when userns is 2), then the rest. uid and gid are the
 * caller's, read before the user namespace hid them.
 */
static int private_etc(void);

static int enter(int userns, uid_t uid, gid_t gid, char **argv, int sandbox)
{
	char hint[300];
	int err;

	if (userns == 1 && unshare(CLONE_NEWUSER) < 0) {
		err = errno;
		userns_hint(err, hint, sizeof(hint));
		return host_fail("cannot create a user namespace", err, hint);
	}
	if (userns && userns_map(uid, gid) < 0)
		return -1;
	/* The sandbox's own hostname and System V IPC: a spec that sets
	 * kernel.hostname or makes a message queue leaves the machine's. */
	if (sandbox && unshare(CLONE_NEWUTS | CLONE_NEWIPC) < 0)
		return host_fail("cannot create UTS and IPC namespaces", errno,
				 NULL);
	if (isolate() < 0 || (sandbox && private_etc() < 0))
		return -1;
	return pidns_run(argv);
}

int rootless_setup(int *rootless, int noenv)
{
	const char *env = noenv ? NULL : getenv("NSLAB_ROOTLESS");
	uid_t uid = geteuid();
	gid_t gid = getegid();
	const char *missing;
	char buf[200];

	if (env && *env && strcmp(env, "0") != 0 && strcmp(env, "1") != 0) {
		snprintf(buf, sizeof(buf),
			 "NSLAB_ROOTLESS must be 0 or 1, not \"%.100s\"", env);
		host_message(buf);
		return -1;
	}
	if (*rootless || (env && strcmp(env, "1") == 0)) {
		*rootless = 1;
		return enter(1, uid, gid, NULL, 0);
	}
	if ((env && strcmp(env, "0") == 0) || !(missing = caps_missing()))
		return 0;
	/* Automatic: without user namespaces, go on unprivileged; the
	 * first privileged call will name the missing capability. */
	if (unshare(CLONE_NEWUSER) < 0)
		return 0;
	snprintf(buf, sizeof(buf),
		 "no %s; running rootless in a new user namespace "
		 "(see README, \"Without root\")",
		 missing);
	host_message(buf);
	*rootless = 1;
	return enter(2, uid, gid, NULL, 0);
}

/*
 * The sandbox also puts a writable overlay on /etc (its upper layer in the
 * sandbox's /run tmpfs), so what specs write there (/etc/netns/NAME/hosts)
 * never reaches the host's /etc. Returns 0 or -1 after printing why.
 */
static int private_etc(void)
{
	static const char opts[] = "lowerdir=/etc,upperdir=/run/.nslab-etc/up,"
				   "workdir=/run/.nslab-etc/work";

	if (mkdir("/run/.nslab-etc", 0700) < 0 ||
	    mkdir("/run/.nslab-etc/up", 0755) < 0 ||
	    mkdir("/run/.nslab-etc/work", 0755) < 0)
		return host_fail("cannot create the /etc overlay's layers",
				 errno, NULL);
	if (mount("nslab-etc", "/etc", "overlay", 0, opts) < 0)
		return host_fail("cannot put an overlay on /etc", errno, NULL);
	return 0;
}

int rootless_sandbox(char **argv)
{
	if (!argv[0]) {
		host_message("--sandbox needs a command");
		return 2;
	}
	enter(caps_missing() ? 1 : 0, geteuid(), getegid(), argv, 1);
	return 1;
}
