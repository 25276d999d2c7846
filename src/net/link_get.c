/*
 * link_get.c - reading links: RTM_GETLINK for one link (by name or
 * ifindex) or a dump of a namespace, each answer turned into the Lua table
 * link.get/list return, with names and spellings as iproute2 prints them.
 *
 * Netlink: RTM_GETLINK (NLM_F_DUMP for list), IFLA_EXT_MASK with
 * RTEXT_FILTER_SKIP_STATS (no counters: smaller, faster answers).
 * Read: rtnetlink(7), ip-link(8), netdevice(7) for the IFF_* flags,
 * Documentation/networking/operstates.rst for IFLA_OPERSTATE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_link.h>

#include "net/link.h"

static int name_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = {0};

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_cb, tb);
	if (tb[IFLA_IFNAME] &&
	    mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0)
		snprintf(data, IFNAMSIZ, "%s",
			 mnl_attr_get_str(tb[IFLA_IFNAME]));
	return MNL_CB_OK;
}

void link_resolve_master(lua_State *L, struct nl_conn *c, const char *netns)
{
	char buf[256], name[IFNAMSIZ] = "";
	struct nlmsghdr *nlh;
	struct nl_err e;
	int index;

	if (lua_getfield(L, -1, "master_ifindex") != LUA_TNUMBER) {
		lua_pop(L, 1);
		return;
	}
	index = (int)lua_tointeger(L, -1);
	lua_pop(L, 1);
	nlh = link_put_getlink(buf, NULL, index);
	if (nl_run(c, buf, nlh->nlmsg_len, name_cb, name, &e) < 0)
		nslab_raise(L, "link.get",
			    lua_pushfstring(L, "master %d", index), netns,
			    e.err, e.ext);
	if (name[0]) {
		lua_pushstring(L, name);
		lua_setfield(L, -2, "master");
	}
}

/*
 * link.get(name_or_ifindex, opts) -> link table. One RTM_GETLINK (and one
 * more for the master's name when the link has one).
 */
int l_link_get(lua_State *L)
{
	static const char op[] = "link.get";
	static const char *const fields[] = {"netns", NULL};
	char buf[256];
	const char *name = NULL, *netns, *obj;
	struct link_push lp = {L, NULL, 0, 0, 0};
	struct nlmsghdr *nlh;
	struct nl_conn *c;
	struct nl_err e;
	int index = 0;

	lua_settop(L, 2); /* the object string pushed below must not be arg 2 */
	if (lua_isinteger(L, 1)) {
		index = (int)lua_tointeger(L, 1);
		luaL_argcheck(L, index > 0, 1, "ifindex must be > 0");
		obj = lua_pushfstring(L, "ifindex %d", index);
	} else {
		name = nslab_checkstr(L, 1, op, "ifname");
		nslab_check_ifname(L, op, name);
		obj = link_obj(L, name);
	}
	nslab_check_fields(L, 2, fields);
	netns = nslab_opt_netns(L, 2, op);
	c = nslab_conn(L, op, obj, netns);
	nlh = link_put_getlink(buf, name, index);
	lp.netns = netns;
	if (nl_run(c, buf, nlh->nlmsg_len, link_push_cb, &lp, &e) < 0 ||
	    lp.n == 0)
		return nslab_raise(L, op, obj, netns, e.err ? e.err : ENODEV,
				   e.ext[0] ? e.ext : "no such link");
	link_resolve_master(L, c, netns);
	return 1;
}

/*
 * link.list(opts) -> array of link tables in ifindex order, from one
 * RTM_GETLINK dump; master names come from the same dump.
 */
int l_link_list(lua_State *L)
{
	static const char op[] = "link.list";
	static const char *const fields[] = {"netns", NULL};
	char buf[256];
	struct link_push lp = {L, NULL, 1, 0, 0};
	const char *netns;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct nl_conn *c;
	struct nl_err e;
	int byindex;

	nslab_check_fields(L, 1, fields);
	netns = nslab_opt_netns(L, 1, op);
	c = nslab_conn(L, op, NULL, netns);
	nlh = link_put_request(buf, RTM_GETLINK, NLM_F_DUMP, &ifm);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	lua_newtable(L);
	lp.tab = lua_gettop(L);
	lp.netns = netns;
	if (nl_run(c, buf, nlh->nlmsg_len, link_push_cb, &lp, &e) < 0)
		return nslab_raise_nl(L, op, NULL, netns, &e);
	/* ifindex -> name, then master = name of master_ifindex */
	lua_createtable(L, 0, lp.n);
	byindex = lua_gettop(L);
	for (int i = 1; i <= lp.n; i++) {
		lua_rawgeti(L, lp.tab, i);
		lua_getfield(L, -1, "ifindex");
		lua_getfield(L, -2, "name");
		lua_settable(L, byindex);
		lua_pop(L, 1);
	}
	for (int i = 1; i <= lp.n; i++) {
		lua_rawgeti(L, lp.tab, i);
		if (lua_getfield(L, -1, "master_ifindex") == LUA_TNUMBER) {
			lua_gettable(L, byindex);
			lua_setfield(L, -2, "master");
		} else {
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	lua_settop(L, lp.tab);
	return 1;
}
