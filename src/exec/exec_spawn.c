/*
 * exec_spawn.c - starting a command inside a network namespace exactly as
 * `ip netns exec` does, and signalling and reaping it race-free.
 *
 * The child (started as posix_spawn(3) does, see spawn_child) enters the
 * netns with setns, then the mount namespace kept for that netns (made
 * by exec_mntns, exec_mntns.c). setns into a mount namespace moves the
 * working directory to its root, so the child goes back to nslab's (by
 * path, else by an fd opened before). Then its own process group, fds
 * 0-2 only, cwd, credentials, capabilities, nslab's original
 * RLIMIT_NOFILE, PR_SET_PDEATHSIG, execvpe. A failing step writes errno
 * and the step's name into a close-on-exec pipe (exec_child_fail); end of
 * file on it means execve worked.
 *
 * Syscalls: clone(2) (CLONE_VM|CLONE_VFORK), setns(2), setrlimit(2),
 * setpgid(2), tcsetpgrp(3), close_range(2), prctl(PR_SET_PDEATHSIG),
 * execvpe(3), pidfd_open(2), pidfd_send_signal(2), waitid(P_PIDFD).
 * Read: ip-netns(8), pidfd_open(2), clone(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/exec.h"
#include "core/caps.h"
#include "core/core.h"

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

void exec_child_fail(int errfd, int err, const char *fmt, ...)
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
			exec_child_fail(errfd, errno, "set up fd %d", i);
	}
	for (int i = 0; i < 3; i++)
		if (tmp[i] >= 0 && dup2(tmp[i], i) < 0)
			exec_child_fail(errfd, errno, "set up fd %d", i);
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		exec_child_fail(errfd, errno, "mark fds close-on-exec");
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
		/* Before setns moves the cwd to the namespace's root. */
		int here =
		    s->cwd ? -1 : open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (setns(s->nsfd, CLONE_NEWNET) < 0)
			exec_child_fail(errfd, errno, "setns");
		if (setns(s->mntfd, CLONE_NEWNS) < 0)
			exec_child_fail(errfd, errno,
					"enter the mount namespace of netns %s",
					s->netns);
		if (s->utsfd >= 0 && setns(s->utsfd, CLONE_NEWUTS) < 0)
			exec_child_fail(errfd, errno,
					"enter the UTS namespace of netns %s",
					s->netns);
		if (s->ipcfd >= 0 && setns(s->ipcfd, CLONE_NEWIPC) < 0)
			exec_child_fail(errfd, errno,
					"enter the IPC namespace of netns %s",
					s->netns);
		if (s->timefd >= 0 && setns(s->timefd, CLONE_NEWTIME) < 0)
			exec_child_fail(errfd, errno,
					"enter the time namespace of netns %s",
					s->netns);
		if (s->cgfd >= 0 && write(s->cgfd, "0", 1) < 0)
			exec_child_fail(errfd, errno,
					"join the cgroup of netns %s",
					s->netns);
		/* The path first, so getcwd(3) in the command is reachable
		 * from its root; else the same directory by fd. */
		if (!s->cwd && !(s->here && chdir(s->here) == 0) && here >= 0 &&
		    fchdir(here) < 0)
			exec_child_fail(errfd, errno, "return to the cwd %s",
					s->here ? s->here : ".");
	}
	child_fds(errfd, s);
	if (s->cwd && chdir(s->cwd) < 0)
		exec_child_fail(errfd, errno, "chdir %s", s->cwd);
	if (s->nofile && setrlimit(RLIMIT_NOFILE, s->nofile) < 0)
		exec_child_fail(errfd, errno, "restore RLIMIT_NOFILE");
	if (s->drop_caps && caps_drop_bounding() < 0)
		exec_child_fail(errfd, errno, "drop bounding capabilities");
	if (s->set_user &&
	    caps_switch_user(s->uid, s->gid, s->groups, s->ngroups, &step) < 0)
		exec_child_fail(errfd, errno, "%s to uid %u gid %u", step,
				(unsigned)s->uid, (unsigned)s->gid);
	if (s->drop_caps && caps_clear(&step) < 0)
		exec_child_fail(errfd, errno, "%s", step);
	/* After the credential change, which resets the death signal. */
	if (!s->no_pdeathsig && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		exec_child_fail(errfd, errno, "set parent death signal");
	/* nslab died before the line above? In the node's PID namespace
	 * nslab, outside it, is pid 0 (an orphan's parent would be 1). */
	if (!s->no_pdeathsig && getppid() != (s->pidnsfd >= 0 ? 0 : parent))
		_exit(127);
	/* The host's handlers would be reset by execve; SIGPIPE may be
	 * ignored by whoever started nslab, and programs expect it not. */
	signal(SIGPIPE, SIG_DFL);
	/* nslab has no job control: a foreground command stopped by Ctrl-Z
	 * would keep the terminal while nslab waits for it to end. Ignored
	 * here, Ctrl-Z does nothing (a shell run this way may take it back
	 * for its own jobs). Others get the default, whatever nslab has. */
	signal(SIGTSTP, s->foreground ? SIG_IGN : SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvpe(s->argv[0], s->argv, s->envp);
	exec_child_fail(errfd, errno, "%s", "");
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

struct child_args {
	const struct exec_spec *s;
	int errfd;
	pid_t parent;
	sigset_t mask; /* nslab's, for the child to start from */
};

/* The clone entry: runs on its own stack in nslab's memory. */
static int child_entry(void *arg)
{
	struct child_args *a = arg;
	struct sigaction dfl, old;

	/* A handler of nslab's run here would change nslab's memory: take
	 * the default for every handled signal before unblocking any. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, NULL, &old) == 0 &&
		    old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
			sigaction(sig, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &a->mask, NULL);
	child(a->s, a->errfd, a->parent);
}

#define CHILD_STACK ((size_t)256 * 1024)

/*
 * Starts the child as posix_spawn(3) does: clone(CLONE_VM|CLONE_VFORK)
 * on a stack of its own, so nslab's page tables are not copied (a fork
 * of nslab cost 0.1-0.3 ms more than exec itself) and nslab waits until
 * the child has called execve or exited. Every signal stays blocked
 * meanwhile. A child that enters a time namespace is a copy (a fork):
 * setns(CLONE_NEWTIME) refuses a process sharing its memory (EUSERS).
 * Returns the pid or -1 with errno set.
 */
static pid_t spawn_child(const struct exec_spec *s, int errfd, pid_t parent)
{
	struct child_args a = {s, errfd, parent, {{0}}};
	sigset_t all;
	void *stack;
	pid_t p;
	int err;

	stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -1;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &a.mask);
	p = clone(child_entry, (char *)stack + CHILD_STACK,
		  (s->timefd >= 0 ? 0 : CLONE_VM | CLONE_VFORK) | SIGCHLD, &a);
	err = errno;
	sigprocmask(SIG_SETMASK, &a.mask, NULL);
	munmap(stack, CHILD_STACK);
	errno = err;
	return p;
}

/*
 * spawn_child, in the node's PID namespace when s->pidnsfd is set: nslab's
 * pid_for_children switched there for the clone, then back to its own
 * (setns(2) allows both: the node's lies below nslab's). Returns the pid,
 * or -1 with f filled.
 */
static pid_t spawn_in_pidns(const struct exec_spec *s, int errfd, pid_t parent,
			    struct exec_fail *f)
{
	int self = -1, err;
	pid_t p;

	if (s->pidnsfd >= 0) {
		self = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (self < 0 || setns(s->pidnsfd, CLONE_NEWPID) < 0) {
			f->err = errno;
			snprintf(f->step, sizeof(f->step),
				 "enter the PID namespace of netns %s",
				 s->netns);
			if (self >= 0)
				close(self);
			return -1;
		}
	}
	p = spawn_child(s, errfd, parent);
	err = errno;
	if (self >= 0) {
		/* Cannot fail: our own namespace; if it did, every later
		 * child would land in the node's: stop there. */
		if (setns(self, CLONE_NEWPID) < 0)
			abort();
		close(self);
	}
	if (p < 0) {
		f->err = err;
		snprintf(f->step, sizeof(f->step), "clone%s",
			 err == ENOMEM && s->pidnsfd >= 0
			     ? " into the node's PID namespace (its init has "
			       "ended?)"
			     : "");
	}
	return p;
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
	p = spawn_in_pidns(s, pfd[1], parent, f);
	close(pfd[1]);
	if (p < 0) {
		close(pfd[0]);
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
