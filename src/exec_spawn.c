/*
 * exec_spawn.c - starting a command inside a network namespace exactly as
 * `ip netns exec` does, and signalling and reaping it race-free.
 *
 * The child (a plain fork: the host is single-threaded, and correctness
 * first) enters the netns with setns, then a private mount namespace
 * (unshare(CLONE_NEWNS)) whose / is a recursive slave, so nothing it mounts
 * reaches nslab; it replaces /sys with a sysfs of the new netns (so
 * /sys/class/net lists that namespace's links, pitfall P3), read-only if
 * the old one was, and binds each /etc/netns/NAME/FILE over /etc/FILE.
 * Then its own process group, fds 0-2 only, cwd, credentials, capabilities,
 * PR_SET_PDEATHSIG, execvpe. A failing step writes errno and the step's
 * name into a close-on-exec pipe; end of file on it means execve worked.
 *
 * Syscalls: fork, setns(2), unshare(2), mount(2), umount2(2), statvfs(3),
 * setpgid(2), tcsetpgrp(3), close_range(2), prctl(PR_SET_PDEATHSIG),
 * execvpe(3), pidfd_open(2), pidfd_send_signal(2), waitid(P_PIDFD).
 * Read: ip-netns(8), mount_namespaces(7), sysfs(5), pidfd_open(2).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* In the child: reports the failing step to the parent and exits. */
__attribute__((noreturn, format(printf, 3, 4))) static void
child_fail(int errfd, int err, const char *fmt, ...)
{
	struct exec_fail f;
	va_list ap;

	memset(&f, 0, sizeof(f));
	f.err = err;
	va_start(ap, fmt);
	/* va_start is just above: the analyzer misreads the attributes. */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	vsnprintf(f.step, sizeof(f.step), fmt, ap);
	va_end(ap);
	/* A short write cannot happen: the record is below PIPE_BUF. */
	if (write(errfd, &f, sizeof(f)) < 0)
		_exit(126);
	_exit(127);
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
		child_fail(errfd, errno, "open %s", dir);
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(src, sizeof(src), "%s/%s", dir, e->d_name);
		snprintf(dst, sizeof(dst), "/etc/%s", e->d_name);
		if (mount(src, dst, "none", MS_BIND, NULL) < 0)
			child_fail(errfd, errno, "bind %s on %s", src, dst);
	}
	closedir(d);
}

/* The mount half of ip netns exec, after setns. */
static void child_mounts(int errfd, const char *netns)
{
	unsigned long flags = 0;
	struct statvfs sv;

	if (unshare(CLONE_NEWNS) < 0)
		child_fail(errfd, errno, "unshare mount namespace");
	/* Slave, not private: mounts made later by the host (a new netns
	 * under /run/netns) still show, ours never go back. */
	if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) < 0)
		child_fail(errfd, errno, "make / a recursive slave mount");
	if (statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY))
		flags = MS_RDONLY;
	/* Failing is fine: /sys may not have been mounted at all. */
	umount2("/sys", MNT_DETACH);
	if (mount(netns, "/sys", "sysfs", flags, NULL) < 0)
		child_fail(errfd, errno, "mount sysfs on /sys");
	child_bind_etc(errfd, netns);
}

/* Makes s->fd[i] the child's fd i (moving them above 2 first so that
 * one landing on 0..2 is not overwritten), then marks every other fd
 * close-on-exec: the program gets 0, 1 and 2 only. */
static void child_fds(int errfd, const struct exec_spec *s)
{
	int tmp[3];

	for (int i = 0; i < 3; i++) {
		tmp[i] = -1;
		if (s->fd[i] >= 0 &&
		    (tmp[i] = fcntl(s->fd[i], F_DUPFD_CLOEXEC, 3)) < 0)
			child_fail(errfd, errno, "set up fd %d", i);
	}
	for (int i = 0; i < 3; i++)
		if (tmp[i] >= 0 && dup2(tmp[i], i) < 0)
			child_fail(errfd, errno, "set up fd %d", i);
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		child_fail(errfd, errno, "mark fds close-on-exec");
}

