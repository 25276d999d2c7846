/*
 * tc_class.c - tc.class_add, tc.class_replace, tc.class_del: htb classes
 * (RTM_NEWTCLASS with TCA_HTB_PARMS, RTM_DELTCLASS).
 *
 * Read: rtnetlink(7) (RTM_NEWTCLASS, RTM_DELTCLASS), tc-htb(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/tc.h"

/* class_add and class_replace: one RTM_NEWTCLASS; returns nothing but
 * warnings ({warnings = {...}} or {}). */
static int class_change(lua_State *L, const char *op, uint16_t flags)
{
	char buf[TC_BUF];
	struct tc_target t;
	struct tc_opts o;
	struct nlmsghdr *nlh;
	struct nl_err e;
	const char *kind;
	uint32_t parent;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	kind = opt_string(L, 1, "kind");
	if (!kind)
		kind = "htb";
	if (!tc_kind_fields(kind, 1))
		luaL_argerror(L, 1,
			      "field 'kind' must be \"htb\" (the one "
			      "class kind nslab knows)");
	nslab_check_fields(L, 1, tc_kind_fields(kind, 1));
	if (!opt_string(L, 1, "classid"))
		luaL_argerror(L, 1, "field 'classid' is required (\"1:10\")");
	tc_read_target(L, &t, op, "classid", NULL);
	t.handle = t.parent; /* the classid */
	t.object = lua_pushfstring(L, "class %s", t.object);
	/* the parent: a class ("1:1") or the qdisc ("1:"); absent, the
	 * qdisc the classid's major names */
	parent = t.handle & 0xffff0000;
	tc_opt_handle(L, &t, "parent", &parent);
	t.parent = parent;
	tc_read_opts(L, &t, kind, 1, &o);
	tc_open(L, &t);
	nlh = tc_put_msg(buf, RTM_NEWTCLASS, flags, &t, 0);
	mnl_attr_put_strz(nlh, TCA_KIND, kind);
	tc_put_opts(nlh, kind, 1, &o);
	if (nl_run(t.c, buf, nlh->nlmsg_len, NULL, NULL, &e) < 0)
		return tc_raise(L, &t, &e);
	lua_newtable(L);
	tc_set_warnings(L, &e);
	return 1;
}

/* tc.class_add{dev=, classid=, rate=, ...} -> {warnings=} */
int l_tc_class_add(lua_State *L)
{
	return class_change(L, "tc.class_add", NLM_F_CREATE | NLM_F_EXCL);
}

/* tc.class_replace{...}: creates the class or changes it in place. */
int l_tc_class_replace(lua_State *L)
{
	return class_change(L, "tc.class_replace",
			    NLM_F_CREATE | NLM_F_REPLACE);
}

/* tc.class_del{dev=, netns=, classid=}: one RTM_DELTCLASS. */
int l_tc_class_del(lua_State *L)
{
	static const char *const fields[] = {"dev", "netns", "classid", NULL};
	char buf[256];
	struct tc_target t;
	struct nlmsghdr *nlh;
	struct nl_err e;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	nslab_check_fields(L, 1, fields);
	if (!opt_string(L, 1, "classid"))
		luaL_argerror(L, 1, "field 'classid' is required (\"1:10\")");
	tc_read_target(L, &t, "tc.class_del", "classid", NULL);
	t.handle = t.parent;
	t.parent = 0;
	t.object = lua_pushfstring(L, "class %s", t.object);
	tc_open(L, &t);
	nlh = tc_put_msg(buf, RTM_DELTCLASS, 0, &t, 0);
	if (nl_run(t.c, buf, nlh->nlmsg_len, NULL, NULL, &e) < 0) {
		if (e.err == ENOENT && !e.ext[0])
			snprintf(e.ext, sizeof(e.ext), "no such class");
		return tc_raise(L, &t, &e);
	}
	return 0;
}
