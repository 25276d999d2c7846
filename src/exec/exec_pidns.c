/*
 * exec_pidns.c - a node's own PID namespace (pid = true): its init, and
 * the /proc of that namespace in the node's mount namespace.
 *
 * The init is a copy of nslab (clone3 with CLONE_NEWPID, as fork) that
 * becomes pid 1 of the new namespace: it enters the node's netns (so a
 * lab's close and `nslab --clean`, which end every process of the lab's
 * namespaces, end it too), leads its own process group, reaps whatever
 * the kernel hands it (orphans of the node's commands) and exits on
 * SIGTERM, SIGINT or SIGHUP. As pid 1 it gets no other signal from inside
 * its namespace; when it exits, the kernel kills every process left there
 * and refuses new ones (fork fails with ENOMEM). It is a proc of nslab
 * (exec.c), owned by the lab like a spawned command.
 *
 * Commands join the namespace as the first process they are: nslab
 * switches its pid_for_children there around the clone (exec_spawn.c),
 * which setns(2) allows for a namespace below one's own, rootless too.
 * /proc, to show the node's processes only, is mounted by a process of
 * that namespace in the mount namespace exec_mntns.c makes.
 *
 * Syscalls: clone3(2) (CLONE_NEWPID, CLONE_PIDFD), setns(2), setpgid(2),
 * prctl(PR_SET_NAME), sigsuspend(2), waitpid(2), mount(2) (proc).
 * Read: pid_namespaces(7), proc(5).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/exec.h"

static void init_exit(int sig)
{
	(void)sig;
	_exit(0);
}

static void init_wake(int sig)
{
	(void)sig;
}

/* setns(fd, flag) when fd is set; exec_child_fail naming what otherwise. */
static void join(int errfd, int fd, int flag, const char *what)
{
	if (fd >= 0 && setns(fd, flag) < 0)
		exec_child_fail(errfd, errno, "enter the node's %s", what);
}

/*
 * The init, after the clone: pid 1 of the new namespace. Joins the node's
 * namespaces and cgroup, then the mount namespace nslab sends on sock
 * once made (so that `nsenter --target PID --all` with its pid enters
 * the whole node). Reports a failing step on errfd (exec_child_fail); end
 * of file on it (closed by close_range) means it runs. Never returns.
 */
__attribute__((noreturn)) static void init_main(const struct nl_conn *c,
						int errfd, int sock)
{
	struct exec_fail f = {0};
	struct sigaction sa;
	sigset_t all, none;
	int fd;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL); /* nslab's handlers are not ours */
	sa.sa_handler = init_exit;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A handler, not the default (ignore), so that sigsuspend returns
	 * for each child that ends. */
	sa.sa_handler = init_wake;
	sigaction(SIGCHLD, &sa, NULL);
	setpgid(0, 0);
	prctl(PR_SET_NAME, "nslab-init");
	join(errfd, c->nsfd, CLONE_NEWNET, "netns");
	join(errfd, c->utsfd, CLONE_NEWUTS, "UTS namespace");
	join(errfd, c->ipcfd, CLONE_NEWIPC, "IPC namespace");
	join(errfd, c->timefd, CLONE_NEWTIME, "time namespace");
	if (c->cgfd >= 0 && write(c->cgfd, "0", 1) < 0)
		exec_child_fail(errfd, errno, "join the node's cgroup");
	if (exec_recv_fds(sock, &fd, 1, &f) < 0)
		exec_child_fail(errfd, f.err, "%s", f.step);
	join(errfd, fd, CLONE_NEWNS, "mount namespace");
	if (chdir("/") < 0)
		exec_child_fail(errfd, errno, "chdir /");
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3; i++)
		if (fd < 0 || dup2(fd, i) < 0)
			exec_child_fail(errfd, errno, "open /dev/null");
	close_range(3, ~0U, 0); /* errfd too: nslab reads end of file */
	sigemptyset(&none);
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sigsuspend(&none); /* SIGCHLD blocked until here: none lost */
	}
}

/* Kills and reaps the init p that failed to start, closing its fds. */
static void init_abort(pid_t p, int pidfd)
{
	kill(p, SIGKILL);
	while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
		;
	close(pidfd);
}

/* The PID namespace of p and the node's mount namespace with its /proc,
 * sent to the init on sock; returns 0 or -1 with f filled (c->pidnsfd
 * then back to -1). */
static int init_mounts(struct nl_conn *c, const char *netns, pid_t p, int sock,
		       struct exec_fail *f)
{
	char path[64];
	int mnt;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)p);
	c->pidnsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->pidnsfd < 0) {
		f->err = errno;
		snprintf(f->step, sizeof(f->step), "open %s", path);
		return -1;
	}
	if (c->mntfd >= 0)
		close(c->mntfd);
	c->mntfd = -1;
	mnt = exec_mntns(c, netns, f);
	if (mnt < 0 || exec_send_fds(sock, &mnt, 1, f) < 0) {
		if (mnt >= 0) {
			f->err = errno;
			snprintf(f->step, sizeof(f->step),
				 "send the mount namespace to the init");
		}
		close(c->pidnsfd);
		c->pidnsfd = -1;
		return -1;
	}
	return 0;
}

int exec_pidns_init(struct nl_conn *c, const char *netns, pid_t *pid,
		    int *pidfd, struct exec_fail *f)
{
	struct clone_args args;
	struct exec_fail r = {0};
	int pfd[2], sv[2], fd = -1;
	ssize_t n;
	pid_t p;

	memset(f, 0, sizeof(*f));
	memset(&args, 0, sizeof(args));
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		f->err = errno;
		snprintf(f->step, sizeof(f->step), "pipe");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		f->err = errno;
		snprintf(f->step, sizeof(f->step), "socketpair");
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	args.flags = CLONE_NEWPID | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)&fd;
	args.exit_signal = SIGCHLD;
	p = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (p == 0) {
		close(pfd[0]);
		close(sv[0]);
		init_main(c, pfd[1], sv[1]);
	}
	f->err = errno;
	close(pfd[1]);
	close(sv[1]);
	if (p < 0) {
		close(pfd[0]);
		close(sv[0]);
		snprintf(f->step, sizeof(f->step),
			 "clone3 a PID namespace for netns %s", netns);
		return -1;
	}
	if (init_mounts(c, netns, p, sv[0], f) < 0) {
		close(sv[0]);
		close(pfd[0]);
		init_abort(p, fd);
		return -1;
	}
	close(sv[0]);
	while ((n = read(pfd[0], &r, sizeof(r))) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	if (n != 0) {
		*f = r;
		if (n != (ssize_t)sizeof(r)) {
			f->err = n < 0 ? errno : EPROTO;
			snprintf(f->step, sizeof(f->step),
				 "read the start report of the init");
		}
		close(c->pidnsfd);
		c->pidnsfd = -1;
		init_abort(p, fd);
		return -1;
	}
	*pid = p;
	*pidfd = fd;
	return 0;
}
