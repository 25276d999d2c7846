/*
 * exec_child.c - the short-lived helper children of exec: a child started
 * as a fork, or sharing nslab's memory (clone with CLONE_VM), that does
 * its work in other namespaces and sends back what it made (namespace
 * fds, a hosts file) over a socketpair with SCM_RIGHTS, with an exec_fail
 * report; and the step joining a node's PID namespace (a fork there that
 * mounts its /proc). Below exec_mntns.c, exec_node.c and exec_pidns.c,
 * which give the children their work.
 *
 * Syscalls: fork(2), clone(2), socketpair(2), sendmsg(2)/recvmsg(2) with
 * SCM_RIGHTS (unix(7)), setns(2), mount(2). Read: pid_namespaces(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/exec.h"

int exec_send_fds(int sock, const int *fds, int n, const struct exec_fail *f)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {(void *)f, sizeof(*f)};
	struct msghdr m;
	struct cmsghdr *cm;

	memset(&m, 0, sizeof(m));
	memset(&u, 0, sizeof(u));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, (size_t)n * sizeof(int));
	return sendmsg(sock, &m, 0) < 0 ? -1 : 0;
}

int exec_recv_fds(int sock, int *fds, int n, struct exec_fail *f)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {f, sizeof(*f)};
	struct msghdr m;
	struct cmsghdr *cm;
	ssize_t r;
	int got = 0;

	for (int i = 0; i < n; i++)
		fds[i] = -1;
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	while ((r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	for (cm = r > 0 ? CMSG_FIRSTHDR(&m) : NULL; cm;
	     cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS) {
			got = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(cm),
			       (size_t)(got < n ? got : n) * sizeof(int));
			/* more than asked for: a bug, but none may leak */
			for (int i = n; i < got && i < 2; i++) {
				int extra;

				memcpy(&extra, CMSG_DATA(cm) + i * sizeof(int),
				       sizeof(int));
				close(extra);
			}
		}
	if (r == (ssize_t)sizeof(*f) && f->err == 0 && got >= 1 && got <= n)
		return 0;
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (r != (ssize_t)sizeof(*f)) {
		f->err = r < 0 ? errno : EPROTO;
		snprintf(f->step, sizeof(f->step),
			 "read the namespace made for netns");
	}
	return -1;
}

struct child_job {
	int (*work)(int sock, void *arg);
	void *arg;
	int sock, other; /* the child's end, and ours it closes (-1: none) */
};

static int child_entry(void *arg)
{
	const struct child_job *j = arg;

	if (j->other >= 0) /* a fork's copy of our end */
		close(j->other);
	_exit(j->work(j->sock, j->arg) < 0 ? 126 : 0);
}

#define CHILD_STACK ((size_t)64 * 1024)

/*
 * Starts the helper child: a fork, or with share_vm a clone(CLONE_VM |
 * CLONE_FILES | CLONE_VFORK) on a stack of its own, which copies neither
 * nslab's page tables (a fork costs more the larger nslab is: 0.4 ms at
 * 3 MB, 6 ms at 150 MB) nor its fd table (three fds per node: 0.3 ms more
 * at 1000 nodes), and returns once the child has exited. Every signal
 * stays blocked in it. Returns the pid, or -1 with errno.
 */
static pid_t child_start(struct child_job *j, int share_vm)
{
	sigset_t all, old;
	void *stack;
	pid_t p;
	int err;

	if (!share_vm) {
		p = fork();
		if (p == 0)
			child_entry(j);
		return p;
	}
	stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -1;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	p = clone(child_entry, (char *)stack + CHILD_STACK,
		  CLONE_VM | CLONE_FILES | CLONE_VFORK | SIGCHLD, j);
	err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	munmap(stack, CHILD_STACK);
	errno = err;
	return p;
}

int exec_child_fds(int (*work)(int sock, void *arg), void *arg, int *fds, int n,
		   int share_vm, struct exec_fail *f)
{
	struct child_job j = {work, arg, -1, -1};
	int sv[2], status, r;
	pid_t p;

	memset(f, 0, sizeof(*f));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		f->err = errno;
		snprintf(f->step, sizeof(f->step), "socketpair");
		return -1;
	}
	j.sock = sv[1];
	j.other = share_vm ? -1 : sv[0];
	p = child_start(&j, share_vm);
	f->err = errno;
	close(sv[1]);
	if (p < 0) {
		close(sv[0]);
		snprintf(f->step, sizeof(f->step), "fork");
		return -1;
	}
	r = exec_recv_fds(sv[0], fds, n, f);
	close(sv[0]);
	while (waitpid(p, &status, 0) < 0 && errno == EINTR)
		;
	return r;
}

int exec_pidns_proc(int pidnsfd, int errfd)
{
	int status;
	pid_t p;

	if (setns(pidnsfd, CLONE_NEWPID) < 0)
		exec_child_fail(errfd, errno, "enter the node's PID namespace");
	p = fork();
	if (p == 0)
		_exit(mount("proc", "/proc", "proc",
			    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0
			  ? (errno & 0xff)
			  : 0);
	if (p < 0)
		exec_child_fail(errfd, errno,
				"fork into the node's PID namespace%s",
				errno == ENOMEM ? " (its init has ended)" : "");
	while (waitpid(p, &status, 0) < 0)
		if (errno != EINTR)
			exec_child_fail(errfd, errno, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		exec_child_fail(errfd,
				WIFEXITED(status) ? WEXITSTATUS(status) : EIO,
				"mount proc on /proc");
	return 0;
}
