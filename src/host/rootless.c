/*
 * rootless.c - running without root. Before Lua starts, nslab moves itself
 * into a new user namespace (the caller's uid and gid mapped to root), a
 * new mount namespace (private propagation, a fresh tmpfs on /run holding
 * /run/netns and /run/nslab, sysfs of the new netns on /sys), a new
 * network namespace (the lab's "host", lo up) and a new PID namespace, so
 * that everything a lab starts dies with it. The same setup, minus the
 * user namespace when nslab is privileged, is the spec sandbox
 * (nslab --sandbox CMD..., used by tools/sandbox.sh).
 *
 * Processes: the original one (the parent) stays outside the PID
 * namespace, waits for the worker and exits with its status or dies of
 * its signal; the first child is the namespace's init (reaps orphans,
 * ignores signals); the second child, the worker, runs Lua (or CMD).
 * When the worker ends, the parent kills init, and the kernel kills every
 * process left in the namespace.
 *
 * Syscalls: unshare(CLONE_NEWUSER, CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWPID;
 * CLONE_NEWUTS|CLONE_NEWIPC for the sandbox),
 * /proc/self/{setgroups,uid_map,gid_map}, mount(2) (MS_PRIVATE, tmpfs,
 * sysfs, proc), ioctl(SIOCSIFFLAGS), fork, waitpid, prctl(PDEATHSIG).
 * Read: user_namespaces(7), pid_namespaces(7), mount_namespaces(7),
 * network_namespaces(7), capabilities(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/host.h"
#include "host/rootless.h"
#include "core/caps.h"
#include "core/core.h"

/* Signals the parent passes on to the worker. */
static const int fwd_sigs[] = {SIGINT,	SIGTERM, SIGHUP,
			       SIGQUIT, SIGUSR1, SIGUSR2};
#define NFWD (sizeof(fwd_sigs) / sizeof(fwd_sigs[0]))

static volatile sig_atomic_t fwd_pid;
static int fg_tty; /* we had the terminal when the worker was forked */

/* Prints "nslab: what: strerror (ECODE); why" and returns -1. */
static int fail(const char *what, int err, const char *why)
{
	const char *code = strerrorname_np(err);
	char buf[600];

	snprintf(buf, sizeof(buf), "%s: %s (%s)%s%s", what, strerror(err),
		 code ? code : "EUNKNOWN", why && *why ? "; " : "",
		 why ? why : "");
	host_message(buf);
	return -1;
}

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
		return fail("cannot write /proc/self/setgroups", errno, NULL);
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) < 0)
		return fail("cannot write /proc/self/uid_map", errno, NULL);
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
	if (write_file("/proc/self/gid_map", map) < 0)
		return fail("cannot write /proc/self/gid_map", errno, NULL);
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
		return fail("cannot create mount, network and PID namespaces",
			    errno, NULL);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail("cannot make / a private mount", errno, NULL);
	/* Shared again, but now only among our own mounts: what is mounted
	 * here later reaches the mount namespaces kept for commands (slaves
	 * of ours, exec_mntns.c), never the caller's. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL) < 0)
		return fail("cannot make / a shared mount", errno, NULL);
	if (mount("nslab-run", "/run", "tmpfs", MS_NOSUID | MS_NODEV,
		  "mode=0755") < 0)
		return fail("cannot mount a tmpfs on /run", errno, NULL);
	if (mkdir(NSLAB_NETNS_DIR, 0755) < 0 || mkdir(NSLAB_RUN_DIR, 0755) < 0)
		return fail("cannot create /run/netns and /run/nslab", errno,
			    NULL);
	/* Where the host's sysfs is partly hidden (containers mask parts of
	 * it), the kernel refuses a new one (EPERM): keep the old view. */
	if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0 &&
	    errno != EPERM)
		return fail("cannot mount sysfs on /sys", errno, NULL);
	if (lo_up() < 0)
		return fail("cannot set lo up", errno, NULL);
	return 0;
}

/* The parent's handler: passes a signal on to the worker. */
static void forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	/* The terminal signals its whole foreground process group, the
	 * worker included: pass on only what was sent to us by kill(2). */
	if (si->si_code <= 0 && fwd_pid > 0)
		kill((pid_t)fwd_pid, sig);
}

static void set_handlers(void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if (fn) {
		sa.sa_sigaction = fn;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
	} else {
		sa.sa_handler = SIG_DFL;
	}
	for (size_t i = 0; i < NFWD; i++)
		sigaction(fwd_sigs[i], &sa, NULL);
}

/*
 * The PID namespace's init: with default dispositions every signal but
 * SIGKILL is ignored (pid_namespaces(7)); reaps orphans until the parent
 * kills it, or dies with the parent (PR_SET_PDEATHSIG). alive is the read
 * end of a pipe whose write end only the parent holds: EOF means the
 * parent died before PDEATHSIG was armed.
 */
static void init_loop(int alive)
{
	sigset_t chld;
	char c;
	int fd;

	set_handlers(NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || read(alive, &c, 1) == 0)
		_exit(1);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; fd >= 0 && i < 3; i++)
		dup2(fd, i);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_SETMASK, &chld, NULL);
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sigwaitinfo(&chld, NULL);
	}
}

