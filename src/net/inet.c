/*
 * inet.c - helpers shared by addr.c and route.c: address text checked
 * for Lua (the parsing itself is in inet_text.c), scope names as iproute2
 * spells them (/etc/iproute2/rt_scopes), option fields, and ifindex/ifname
 * lookups (RTM_GETLINK).
 *
 * Read: inet_pton(3), rtnetlink(7), ip-address(8), ip-route(8).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "net/inet.h"

const struct opt_name inet_scopes[] = {
    {"global", RT_SCOPE_UNIVERSE},
    {"universe", RT_SCOPE_UNIVERSE},
    {"site", RT_SCOPE_SITE},
    {"link", RT_SCOPE_LINK},
    {"host", RT_SCOPE_HOST},
    {"nowhere", RT_SCOPE_NOWHERE},
    {NULL, 0},
};

void inet_check(lua_State *L, const char *op, const char *object,
		const char *netns, const char *text, int family, int len_ok,
		struct inet_addr *a)
{
	char why[160];

	if (inet_parse(text, a, why, sizeof(why)) < 0)
		nslab_raise(L, op, object, netns, EINVAL, why);
	if (family != AF_UNSPEC && a->family != family) {
		snprintf(why, sizeof(why), "%s is %s where %s is needed", text,
			 inet_family_name(a->family), inet_family_name(family));
		nslab_raise(L, op, object, netns, EINVAL, why);
	}
	if (!len_ok && a->has_len)
		nslab_raise(L, op, object, netns, EINVAL,
			    "an address without /prefixlen is needed here");
}

void inet_push(lua_State *L, int family, const void *bytes)
{
	char buf[INET6_ADDRSTRLEN];

	lua_pushstring(L, inet_ntop(family, bytes, buf, sizeof(buf)));
}

const char *inet_name_of(const struct opt_name *tab, unsigned int value)
{
	for (; tab->name; tab++)
		if (tab->value == value)
			return tab->name;
	return NULL;
}

void inet_set_named(lua_State *L, int t, const char *field,
		    const struct opt_name *tab, unsigned int value)
{
	const char *name = inet_name_of(tab, value);

	t = lua_absindex(L, t);
	if (name)
		lua_pushstring(L, name);
	else
		lua_pushinteger(L, value);
	lua_setfield(L, t, field);
}

int inet_ifindex(lua_State *L, struct nl_conn *c, const char *op,
		 const char *object, const char *netns, const char *ifname)
{
	struct nl_err e;
	int index = nl_ifindex(c, ifname, &e);

	if (index > 0)
		return index;
	if (!e.ext[0] && e.err == ENODEV)
		snprintf(e.ext, sizeof(e.ext), "no such interface \"%s\"",
			 ifname);
	return nslab_raise_nl(L, op, object, netns, &e);
}

/* RTM_NEWLINK answers: t[ifindex] = IFLA_IFNAME, t at the stack top. */
static int ifname_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	lua_State *L = data;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_for_each (a, nlh, sizeof(*ifm)) {
		if (mnl_attr_get_type(a) == IFLA_IFNAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
			lua_pushstring(L, mnl_attr_get_str(a));
			lua_rawseti(L, -2, ifm->ifi_index);
		}
	}
	return MNL_CB_OK;
}

void inet_push_ifnames(lua_State *L, struct nl_conn *c, const char *op,
		       const char *netns)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	struct nl_err e;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	lua_newtable(L);
	if (nl_run(c, buf, nlh->nlmsg_len, ifname_cb, L, &e) < 0)
		nslab_raise_nl(L, op, NULL, netns, &e);
}

const char *inet_opt_dst(lua_State *L, int idx, const char *op,
			 const char **netns, struct inet_addr *a)
{
	const char *dst;

	*netns = nslab_opt_netns(L, idx, op);
	dst = opt_string(L, idx, "dst");
	if (!dst)
		luaL_argerror(L, 1, "field 'dst' is required");
	inet_check(L, op, dst, *netns, dst, AF_UNSPEC, 0, a);
	return dst;
}
