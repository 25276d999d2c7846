/*
 * tc_list.c - tc.qdisc_list and the qdisc table every qdisc verb
 * returns: an RTM_GETQDISC dump (every device's root and ingress qdiscs,
 * the kernel's defaults included) read into {dev=, ifindex=, kind=,
 * handle=, parent=, ...options in nslab's units}.
 *
 * Read: rtnetlink(7) (RTM_GETQDISC), tc(8), linux/pkt_sched.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "net/inet.h"
#include "net/tc.h"

static void set_int(lua_State *L, const char *field, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, field);
}

static void set_num(lua_State *L, const char *field, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, field);
}

/* tbf: TCA_TBF_PARMS (rate in bytes/s, buffer in ticks), RATE64. */
static void tbf_fields(lua_State *L, const struct nlattr *opt)
{
	const struct tc_tbf_qopt *q = NULL;
	const struct nlattr *a;
	uint64_t rate;

	mnl_attr_for_each_nested (a, opt) {
		if (mnl_attr_get_type(a) == TCA_TBF_PARMS &&
		    mnl_attr_get_payload_len(a) >= sizeof(*q))
			q = mnl_attr_get_payload(a);
	}
	if (!q)
		return;
	rate = (uint64_t)q->rate.rate * 8;
	mnl_attr_for_each_nested (a, opt) {
		if (mnl_attr_get_type(a) == TCA_TBF_RATE64 &&
		    mnl_attr_get_payload_len(a) == 8)
			rate = mnl_attr_get_u64(a) * 8;
	}
	set_int(L, "rate", (lua_Integer)rate);
	set_int(L, "burst", (lua_Integer)tc_xmitsize(rate, q->buffer));
	set_int(L, "limit", q->limit);
}

static void htb_fields(lua_State *L, const struct nlattr *opt)
{
	const struct nlattr *a;
	const struct tc_htb_glob *g;

	mnl_attr_for_each_nested (a, opt) {
		if (mnl_attr_get_type(a) == TCA_HTB_INIT &&
		    mnl_attr_get_payload_len(a) >= sizeof(*g)) {
			g = mnl_attr_get_payload(a);
			set_int(L, "default", g->defcls);
			set_int(L, "r2q", g->rate2quantum);
		}
	}
}

/* netem: struct tc_netem_qopt, then REORDER, CORRUPT, LATENCY64 ... */
static void netem_fields(lua_State *L, const struct nlattr *opt)
{
	const struct tc_netem_qopt *q = mnl_attr_get_payload(opt);
	size_t len = mnl_attr_get_payload_len(opt);
	const struct nlattr *a;

	if (len < sizeof(*q))
		return;
	set_int(L, "limit", q->limit);
	if (q->latency)
		set_num(L, "delay", tc_ticks_sec(q->latency));
	if (q->jitter)
		set_num(L, "jitter", tc_ticks_sec(q->jitter));
	if (q->loss)
		set_num(L, "loss", tc_u32_percent(q->loss));
	if (q->duplicate)
		set_num(L, "duplicate", tc_u32_percent(q->duplicate));
	/* the attributes after the struct (libmnl's for_each_payload
	 * macro needs its variable named attr) */
	const char *end = (const char *)q + len;

	for (a = (const void *)(q + 1);
	     mnl_attr_ok(a, (int)(end - (const char *)a));
	     a = mnl_attr_next(a)) {
		size_t n = mnl_attr_get_payload_len(a);
		const uint32_t *p = mnl_attr_get_payload(a);

		if (mnl_attr_get_type(a) == TCA_NETEM_REORDER && n >= 8 && p[0])
			set_num(L, "reorder", tc_u32_percent(p[0]));
		if (mnl_attr_get_type(a) == TCA_NETEM_CORRUPT && n >= 8 && p[0])
			set_num(L, "corrupt", tc_u32_percent(p[0]));
		if (mnl_attr_get_type(a) == TCA_NETEM_LATENCY64 && n == 8)
			set_num(L, "delay", mnl_attr_get_u64(a) / 1e9);
		if (mnl_attr_get_type(a) == TCA_NETEM_JITTER64 && n == 8)
			set_num(L, "jitter", mnl_attr_get_u64(a) / 1e9);
	}
}

