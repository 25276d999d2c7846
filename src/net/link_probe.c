/*
 * link_probe.c - link.kind_available: whether this kernel can make links
 * of a kind, asked by creating one ("probe") in a scratch network
 * namespace that dies with its socket.
 *
 * The scratch namespace: nl_probe (nl/nl_probe.c).
 * Netlink: RTM_NEWLINK with IFLA_LINKINFO/IFLA_INFO_KIND; a kernel
 * without the kind answers EOPNOTSUPP "Unknown device type".
 * Read: namespaces(7), rtnetlink(7), ip-link(8).
 */
#define _GNU_SOURCE
#include <errno.h>

#include <linux/if_link.h>

#include "net/link.h"

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
	struct ifinfomsg *ifm;
	struct nlattr *info;
	struct nlmsghdr *nlh;
	struct nl_err e;

	nlh =
	    link_put_request(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifm);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "probe");
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, info);
	if (nl_probe(&st->nl, buf, nlh->nlmsg_len, &e) < 0)
		return -1;
	return !link_unknown_type(&e);
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
