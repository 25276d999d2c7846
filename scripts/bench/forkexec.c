/*
 * forkexec.c - the exec-latency baseline for scripts/bench/run.lua: runs a
 * command COUNT times, each a bare fork(2), execvp(3) in the child and
 * waitpid(2) in the parent, and prints the median and 90th percentile wall
 * time per run (CLOCK_MONOTONIC) as "median S p90 S". The same loop times
 * `true`, `ip netns exec NS true` and `nsenter --net=... true`, so the
 * launcher's own cost is the same for every row. With --setns PATH the
 * child enters that namespace (any kind: a netns, or a mount namespace kept
 * by a bind mount) with setns(2) before exec; repeat it for several, in
 * order. --setns /run/netns/NS alone is the least any tool can do (no
 * mount namespace, no sysfs).
 *
 * Build: cc -O2 -o build/bench-forkexec scripts/bench/forkexec.c
 * Usage: bench-forkexec COUNT [--setns PATH]... CMD [ARG...]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int count, nsfd[8], nns = 0, argi = 2, status;
	double *t, t0;
	pid_t pid;

	if (argc < 3 || (count = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: %s COUNT [--setns PATH]... CMD [ARG...]\n",
			argv[0]);
		return 2;
	}
	while (argi + 2 < argc && !strcmp(argv[argi], "--setns") && nns < 8) {
		nsfd[nns] = open(argv[argi + 1], O_RDONLY | O_CLOEXEC);
		if (nsfd[nns++] < 0) {
			perror(argv[argi + 1]);
			return 1;
		}
		argi += 2;
	}
	t = calloc((size_t)count, sizeof(*t));
	if (!t)
		return 1;
	for (int i = 0; i < count; i++) {
		t0 = now();
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			for (int k = 0; k < nns; k++)
				if (setns(nsfd[k], 0) < 0)
					_exit(126);
			execvp(argv[argi], argv + argi);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0) {
			perror("waitpid");
			return 1;
		}
		t[i] = now() - t0;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "%s: run %d failed (status %d)\n",
				argv[argi], i + 1, status);
			return 1;
		}
	}
	qsort(t, (size_t)count, sizeof(*t), cmp);
	printf("median %.9f p90 %.9f\n", t[count / 2], t[count * 9 / 10]);
	return 0;
}