static void kind_fields(lua_State *L, const char *kind, const struct nlattr *o)
{
	const struct nlattr *a;

	if (!strcmp(kind, "tbf"))
		tbf_fields(L, o);
	else if (!strcmp(kind, "htb"))
		htb_fields(L, o);
	else if (!strcmp(kind, "netem"))
		netem_fields(L, o);
	else if ((!strcmp(kind, "pfifo") || !strcmp(kind, "bfifo")) &&
		 mnl_attr_get_payload_len(o) >= sizeof(struct tc_fifo_qopt))
		set_int(L, "limit",
			((const struct tc_fifo_qopt *)mnl_attr_get_payload(o))
			    ->limit);
	else if (!strcmp(kind, "fq_codel"))
		mnl_attr_for_each_nested (a, o)
			if (mnl_attr_get_type(a) == TCA_FQ_CODEL_LIMIT &&
			    mnl_attr_get_payload_len(a) == 4)
				set_int(L, "limit", mnl_attr_get_u32(a));
}

void tc_push_qdisc(lua_State *L, const struct nlmsghdr *nlh, const char *dev,
		   int names)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *opt = NULL;
	const char *kind = "";
	char h[16];

	lua_createtable(L, 0, 8);
	mnl_attr_for_each (a, nlh, sizeof(*tcm)) {
		if (mnl_attr_get_type(a) == TCA_KIND &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			kind = mnl_attr_get_str(a);
		else if (mnl_attr_get_type(a) == TCA_OPTIONS)
			opt = a;
	}
	if (dev)
		lua_pushstring(L, dev);
	else if (names)
		lua_rawgeti(L, names, tcm->tcm_ifindex);
	else
		lua_pushnil(L);
	lua_setfield(L, -2, "dev");
	set_int(L, "ifindex", tcm->tcm_ifindex);
	lua_pushstring(L, kind);
	lua_setfield(L, -2, "kind");
	tc_handle_text(tcm->tcm_handle, h, sizeof(h));
	lua_pushstring(L, h);
	lua_setfield(L, -2, "handle");
	if (tcm->tcm_parent == TC_H_ROOT)
		lua_pushstring(L, "root");
	else if (tcm->tcm_parent == TC_H_INGRESS)
		lua_pushstring(L,
			       strcmp(kind, "clsact") ? "ingress" : "clsact");
	else {
		tc_handle_text(tcm->tcm_parent, h, sizeof(h));
		lua_pushstring(L, h);
	}
	lua_setfield(L, -2, "parent");
	if (opt)
		kind_fields(L, kind, opt);
}

struct list {
	lua_State *L;
	int names, out, ifindex;
	lua_Integer n;
};

static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct list *l = data;
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWQDISC ||
	    (l->ifindex && tcm->tcm_ifindex != l->ifindex))
		return MNL_CB_OK;
	tc_push_qdisc(l->L, nlh, NULL, l->names);
	lua_rawseti(l->L, l->out, ++l->n);
	return MNL_CB_OK;
}

/* tc.qdisc_list{dev=, netns=} -> {qdisc,...}: every qdisc of dev (all
 * devices without dev), as tc qdisc show lists them. */
int l_tc_qdisc_list(lua_State *L)
{
	static const char *const fields[] = {"dev", "netns", NULL};
	struct list l = {.L = L};
	struct tc_target t = {.op = "tc.qdisc_list"};
	struct nl_err e;

	if (lua_isnoneornil(L, 1)) {
		lua_settop(L, 0);
		lua_newtable(L);
	}
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	nslab_check_fields(L, 1, fields);
	t.netns = nslab_opt_netns(L, 1, t.op);
	t.dev = opt_string(L, 1, "dev");
	if (t.dev) {
		nslab_check_ifname(L, t.op, t.dev);
		t.object = t.dev;
		tc_open(L, &t);
		l.ifindex = t.ifindex;
	} else {
		t.c = nslab_conn(L, t.op, NULL, t.netns);
	}
	inet_push_ifnames(L, t.c, t.op, t.netns);
	l.names = lua_gettop(L);
	lua_newtable(L);
	l.out = lua_gettop(L);
	if (nl_dump(t.c, RTM_GETQDISC, sizeof(struct tcmsg), AF_UNSPEC, list_cb,
		    &l, &e) < 0)
		return nslab_raise_nl(L, t.op, t.object, t.netns, &e);
	return 1;
}
