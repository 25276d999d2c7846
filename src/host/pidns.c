/*
 * pidns.c - the processes on either side of the PID namespace rootless.c
 * makes: the original process (the parent) stays outside, waits for the
 * worker and exits with its status or dies of its signal; the first child
 * is the namespace's init (reaps orphans, ignores signals); the second
 * child, the worker, runs Lua (or the sandbox's command). When the worker
 * ends, the parent kills init, and the kernel kills every process left in
 * the namespace. Also the tiny init nslab keeps when it starts as PID 1.
 *
 * Syscalls: fork, waitpid, prctl(PR_SET_PDEATHSIG), sigaction (SA_SIGINFO,
 * passing on only what kill(2) sent), tcsetpgrp(3), mount(2) (proc).
 * Read: pid_namespaces(7), credentials(7) (process groups), signal(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/host.h"
#include "host/pidns.h"

/* Signals the parent passes on to the worker. */
static const int fwd_sigs[] = {SIGINT,	SIGTERM, SIGHUP,
			       SIGQUIT, SIGUSR1, SIGUSR2};
#define NFWD (sizeof(fwd_sigs) / sizeof(fwd_sigs[0]))

static volatile sig_atomic_t fwd_pid;
static int fg_tty; /* we had the terminal when the worker was forked */

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

int pidns_run(char **argv)
{
	sigset_t block, old;
	pid_t init, worker;
	int alive[2], status, err;

	sigemptyset(&block);
	for (size_t i = 0; i < NFWD; i++)
		sigaddset(&block, fwd_sigs[i]);
	if (pipe2(alive, O_CLOEXEC | O_NONBLOCK) < 0)
		return host_fail("cannot create a pipe", errno, NULL);
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
			return host_fail("cannot mount /proc", errno, NULL);
		if (!argv)
			return 0;
		execvp(argv[0], argv);
		host_fail(argv[0], errno, NULL);
		_exit(127);
	}
	close(alive[0]);
	if (worker < 0) {
		if (init > 0)
			finish(init, W_EXITCODE(1, 0));
		set_handlers(NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return host_fail("cannot fork", err, NULL);
	}
	fwd_pid = worker;
	sigprocmask(SIG_SETMASK, &old, NULL);
	while (waitpid(worker, &status, 0) < 0)
		if (errno != EINTR) {
			host_fail("waitpid", errno, NULL);
			status = W_EXITCODE(1, 0);
			break;
		}
	finish(init, status);
}

int pidns_pid1(void)
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
