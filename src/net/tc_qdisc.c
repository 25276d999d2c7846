/*
 * tc_qdisc.c - tc.qdisc_add, tc.qdisc_replace, tc.qdisc_del and
 * tc.netem_options: one RTM_NEWQDISC (NLM_F_CREATE|NLM_F_EXCL, or
 * NLM_F_CREATE|NLM_F_REPLACE) with NLM_F_ECHO, so the answer carries the
 * qdisc as made, or one RTM_DELQDISC.
 *
 * Read: rtnetlink(7) (RTM_NEWQDISC, RTM_DELQDISC, RTM_GETQDISC), tc(8),
 * tc-tbf(8), tc-htb(8), tc-netem(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "net/tc.h"

static const char *const kind_names[] = {
    "tbf", "htb", "netem", "pfifo", "fq_codel", "ingress", "clsact", NULL};

/* The callback of the RTM_GETQDISC: pushes the qdisc table once. */
struct readback {
	lua_State *L;
	const char *dev;
	int pushed;
};

static int readback_cb(const struct nlmsghdr *nlh, void *data)
{
	struct readback *r = data;

	if (nlh->nlmsg_type != RTM_NEWQDISC || r->pushed)
		return MNL_CB_OK;
	tc_push_qdisc(r->L, nlh, r->dev, 0);
	r->pushed = 1;
	return MNL_CB_OK;
}

/* The kernel's "no such kind" refusal, made EOPNOTSUPP naming the kernel
 * option and module; other refusals as they are. */
static int qdisc_raise(lua_State *L, const struct tc_target *t,
		       const char *kind, struct nl_err *e)
{
	if (e->err == ENOENT && strstr(e->ext, "kind is unknown"))
		return nslab_raise(L, t->op, t->object, t->netns, EOPNOTSUPP,
				   tc_kind_missing(L, "qdisc", kind));
	return tc_raise(L, t, e);
}

/* Reads kind and the target; the default parent follows the kind. */
static const char *read_kind(lua_State *L, struct tc_target *t, const char *op)
{
	const char *kind, *def = "root";
	const char *const *fields;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	kind = opt_string(L, 1, "kind");
	if (!kind) {
		luaL_argerror(L, 1,
			      "field 'kind' is required (\"tbf\", \"htb\", "
			      "\"netem\", ...)");
		return NULL; /* not reached: luaL_argerror raises */
	}
	fields = tc_kind_fields(kind, 0);
	if (fields)
		nslab_check_fields(L, 1, fields);
	if (!strcmp(kind, "ingress") || !strcmp(kind, "clsact"))
		def = kind;
	tc_read_target(L, t, op, "parent", def);
	if (!fields)
		opt_choice(L, 1, "kind", kind_names, op, t->object, t->netns);
	t->object = lua_pushfstring(L, "%s at %s", kind, t->object);
	if (!tc_opt_handle(L, t, "handle", &t->handle) &&
	    t->parent == TC_H_INGRESS)
		t->handle = TC_H_MAKE(TC_H_INGRESS, 0); /* "ffff:" */
	return kind;
}

/* qdisc_add and qdisc_replace: the request, then the qdisc read back. */
static int qdisc_change(lua_State *L, const char *op, uint16_t flags)
{
	char buf[TC_BUF];
	struct tc_target t;
	struct tc_opts o;
	struct readback r = {.L = L, .pushed = 0};
	struct nlmsghdr *nlh;
	struct nl_err e;
	const char *kind = read_kind(L, &t, op);

	tc_read_opts(L, &t, kind, 0, &o);
	tc_open(L, &t);
	/* NLM_F_ECHO: the kernel sends the qdisc it made back to us (this
	 * kernel answers a plain RTM_GETQDISC with nothing but an ACK) */
	nlh = tc_put_msg(buf, RTM_NEWQDISC, flags | NLM_F_ECHO, &t, 0);
	mnl_attr_put_strz(nlh, TCA_KIND, kind);
	tc_put_opts(nlh, kind, 0, &o);
	r.dev = t.dev;
	if (nl_run(t.c, buf, nlh->nlmsg_len, readback_cb, &r, &e) < 0)
		return qdisc_raise(L, &t, kind, &e);
	if (!r.pushed)
		return luaL_error(L, "%s: the kernel did not return the qdisc",
				  op);
	tc_set_warnings(L, &e);
	return 1;
}

/* tc.qdisc_add{dev=, kind=, ...} -> qdisc: EEXIST if one is there (a
 * default qdisc such as noqueue is replaced, as tc does). */
int l_tc_qdisc_add(lua_State *L)
{
	return qdisc_change(L, "tc.qdisc_add", NLM_F_CREATE | NLM_F_EXCL);
}

/* tc.qdisc_replace{...} -> qdisc: creates it, or changes the one there in
 * place (the same kind keeps its queue; another kind replaces it). */
int l_tc_qdisc_replace(lua_State *L)
{
	return qdisc_change(L, "tc.qdisc_replace",
			    NLM_F_CREATE | NLM_F_REPLACE);
}

/* tc.qdisc_del{dev=, netns=, parent=}: the qdisc at parent goes back to
 * the kernel's default; ENOENT "no qdisc at root of eth0" if none. */
int l_tc_qdisc_del(lua_State *L)
{
	static const char *const fields[] = {"dev", "netns", "parent", NULL};
	char buf[256];
	struct tc_target t;
	struct nlmsghdr *nlh;
	struct nl_err e;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	nslab_check_fields(L, 1, fields);
	tc_read_target(L, &t, "tc.qdisc_del", "parent", "root");
	tc_open(L, &t);
	nlh = tc_put_msg(buf, RTM_DELQDISC, 0, &t, 0);
	if (nl_run(t.c, buf, nlh->nlmsg_len, NULL, NULL, &e) == 0)
		return 0;
	/* "Cannot delete qdisc with handle of zero" (the default one),
	 * "Cannot find specified qdisc on specified device" */
	if (e.err == ENOENT ||
	    (e.err == EINVAL && strstr(e.ext, "Cannot find")))
		return nslab_raise(
		    L, t.op, t.object, t.netns, ENOENT,
		    lua_pushfstring(L, "no qdisc at %s", t.object));
	return tc_raise(L, &t, &e);
}

/* tc.netem_options{delay=, ...} -> string: the TCA_OPTIONS payload a
 * netem qdisc_add sends for these options (its struct tc_netem_qopt and
 * the attributes after it), to compare with what tc sends. */
int l_tc_netem_options(lua_State *L)
{
	char buf[512];
	struct tc_target t = {.op = "tc.netem_options"};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlattr *opt;
	struct tc_opts o;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	/* netem's own fields: its list less the five common ones */
	nslab_check_fields(L, 1, tc_kind_fields("netem", 0) + 5);
	tc_read_opts(L, &t, "netem", 0, &o);
	opt = mnl_nlmsg_get_payload_tail(nlh);
	tc_put_opts(nlh, "netem", 0, &o);
	lua_pushlstring(L, mnl_attr_get_payload(opt),
			mnl_attr_get_payload_len(opt));
	return 1;
}
