/*
 * nl_probe.c - asking the kernel whether it has a feature without leaving
 * a trace: the request runs in a brand-new network namespace of the
 * calling thread, which dies with its socket, then the thread returns to
 * nslab's own namespace. link.kind_available and tc.available use it.
 *
 * Syscalls: unshare(2) CLONE_NEWNET, setns(2). Read: rtnetlink(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include "nl/nl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

int nl_probe(struct nl_cache *st, void *buf, size_t len, struct nl_err *e)
{
	struct nl_conn c = {.nsfd = -1, .seq = 1};
	int one = 1, r = -1, saved;

	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	c.nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (c.nl) {
		mnl_socket_setsockopt(c.nl, NETLINK_EXT_ACK, &one, sizeof(one));
		if (mnl_socket_bind(c.nl, 0, MNL_SOCKET_AUTOPID) == 0) {
			e->err = 0;
			e->index = -1;
			e->ext[0] = 0;
			if (nl_run(&c, buf, len, NULL, NULL, e) == 0 ||
			    e->index >= 0)
				r = 0;
		}
	}
	saved = errno;
	if (c.nl)
		mnl_socket_close(c.nl);
	nl_leave(st);
	errno = saved;
	return r;
}