/* Makes the caller's process group the terminal's foreground group; a
 * background group may, with SIGTTOU blocked (tcsetpgrp(3)). */
static void take_tty(void)
{
	sigset_t ttou, old;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	tcsetpgrp(0, getpgrp());
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* The parent, once the worker has ended: exits as it did. */
static void __attribute__((noreturn)) finish(pid_t init, int status)
{
	if (fg_tty)
		take_tty();
	kill(init, SIGKILL); /* the kernel kills what is left */
	while (waitpid(init, NULL, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		struct rlimit nocore = {0, 0};
		sigset_t s;

		setrlimit(RLIMIT_CORE, &nocore); /* the worker dumped it */
		signal(sig, SIG_DFL);
		sigemptyset(&s);
		sigaddset(&s, sig);
		sigprocmask(SIG_UNBLOCK, &s, NULL);
		raise(sig);
		_exit(128 + sig);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/*
 * Forks init and the worker into the new PID namespace. Returns 0 in the
 * worker (with /proc of the new namespace mounted), or execs argv there
 * when argv is not NULL; the parent never returns. -1 after printing why.
 */
static int run_pidns(char **argv)
{
	sigset_t block, old;
	pid_t init, worker;
	int alive[2], status, err;

	sigemptyset(&block);
	for (size_t i = 0; i < NFWD; i++)
		sigaddset(&block, fwd_sigs[i]);
	if (pipe2(alive, O_CLOEXEC | O_NONBLOCK) < 0)
		return fail("cannot create a pipe", errno, NULL);
	/* Our process group is outside the new PID namespace, where the
	 * worker would see it as 0 and could never hand the terminal to its
	 * commands (the REPL's node commands, exec with capture=false): the
	 * worker leads a group of its own and takes the terminal if we had
	 * it; finish() takes it back. */
	fg_tty = isatty(0) && tcgetpgrp(0) == getpgrp();
	sigprocmask(SIG_BLOCK, &block, &old);
	set_handlers(forward);
	init = fork();
	if (init == 0) {
		close(alive[1]);
		init_loop(alive[0]);
	}
	worker = init < 0 ? -1 : fork();
	err = errno;
	if (worker == 0) {
		close(alive[0]);
		close(alive[1]);
		set_handlers(NULL);
		if (fg_tty && setpgid(0, 0) == 0) {
			take_tty();
			/* A stopped worker would keep the terminal from the
			 * shell, which waits on our parent: no job control. */
			signal(SIGTSTP, SIG_IGN);
		}
		sigprocmask(SIG_SETMASK, &old, NULL);
		/* EPERM as for sysfs: /proc then lists outside processes. */
		if (mount("proc", "/proc", "proc",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 &&
		    errno != EPERM)
			return fail("cannot mount /proc", errno, NULL);
		if (!argv)
			return 0;
		execvp(argv[0], argv);
		fail(argv[0], errno, NULL);
		_exit(127);
	}
	close(alive[0]);
	if (worker < 0) {
		if (init > 0)
			finish(init, W_EXITCODE(1, 0));
		set_handlers(NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return fail("cannot fork", err, NULL);
	}
	fwd_pid = worker;
	sigprocmask(SIG_SETMASK, &old, NULL);
	while (waitpid(worker, &status, 0) < 0)
		if (errno != EINTR) {
			fail("waitpid", errno, NULL);
			status = W_EXITCODE(1, 0);
			break;
		}
	finish(init, status);
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
		return fail("cannot create a user namespace", err, hint);
	}
	if (userns && userns_map(uid, gid) < 0)
		return -1;
	/* The sandbox's own hostname and System V IPC: a spec that sets
	 * kernel.hostname or makes a message queue leaves the machine's. */
	if (sandbox && unshare(CLONE_NEWUTS | CLONE_NEWIPC) < 0)
		return fail("cannot create UTS and IPC namespaces", errno,
			    NULL);
	if (isolate() < 0 || (sandbox && private_etc() < 0))
		return -1;
	return run_pidns(argv);
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
		return fail("cannot create the /etc overlay's layers", errno,
			    NULL);
	if (mount("nslab-etc", "/etc", "overlay", 0, opts) < 0)
		return fail("cannot put an overlay on /etc", errno, NULL);
	return 0;
}

int rootless_pid1(void)
{
	sigset_t block, old;
	pid_t worker, pid;
	int status;

	if (getpid() != 1)
		return 0;
	sigemptyset(&block);
	for (size_t i = 0; i < NFWD; i++)
		sigaddset(&block, fwd_sigs[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	set_handlers(forward);
	worker = fork();
	if (worker <= 0) {
		/* the child, or no child: nslab goes on (as PID 1 then) */
		set_handlers(NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (worker < 0)
			host_message("cannot fork an init to run as PID 1: "
				     "orphans will not be reaped");
		return 0;
	}
	fwd_pid = worker;
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid == worker)
			break;
		if (pid < 0 && errno != EINTR)
			_exit(1); /* ECHILD: cannot happen while worker lives */
	}
	/* PID 1 cannot die of a signal it sends itself: say it by status. */
	_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status)
	      : WIFEXITED(status) ? WEXITSTATUS(status)
				  : 1);
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
