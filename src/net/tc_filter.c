/*
 * tc_filter.c - tc.filter_add and tc.filter_del: a u32 (match every
 * packet) or matchall classifier at a qdisc, with an optional flowid
 * (class) and an optional mirred action (redirect or mirror to another
 * device: the ifb of ingress shaping).
 *
 * Netlink: RTM_NEWTFILTER (TCA_KIND, TCA_OPTIONS with TCA_U32_SEL or
 * TCA_MATCHALL_*, *_CLASSID, *_ACT holding TCA_ACT_KIND "mirred" and
 * TCA_MIRRED_PARMS), RTM_DELTFILTER.
 * Read: rtnetlink(7), tc-u32(8), tc-matchall(8), tc-mirred(8).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_mirred.h>

#include "net/tc.h"

static const char *const protocols[] = {"all", "ip", "ipv6", "arp", NULL};
static const uint16_t protocol_ids[] = {ETH_P_ALL, ETH_P_IP, ETH_P_IPV6,
					ETH_P_ARP};
static const char *const directions[] = {"egress_redirect", "egress_mirror",
					 "ingress_redirect", "ingress_mirror"};
static const int eactions[] = {TCA_EGRESS_REDIR, TCA_EGRESS_MIRROR,
			       TCA_INGRESS_REDIR, TCA_INGRESS_MIRROR};

/* A filter as read from its table. */
struct filter {
	const char *kind; /* "u32" or "matchall" */
	uint32_t flowid;  /* 0: none */
	uint32_t info;	  /* prio << 16 | protocol (network order) */
	int eaction;	  /* TCA_*_REDIR/MIRROR; 0: no action */
	const char *to;	  /* the action's device */
};

/* action = {kind = "mirred", egress_redirect = "ifb0"}: at stack top. */
static void read_action(lua_State *L, const struct tc_target *t,
			struct filter *f)
{
	const char *kind;
	int top = lua_gettop(L);

	luaL_argcheck(L, lua_istable(L, top), 1,
		      "field 'action' must be a table");
	lua_getfield(L, top, "kind");
	kind = lua_tostring(L, -1);
	if (!kind || strcmp(kind, "mirred") != 0)
		luaL_argerror(L, 1, "action.kind must be \"mirred\"");
	lua_pop(L, 1);
	for (lua_pushnil(L); lua_next(L, top); lua_pop(L, 1)) {
		size_t i = 0;
		const char *k =
		    lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";

		if (!strcmp(k, "kind"))
			continue;
		while (i < 4 && strcmp(k, directions[i]) != 0)
			i++;
		if (i == 4 || f->to || lua_type(L, -1) != LUA_TSTRING) {
			luaL_argerror(L, 1,
				      "action needs one of egress_redirect, "
				      "egress_mirror, ingress_redirect, "
				      "ingress_mirror = ifname");
			return; /* not reached: luaL_argerror raises */
		}
		f->eaction = eactions[i];
		f->to = lua_tostring(L, -1);
		nslab_check_ifname(L, t->op, f->to);
	}
	if (!f->to)
		luaL_argerror(L, 1,
			      "action needs egress_redirect = ifname "
			      "(or egress_mirror, ...)");
}

static void read_filter(lua_State *L, const struct tc_target *t,
			struct filter *f)
{
	static const char *const kinds[] = {"u32", "matchall", NULL};
	lua_Integer prio = 0;
	int k = opt_choice(L, 1, "kind", kinds, t->op, t->object, t->netns);
	int proto;

	f->kind = kinds[k < 0 ? 0 : k]; /* default u32 */
	proto =
	    opt_choice(L, 1, "protocol", protocols, t->op, t->object, t->netns);
	opt_range(L, 1, "prio", 0, 0xffff, &prio, t->op, t->object, t->netns);
	f->info = TC_H_MAKE((uint32_t)prio << 16,
			    htons(protocol_ids[proto < 0 ? 0 : proto]));
	tc_opt_handle(L, t, "flowid", &f->flowid);
	if (lua_getfield(L, 1, "action") != LUA_TNIL)
		read_action(L, t, f);
	lua_pop(L, 1);
}

/* TCA_*_ACT: one action, "mirred", at order 1. */
static void put_action(struct nlmsghdr *nlh, uint16_t type,
		       const struct filter *f, int to)
{
	struct tc_mirred m = {0};
	struct nlattr *acts = mnl_attr_nest_start(nlh, type);
	struct nlattr *one = mnl_attr_nest_start(nlh, 1);
	struct nlattr *opts;

	mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
	opts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	m.eaction = f->eaction;
	m.ifindex = (uint32_t)to;
	/* a redirect ends the packet's way here, a mirror lets it go on */
	m.action =
	    f->eaction == TCA_EGRESS_REDIR || f->eaction == TCA_INGRESS_REDIR
		? TC_ACT_STOLEN
		: TC_ACT_PIPE;
	mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(m), &m);
	mnl_attr_nest_end(nlh, opts);
	mnl_attr_nest_end(nlh, one);
	mnl_attr_nest_end(nlh, acts);
}

