/*
 * tc_probe.c - tc.available: whether this kernel has a qdisc, classifier
 * ("u32", "matchall") or action ("mirred") kind, asked by using one on lo
 * in a scratch network namespace that dies with its socket, as
 * link.kind_available does (link_probe.c).
 *
 * Syscalls: unshare(2) (CLONE_NEWNET), setns(2) back (nl_leave).
 * Netlink: RTM_NEWQDISC, RTM_NEWTFILTER, RTM_NEWACTION with no options:
 * a kernel without the kind answers ENOENT "Specified qdisc kind is
 * unknown", "TC classifier not found" or "Failed to load TC action
 * module"; any other answer means the kind is there.
 * Read: namespaces(7), rtnetlink(7), tc(8).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

#include "net/tc.h"

static const char *const classifiers[] = {"u32", "matchall", "bpf",   "flower",
					  "fw",	 "route",    "basic", NULL};

static int in(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

/* The request that uses kind on lo (ifindex 1): for a classifier after
 * an ingress qdisc to hold it. Returns its length. */
static size_t probe_msg(char *buf, const char *what, const char *kind)
{
	struct tc_target t = {.ifindex = 1,
			      .parent = TC_H_INGRESS,
			      .handle = TC_H_MAKE(TC_H_INGRESS, 0)};
	struct nlmsghdr *nlh;
	struct nlattr *tab, *one;
	struct tcamsg *ta;
	size_t len = 0;

	if (!strcmp(what, "action")) {
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_NEWACTION;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
		ta = mnl_nlmsg_put_extra_header(nlh, sizeof(*ta));
		ta->tca_family = AF_UNSPEC;
		tab = mnl_attr_nest_start(nlh, TCA_ACT_TAB);
		one = mnl_attr_nest_start(nlh, 1);
		mnl_attr_put_strz(nlh, TCA_ACT_KIND, kind);
		mnl_attr_nest_end(nlh, one);
		mnl_attr_nest_end(nlh, tab);
		return nlh->nlmsg_len;
	}
	nlh = tc_put_msg(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, &t, 0);
	if (!strcmp(what, "qdisc")) {
		t.parent = TC_H_ROOT; /* ingress and clsact refuse: fine */
		t.handle = 0;
		nlh = tc_put_msg(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL,
				 &t, 0);
		mnl_attr_put_strz(nlh, TCA_KIND, kind);
		return nlh->nlmsg_len;
	}
	mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
	len = nlh->nlmsg_len;
	t.parent = TC_H_MAKE(TC_H_INGRESS, 0);
	t.handle = 0;
	nlh = tc_put_msg(buf + len, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL,
			 &t, TC_H_MAKE(1u << 16, htons(ETH_P_ALL)));
	mnl_attr_put_strz(nlh, TCA_KIND, kind);
	return len + nlh->nlmsg_len;
}

/* Whether e is the kernel's "no such kind" answer. */
static int unknown_kind(const struct nl_err *e)
{
	return e->err == ENOENT && (strstr(e->ext, "kind is unknown") ||
				    strstr(e->ext, "classifier not found") ||
				    strstr(e->ext, "action module"));
}

/*
 * Uses kind in a brand-new network namespace of the calling thread, then
 * returns to nslab's own. Returns 1 when the kind exists, 0 when not, -1
 * with errno set when the probe itself could not run.
 */
static int probe(struct nslab_state *st, const char *what, const char *kind)
{
	char buf[1024];
	struct nl_err e;
	size_t len = probe_msg(buf, what, kind);

	if (nl_probe(&st->nl, buf, len, &e) < 0)
		return -1;
	return !unknown_kind(&e);
}

/*
 * tc.available(kind) -> true | false, reason: whether this kernel has the
 * qdisc, classifier or action kind; reason names the kernel option and
 * module. Probes every call; nslab.tc caches the answers.
 */
int l_tc_available(lua_State *L)
{
	static const char op[] = "tc.available";
	const char *kind = nslab_checkstr(L, 1, op, "kind");
	const char *what = in(classifiers, kind)     ? "classifier"
			   : !strcmp(kind, "mirred") ? "action"
						     : "qdisc";
	size_t n = strlen(kind);
	int r;

	luaL_argcheck(
	    L,
	    n > 0 && n < 16 &&
		strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_") == n,
	    1, "kind must be a tc kind name such as \"tbf\"");
	nslab_need_caps(L, op, kind);
	r = probe(nslab_state(L), what, kind);
	if (r < 0)
		return nslab_raise(L, op, lua_pushfstring(L, "\"%s\"", kind),
				   NULL, errno, "probe in a scratch netns");
	lua_pushboolean(L, r);
	if (r)
		return 1;
	tc_kind_missing(L, what, kind);
	return 2;
}
