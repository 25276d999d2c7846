/*
 * link_probe.c - link.kind_available: whether this kernel can make links
 * of a kind, asked by creating one ("probe") in a scratch network
 * namespace that dies with its socket.
 *
 * Syscalls: unshare(2) (CLONE_NEWNET), setns(2) back (nl_leave).
 * Netlink: RTM_NEWLINK with IFLA_LINKINFO/IFLA_INFO_KIND; a kernel
 * without the kind answers EOPNOTSUPP "Unknown device type".
 * Read: namespaces(7), rtnetlink(7), ip-link(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <sys/socket.h>

#include <linux/if_link.h>

#include "net/link.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

/*
 * Asks the kernel to create a link of kind, named "probe", inside a
 * brand-new network namespace of the calling thread, then returns to
 * nslab's own: the namespace (and a link made in it) dies with the socket,
 * so nothing is left anywhere. Returns 1 when the kind exists (success or
 * any refusal but "Unknown device type"), 0 when not, -1 with errno set
 * when the probe itself could not run.
 */
static int probe_kind(struct nslab_state *st, const char *kind)
{
	char buf[512];
	struct nl_conn c = {.nsfd = -1, .seq = 1};
	struct ifinfomsg *ifm;
	struct nlattr *info;
	struct nlmsghdr *nlh;
	struct nl_err e;
	int one = 1, r = -1, saved;

	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	c.nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (c.nl) {
		mnl_socket_setsockopt(c.nl, NETLINK_EXT_ACK, &one, sizeof(one));
		if (mnl_socket_bind(c.nl, 0, MNL_SOCKET_AUTOPID) == 0) {
			nlh = link_put_request(buf, RTM_NEWLINK,
					       NLM_F_CREATE | NLM_F_EXCL, &ifm);
			mnl_attr_put_strz(nlh, IFLA_IFNAME, "probe");
			info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
			mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
			mnl_attr_nest_end(nlh, info);
			if (nl_run(&c, buf, nlh->nlmsg_len, NULL, NULL, &e) ==
				0 ||
			    e.index == 0)
				r = !link_unknown_type(&e);
		}
	}
	saved = errno;
	if (c.nl)
		mnl_socket_close(c.nl);
	nl_leave(&st->nl);
	errno = saved;
	return r;
}

/*
 * core.link.kind_available(kind) -> boolean, reason: whether this kernel
 * can make links of kind; reason (when false) names the kernel option and
 * module. Probes every call; nslab.link caches the answers.
 */
int l_link_kind_available(lua_State *L)
{
	static const char op[] = "link.kind_available";
	const char *kind = link_check_kind(
	    L, 1, nslab_checkstr(L, 1, "link.kind_available", "kind"));
	int r;

	nslab_need_caps(L, op, kind);
	if (link_tun_kind(kind)) {
		/* made through /dev/net/tun, not rtnetlink (link_tun.c) */
		const char *why = NULL;

		r = link_tun_available(&why);
		lua_pushboolean(L, r);
		if (r)
			return 1;
		lua_pushfstring(L, "this kernel cannot make %s links: %s", kind,
				why);
		return 2;
	}
	r = probe_kind(nslab_state(L), kind);
	if (r < 0)
		return nslab_raise(L, op, lua_pushfstring(L, "\"%s\"", kind),
				   NULL, errno, "probe in a scratch netns");
	lua_pushboolean(L, r);
	if (r)
		return 1;
	link_kind_missing(L, kind);
	return 2;
}