static void put_filter(struct nlmsghdr *nlh, const struct filter *f, int to)
{
	/* a selector with one key: sel's keys[] is a flexible array */
	unsigned char u[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)];
	struct tc_u32_sel sel = {0};
	struct nlattr *opt;
	int u32 = !strcmp(f->kind, "u32");

	mnl_attr_put_strz(nlh, TCA_KIND, f->kind);
	opt = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	opt->nla_type = TCA_OPTIONS; /* as tc: not flagged nested */
	if (u32) {
		/* one key matching every packet: value 0 under mask 0 */
		sel.flags = TC_U32_TERMINAL;
		sel.nkeys = 1;
		memset(u, 0, sizeof(u));
		memcpy(u, &sel, sizeof(sel));
		mnl_attr_put(nlh, TCA_U32_SEL, sizeof(u), u);
	}
	if (f->flowid)
		mnl_attr_put_u32(nlh,
				 u32 ? TCA_U32_CLASSID : TCA_MATCHALL_CLASSID,
				 f->flowid);
	if (f->eaction)
		put_action(nlh, u32 ? TCA_U32_ACT : TCA_MATCHALL_ACT, f, to);
	mnl_attr_nest_end(nlh, opt);
}

/* tc.filter_add{dev=, parent=, kind=, protocol=, prio=, flowid=,
 * action=} -> {warnings=}: one RTM_NEWTFILTER. */
int l_tc_filter_add(lua_State *L)
{
	static const char *const fields[] = {"dev",    "netns",	   "parent",
					     "kind",   "prio",	   "flowid",
					     "action", "protocol", NULL};
	char buf[TC_BUF];
	struct tc_target t;
	struct filter f = {0};
	struct nlmsghdr *nlh;
	struct nl_err e;
	int to = 0;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	nslab_check_fields(L, 1, fields);
	if (!opt_string(L, 1, "parent"))
		luaL_argerror(L, 1,
			      "field 'parent' is required (\"ffff:\" "
			      "for ingress, \"1:\" ...)");
	tc_read_target(L, &t, "tc.filter_add", "parent", NULL);
	t.object = lua_pushfstring(L, "filter at %s", t.object);
	read_filter(L, &t, &f);
	tc_open(L, &t);
	if (f.to) {
		to = nl_ifindex(t.c, f.to, &e);
		if (to <= 0)
			return nslab_raise(
			    L, t.op, t.object, t.netns, ENODEV,
			    lua_pushfstring(L, "no such interface \"%s\"",
					    f.to));
	}
	nlh = tc_put_msg(buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, &t,
			 f.info);
	put_filter(nlh, &f, to);
	if (nl_run(t.c, buf, nlh->nlmsg_len, NULL, NULL, &e) < 0) {
		if (e.err == ENOENT && strstr(e.ext, "classifier not found"))
			return nslab_raise(
			    L, t.op, t.object, t.netns, EOPNOTSUPP,
			    tc_kind_missing(L, "classifier", f.kind));
		if (e.err == ENOENT && strstr(e.ext, "action module"))
			return nslab_raise(
			    L, t.op, t.object, t.netns, EOPNOTSUPP,
			    tc_kind_missing(L, "action", "mirred"));
		return tc_raise(L, &t, &e);
	}
	lua_newtable(L);
	tc_set_warnings(L, &e);
	return 1;
}

/* tc.filter_del{dev=, netns=, parent=, prio=}: every filter at parent
 * (of that prio when given); one RTM_DELTFILTER. */
int l_tc_filter_del(lua_State *L)
{
	static const char *const fields[] = {"dev", "netns", "parent", "prio",
					     NULL};
	char buf[256];
	struct tc_target t;
	struct nlmsghdr *nlh;
	struct nl_err e;
	lua_Integer prio = 0;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	nslab_check_fields(L, 1, fields);
	if (!opt_string(L, 1, "parent"))
		luaL_argerror(L, 1,
			      "field 'parent' is required (\"ffff:\" "
			      "for ingress, \"1:\" ...)");
	tc_read_target(L, &t, "tc.filter_del", "parent", NULL);
	t.object = lua_pushfstring(L, "filters at %s", t.object);
	opt_range(L, 1, "prio", 0, 0xffff, &prio, t.op, t.object, t.netns);
	tc_open(L, &t);
	nlh = tc_put_msg(buf, RTM_DELTFILTER, 0, &t, (uint32_t)prio << 16);
	if (nl_run(t.c, buf, nlh->nlmsg_len, NULL, NULL, &e) < 0)
		return tc_raise(L, &t, &e);
	return 0;
}
