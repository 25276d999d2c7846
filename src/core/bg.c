/*
 * bg.c - background children: short work nslab need not wait for, done
 * by a forked child (link_retire.c: deleting a link, which the kernel
 * finishes only after an RCU grace period, some 20 ms). nslab keeps
 * their pids in its state and reaps them: those done, at the next
 * rtnetlink call (nslab_conn); all of them at nslab_bg_take (lab:close,
 * link.settle) and when the state is collected, so none outlives nslab's
 * own work. How many
 * ended, and how many failed, is counted from one take to the next.
 *
 * Syscalls: fork(2), sigprocmask(2), waitpid(2). Read: wait(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"

pid_t nslab_bg_fork(struct nslab_state *st)
{
	sigset_t all, old;
	pid_t p;
	int err;

	if (st->bg_len == st->bg_cap) {
		size_t cap = st->bg_cap ? st->bg_cap * 2 : 16;
		pid_t *t = realloc(st->bg, cap * sizeof(*t));

		if (!t)
			return -1;
		st->bg = t;
		st->bg_cap = cap;
	}
	/* Every signal stays blocked in the child: a Ctrl-C meant for
	 * nslab does not cut its work short, nor runs nslab's handlers. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	p = fork();
	err = errno;
	if (p != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	if (p > 0)
		st->bg[st->bg_len++] = p;
	errno = err;
	return p;
}

void nslab_bg_settle(struct nslab_state *st, int block)
{
	size_t keep = 0;

	for (size_t i = 0; i < st->bg_len; i++) {
		int status = 0;
		pid_t r;

		while ((r = waitpid(st->bg[i], &status, block ? 0 : WNOHANG)) <
			   0 &&
		       errno == EINTR)
			;
		if (r == 0) {
			st->bg[keep++] = st->bg[i];
			continue;
		}
		/* counted until nslab_bg_take: reaped early, not forgotten */
		st->bg_done++;
		if (r < 0 || !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			st->bg_failed++;
	}
	st->bg_len = keep;
}

int nslab_bg_take(struct nslab_state *st, int *failed)
{
	int n;

	nslab_bg_settle(st, 1);
	n = st->bg_done;
	*failed = st->bg_failed;
	st->bg_done = st->bg_failed = 0;
	return n;
}

void nslab_bg_free(struct nslab_state *st)
{
	nslab_bg_settle(st, 1);
	free(st->bg);
	st->bg = NULL;
	st->bg_cap = 0;
}