__attribute__((noreturn)) static void child(const struct exec_spec *s,
					    int errfd, pid_t parent)
{
	const char *step = NULL;
	sigset_t none, ttou;

	setpgid(0, 0);
	if (s->foreground) {
		/* A background group calling tcsetpgrp gets SIGTTOU. */
		sigemptyset(&ttou);
		sigaddset(&ttou, SIGTTOU);
		sigprocmask(SIG_BLOCK, &ttou, NULL);
		tcsetpgrp(0, getpid());
	}
	if (s->nsfd >= 0) {
		if (setns(s->nsfd, CLONE_NEWNET) < 0)
			child_fail(errfd, errno, "setns");
		child_mounts(errfd, s->netns);
	}
	child_fds(errfd, s);
	if (s->cwd && chdir(s->cwd) < 0)
		child_fail(errfd, errno, "chdir %s", s->cwd);
	if (s->drop_caps && caps_drop_bounding() < 0)
		child_fail(errfd, errno, "drop bounding capabilities");
	if (s->set_user &&
	    caps_switch_user(s->uid, s->gid, s->groups, s->ngroups, &step) < 0)
		child_fail(errfd, errno, "%s to uid %u gid %u", step,
			   (unsigned)s->uid, (unsigned)s->gid);
	if (s->drop_caps && caps_clear(&step) < 0)
		child_fail(errfd, errno, "%s", step);
	/* After the credential change, which resets the death signal. */
	if (!s->no_pdeathsig && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(errfd, errno, "set parent death signal");
	if (!s->no_pdeathsig && getppid() != parent)
		_exit(127); /* nslab died before the line above */
	/* The host's handlers would be reset by execve; SIGPIPE may be
	 * ignored by whoever started nslab, and programs expect it not. */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvpe(s->argv[0], s->argv, s->envp);
	child_fail(errfd, errno, "%s", "");
}

void exec_signal(pid_t pid, int pidfd, int sig)
{
	if (pidfd >= 0)
		pidfd_send_signal(pidfd, sig);
	if (pid > 0)
		kill(-pid, sig); /* ESRCH when the group is empty: fine */
}

int exec_reap(int pidfd, int *code, int *sig)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0)
		if (errno != EINTR)
			return -1;
	*code = si.si_code == CLD_EXITED ? si.si_status : -1;
	*sig = si.si_code == CLD_EXITED ? 0 : si.si_status;
	return 0;
}

/* Reads the child's report; returns 1 with f filled, 0 at end of file. */
static int read_fail(int fd, struct exec_fail *f)
{
	ssize_t r;

	/* EINTR: the child is about to exec or fail, keep reading; the
	 * host's hook acts on the signal right after. */
	while ((r = read(fd, f, sizeof(*f))) < 0 && errno == EINTR)
		;
	if (r == (ssize_t)sizeof(*f))
		return 1;
	if (r < 0) {
		f->err = errno;
		snprintf(f->step, sizeof(f->step), "read start report");
		return 1;
	}
	return 0;
}

int exec_start(const struct exec_spec *s, pid_t *pid, int *pidfd,
	       struct exec_fail *f)
{
	pid_t parent = getpid(), p;
	int pfd[2], code, sig, fd;

	memset(f, 0, sizeof(*f));
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		f->err = errno;
		snprintf(f->step, sizeof(f->step), "pipe");
		return -1;
	}
	p = fork();
	if (p == 0) {
		close(pfd[0]);
		child(s, pfd[1], parent);
	}
	f->err = errno;
	close(pfd[1]);
	if (p < 0) {
		close(pfd[0]);
		snprintf(f->step, sizeof(f->step), "fork");
		return -1;
	}
	/* As shells do, from both sides: whichever runs first wins, and
	 * a kill of the group cannot miss the child. */
	setpgid(p, p);
	/* Race-free: an unreaped child keeps its pid. */
	fd = pidfd_open(p);
	if (fd < 0) {
		f->err = errno;
		snprintf(f->step, sizeof(f->step), "pidfd_open");
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		close(pfd[0]);
		return -1;
	}
	if (read_fail(pfd[0], f)) {
		close(pfd[0]);
		exec_signal(p, fd, SIGKILL);
		exec_reap(fd, &code, &sig);
		close(fd);
		return -1;
	}
	close(pfd[0]);
	*pid = p;
	*pidfd = fd;
	return 0;
}
