/*
 * exec_uts.c - exec.uts: the UTS namespaces of many new lab nodes made
 * by one short-lived helper child, where exec.node (exec_node.c) starts
 * one child per node: lab:apply building a lab from a spec
 * (lua/nslab/build.lua). The child shares nslab's memory and fd table
 * (exec_child_fds, share_vm): for each node it unshares a UTS namespace,
 * names it and opens it, the fds landing in nslab's own table; each is
 * then kept in its netns's cache entry as exec.node keeps it (c->utsfd),
 * so commands join it alike.
 *
 * Syscalls: clone(2) (CLONE_VM|CLONE_FILES|CLONE_VFORK), unshare(2),
 * sethostname(2). Read: uts_namespaces(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "exec/exec.h"
#include "core/core.h"

#define HOSTNAME_MAX 64 /* HOST_NAME_MAX on Linux */

struct uts_job {
	int n;
	const char **names;
	size_t *lens;
	int *fds; /* -1 until made; nslab's fds (the table is shared) */
};

/* In the helper child: the namespaces, one after the other, each made
 * from the one before and named; then one fd sent to say all went. */
static int uts_work(int sock, void *arg)
{
	const struct uts_job *j = arg;
	struct exec_fail f = {0};

	for (int i = 0; i < j->n; i++) {
		if (unshare(CLONE_NEWUTS) < 0)
			exec_child_fail(sock, errno, "unshare UTS namespace");
		if (sethostname(j->names[i], j->lens[i]) < 0)
			exec_child_fail(sock, errno, "sethostname");
		j->fds[i] =
		    open("/proc/thread-self/ns/uts", O_RDONLY | O_CLOEXEC);
		if (j->fds[i] < 0)
			exec_child_fail(sock, errno,
					"open /proc/thread-self/ns/uts");
	}
	return exec_send_fds(sock, &j->fds[j->n - 1], 1, &f);
}

/*
 * exec.uts(netnses, hostnames): gives each netns (a name) a new UTS
 * namespace with the hostname of the same index (1..64 bytes), as
 * exec.node{hostname =} does one; a UTS namespace it had is replaced.
 * Raises the error object (ENOENT: no such netns; EINVAL: a bad hostname;
 * the child's failure), leaving every netns as it was.
 */
int l_exec_uts(lua_State *L)
{
	static const char op[] = "exec.uts";
	struct uts_job j;
	struct nl_conn **cs;
	struct exec_fail f;
	int got, n;

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checktype(L, 2, LUA_TTABLE);
	n = (int)luaL_len(L, 1);
	luaL_argcheck(L, luaL_len(L, 2) == n, 2, "one hostname per netns");
	if (n == 0)
		return 0;
	j.n = n;
	j.names = lua_newuserdatauv(L, (size_t)n * sizeof(*j.names), 0);
	j.lens = lua_newuserdatauv(L, (size_t)n * sizeof(*j.lens), 0);
	j.fds = lua_newuserdatauv(L, (size_t)n * sizeof(*j.fds), 0);
	cs = lua_newuserdatauv(L, (size_t)n * sizeof(struct nl_conn *), 0);
	for (int i = 0; i < n; i++) {
		const char *ns;

		lua_geti(L, 1, i + 1);
		ns = nslab_checkstr(L, -1, op, "netns");
		nslab_check_netns(L, op, ns);
		cs[i] = nslab_conn(L, op, ns, ns);
		lua_geti(L, 2, i + 1);
		j.names[i] = luaL_checklstring(L, -1, &j.lens[i]);
		if (j.lens[i] < 1 || j.lens[i] > HOSTNAME_MAX ||
		    memchr(j.names[i], 0, j.lens[i]))
			nslab_raise(L, op, ns, ns, EINVAL,
				    "hostname must be 1..64 bytes, no NUL");
		lua_pop(L, 2); /* the strings stay in the tables */
		j.fds[i] = -1;
	}
	if (exec_child_fds(uts_work, &j, &got, 1, 1, &f) < 0) {
		for (int i = 0; i < n; i++)
			if (j.fds[i] >= 0)
				close(j.fds[i]);
		return nslab_raise(L, op, NULL, NULL, f.err, f.step);
	}
	close(got); /* a copy of the last one */
	for (int i = 0; i < n; i++) {
		if (cs[i]->utsfd >= 0)
			close(cs[i]->utsfd);
		cs[i]->utsfd = j.fds[i];
	}
	return 0;
}
