/*
 * route.c - IPv4 and IPv6 routes: add (RTM_NEWROUTE, NLM_F_CREATE|EXCL),
 * replace (NLM_F_CREATE|NLM_F_REPLACE), delete (RTM_DELROUTE) and list
 * (RTM_GETROUTE dump), with the defaults `ip route` uses: table main,
 * protocol boot, scope link for a route without gateway, universe
 * otherwise; a delete matches any protocol, scope and type.
 *
 * Read: rtnetlink(7), ip-route(8), linux/rtnetlink.h.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include "net/inet.h"
#include "net/net.h"
#include "net/route.h"

static const struct opt_name route_tables[] = {
    {"main", RT_TABLE_MAIN},
    {"local", RT_TABLE_LOCAL},
    {"default", RT_TABLE_DEFAULT},
    {NULL, 0},
};

static const struct opt_name route_protos[] = {
    {"unspec", RTPROT_UNSPEC}, {"redirect", RTPROT_REDIRECT},
    {"kernel", RTPROT_KERNEL}, {"boot", RTPROT_BOOT},
    {"static", RTPROT_STATIC}, {"ra", RTPROT_RA},
    {"dhcp", RTPROT_DHCP},     {NULL, 0},
};

const struct opt_name route_types[] = {
    {"unicast", RTN_UNICAST},
    {"local", RTN_LOCAL},
    {"broadcast", RTN_BROADCAST},
    {"anycast", RTN_ANYCAST},
    {"multicast", RTN_MULTICAST},
    {"blackhole", RTN_BLACKHOLE},
    {"unreachable", RTN_UNREACHABLE},
    {"prohibit", RTN_PROHIBIT},
    {"throw", RTN_THROW},
    {"nat", RTN_NAT},
    {NULL, 0},
};

static const char *const route_fields[] = {
    "netns", "dst",   "via",  "dev",	"metric", "table", "scope",
    "src",   "proto", "type", "family", "onlink", NULL,
};

/* Reads opts.family ("inet", "inet6"; absent: AF_UNSPEC). */
static int route_opt_family(lua_State *L, int idx)
{
	const char *fam = opt_string(L, idx, "family");

	if (!fam)
		return AF_UNSPEC;
	if (!strcmp(fam, "inet"))
		return AF_INET;
	if (!strcmp(fam, "inet6"))
		return AF_INET6;
	return luaL_argerror(L, idx,
			     "field 'family' must be \"inet\" or \"inet6\"");
}

/* "dst [via X] [dev Y] [table T]": the object named in errors. */
static const char *route_object(lua_State *L, const char *dst, const char *via,
				const char *dev)
{
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	luaL_addstring(&b, dst);
	if (via) {
		luaL_addstring(&b, " via ");
		luaL_addstring(&b, via);
	}
	if (dev) {
		luaL_addstring(&b, " dev ");
		luaL_addstring(&b, dev);
	}
	if (lua_getfield(L, 1, "table") != LUA_TNIL) {
		lua_pushfstring(L, " table %s", luaL_tolstring(L, -1, NULL));
		lua_remove(L, -2);
		lua_remove(L, -2);
		luaL_addvalue(&b);
	} else {
		lua_pop(L, 1);
	}
	luaL_pushresult(&b);
	return lua_tostring(L, -1);
}

/* The scope `ip route` gives a route when none is said. */
static int route_default_scope(int add, int family, int type, int has_via)
{
	if (!add)
		return RT_SCOPE_NOWHERE; /* a delete then matches any scope */
	if (family == AF_INET6)
		return RT_SCOPE_UNIVERSE;
	switch (type) {
	case RTN_LOCAL:
	case RTN_NAT:
		return RT_SCOPE_HOST;
	case RTN_BROADCAST:
	case RTN_MULTICAST:
	case RTN_ANYCAST:
		return RT_SCOPE_LINK;
	case RTN_UNICAST:
		return has_via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	default:
		return RT_SCOPE_UNIVERSE;
	}
}

/* A route request as read from the option table, checked. */
struct route_req {
	const char *netns, *dst, *via, *dev, *src, *object;
	struct inet_addr d, g, s;
	long long metric, table, scope, proto, rtype;
	int family, onlink;
};

/* Reads and checks route.add/replace/del's table at 1 into r; raises
 * argument errors for types and fields, EINVAL objects for values. */
static void route_read(lua_State *L, const char *op, int add,
		       struct route_req *r)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	nslab_check_fields(L, 1, route_fields);
	r->netns = nslab_opt_netns(L, 1, op);
	r->dst = opt_string(L, 1, "dst");
	if (!r->dst) {
		luaL_argerror(L, 1,
			      "field 'dst' is required "
			      "(\"default\" or an address/prefixlen)");
		return; /* not reached: luaL_argerror raises */
	}
	r->via = opt_string(L, 1, "via");
	r->dev = opt_string(L, 1, "dev");
	r->src = opt_string(L, 1, "src");
	r->family = route_opt_family(L, 1);
	r->onlink = opt_flag(L, 1, "onlink", 0);
	r->object = route_object(L, r->dst, r->via, r->dev);

	if (strcmp(r->dst, "default") != 0) {
		inet_check(L, op, r->object, r->netns, r->dst, r->family, 1,
			   &r->d);
		r->family = r->d.family;
	}
	if (r->via) {
		inet_check(L, op, r->object, r->netns, r->via, r->family, 0,
			   &r->g);
		r->family = r->g.family;
	}
	if (r->src) {
		inet_check(L, op, r->object, r->netns, r->src, r->family, 0,
			   &r->s);
		r->family = r->s.family;
	}
	if (r->family == AF_UNSPEC)
		r->family = AF_INET; /* "default" alone: inet, as ip route */
	if (r->dev)
		nslab_check_ifname(L, op, r->dev);
	r->metric = opt_named(L, 1, "metric", NULL, UINT32_MAX, op, r->object,
			      r->netns);
	r->table = opt_named(L, 1, "table", route_tables, UINT32_MAX, op,
			     r->object, r->netns);
	r->scope =
	    opt_named(L, 1, "scope", inet_scopes, 255, op, r->object, r->netns);
	r->proto = opt_named(L, 1, "proto", route_protos, 255, op, r->object,
			     r->netns);
	r->rtype =
	    opt_named(L, 1, "type", route_types, 255, op, r->object, r->netns);
	if (r->table < 0)
		r->table = RT_TABLE_MAIN;
	if (r->rtype < 0)
		r->rtype = add ? RTN_UNICAST : RTN_UNSPEC;
	if (r->proto < 0)
		r->proto = add ? RTPROT_BOOT : RTPROT_UNSPEC;
	if (r->scope < 0)
		r->scope = route_default_scope(add, r->family, (int)r->rtype,
					       r->via != NULL);
}

/* Builds the RTM_NEWROUTE/RTM_DELROUTE message for r into buf. */
static struct nlmsghdr *route_put(lua_State *L, const char *op,
				  struct nl_conn *c, const struct route_req *r,
				  char *buf, uint16_t type, uint16_t nlflags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	int family = r->family;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | nlflags;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)family;
	rtm->rtm_dst_len = (unsigned char)r->d.prefixlen;
	rtm->rtm_table =
	    (unsigned char)(r->table < 256 ? r->table
					   : (long long)RT_TABLE_UNSPEC);
	rtm->rtm_protocol = (unsigned char)r->proto;
	rtm->rtm_scope = (unsigned char)r->scope;
	rtm->rtm_type = (unsigned char)r->rtype;
	rtm->rtm_flags = r->onlink ? RTNH_F_ONLINK : 0;
	if (r->d.family)
		mnl_attr_put(nlh, RTA_DST, inet_len(family), r->d.bytes);
	if (r->via)
		mnl_attr_put(nlh, RTA_GATEWAY, inet_len(family), r->g.bytes);
	if (r->src)
		mnl_attr_put(nlh, RTA_PREFSRC, inet_len(family), r->s.bytes);
	if (r->dev)
		mnl_attr_put_u32(nlh, RTA_OIF,
				 (uint32_t)inet_ifindex(L, c, op, r->object,
							r->netns, r->dev));
	if (r->metric >= 0)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, (uint32_t)r->metric);
	mnl_attr_put_u32(nlh, RTA_TABLE, (uint32_t)r->table);
	return nlh;
}

/*
 * Validates opts (stack index 1), builds and sends one RTM_NEWROUTE or
 * RTM_DELROUTE with nlflags; raises the error object for op on failure.
 */
static int route_change(lua_State *L, const char *op, uint16_t type,
			uint16_t nlflags)
{
	struct route_req r = {0};
	char buf[512];
	struct nlmsghdr *nlh;
	struct nl_conn *c;
	struct nl_err e;

	route_read(L, op, type == RTM_NEWROUTE, &r);
	c = nslab_conn(L, op, r.object, r.netns);
	nlh = route_put(L, op, c, &r, buf, type, nlflags);
	if (nl_run(c, buf, nlh->nlmsg_len, NULL, NULL, &e) < 0) {
		/* IPv6 says ENOENT where IPv4 says ESRCH: one code for both,
		 * as documented (a missing dev or netns raised before). */
		if (type == RTM_DELROUTE && e.err == ENOENT &&
		    r.family == AF_INET6)
			e.err = ESRCH;
		if (!e.ext[0] && e.err == ESRCH)
			snprintf(e.ext, sizeof(e.ext), "no such route");
		else if (!e.ext[0] && e.err == EEXIST)
			snprintf(e.ext, sizeof(e.ext),
				 "the route exists (route.replace changes it)");
		return nslab_raise_nl(L, op, r.object, r.netns, &e);
	}
	return 0;
}

/* route.add{dst=, via=, dev=, ...}: a new route; EEXIST if there is one. */
static int l_route_add(lua_State *L)
{
	return route_change(L, "route.add", RTM_NEWROUTE,
			    NLM_F_CREATE | NLM_F_EXCL);
}

/* route.replace{...}: adds the route or replaces the one to that dst. */
static int l_route_replace(lua_State *L)
{
	return route_change(L, "route.replace", RTM_NEWROUTE,
			    NLM_F_CREATE | NLM_F_REPLACE);
}

/* route.del{...}: deletes the first route matching the given fields. */
static int l_route_del(lua_State *L)
{
	return route_change(L, "route.del", RTM_DELROUTE, 0);
}

/* ---- route.list ---- */

static const char *const list_fields[] = {"netns", "family", "table", "dev",
					  NULL};

struct route_list {
	lua_State *L;
	int names, out;	 /* stack indexes: ifindex -> ifname, result */
	long long table; /* -1: every table */
	int oif;	 /* 0: any device */
	lua_Integer n;
};

/* Pushes an address attribute as text into field of the table on top. */
static void route_set_addr(lua_State *L, const struct nlattr *a, int family,
			   const char *field)
{
	if (mnl_attr_get_payload_len(a) != inet_len(family))
		return;
	inet_push(L, family, mnl_attr_get_payload(a));
	lua_setfield(L, -2, field);
}

/* The table id of a route message: RTA_TABLE, else rtm_table. */
static uint32_t route_table_of(const struct nlmsghdr *nlh, uint32_t *oif)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	uint32_t table = rtm->rtm_table;

	*oif = 0;
	mnl_attr_for_each (a, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(a) == RTA_TABLE &&
		    mnl_attr_get_payload_len(a) == 4)
			table = mnl_attr_get_u32(a);
		if (mnl_attr_get_type(a) == RTA_OIF &&
		    mnl_attr_get_payload_len(a) == 4)
			*oif = mnl_attr_get_u32(a);
	}
	return table;
}

int route_push_msg(lua_State *L, const struct nlmsghdr *nlh, int names)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	uint32_t table, oif;
	int family, has_dst = 0;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*rtm))
		return 0;
	family = rtm->rtm_family;
	if ((family != AF_INET && family != AF_INET6) ||
	    (rtm->rtm_flags & RTM_F_CLONED))
		return 0;
	table = route_table_of(nlh, &oif);
	lua_createtable(L, 0, 12);
	lua_pushstring(L, inet_family_name(family));
	lua_setfield(L, -2, "family");
	mnl_attr_for_each (a, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(a)) {
		case RTA_DST:
			if (mnl_attr_get_payload_len(a) != inet_len(family))
				break;
			inet_push(L, family, mnl_attr_get_payload(a));
			lua_pushfstring(L, "%s/%d", lua_tostring(L, -1),
					rtm->rtm_dst_len);
			lua_setfield(L, -3, "dst");
			lua_pop(L, 1);
			has_dst = 1;
			break;
		case RTA_GATEWAY:
			route_set_addr(L, a, family, "via");
			break;
		case RTA_PREFSRC:
			route_set_addr(L, a, family, "src");
			break;
		case RTA_PRIORITY:
			lua_pushinteger(L, mnl_attr_get_u32(a));
			lua_setfield(L, -2, "metric");
			break;
		}
	}
	if (!has_dst) {
		lua_pushstring(L, rtm->rtm_dst_len ? "?" : "default");
		lua_setfield(L, -2, "dst");
	}
	if (oif) {
		lua_rawgeti(L, names, oif);
		lua_setfield(L, -2, "dev");
	}
	if (rtm->rtm_flags & RTNH_F_ONLINK) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, "onlink");
	}
	inet_set_named(L, -1, "table", route_tables, table);
	inet_set_named(L, -1, "scope", inet_scopes, rtm->rtm_scope);
	inet_set_named(L, -1, "proto", route_protos, rtm->rtm_protocol);
	inet_set_named(L, -1, "type", route_types, rtm->rtm_type);
	return 1;
}

static int route_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_list *l = data;
	uint32_t table, oif;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct rtmsg))
		return MNL_CB_OK;
	table = route_table_of(nlh, &oif);
	if ((l->table >= 0 && table != l->table) ||
	    (l->oif && oif != (uint32_t)l->oif))
		return MNL_CB_OK;
	if (route_push_msg(l->L, nlh, l->names))
		lua_rawseti(l->L, l->out, ++l->n);
	return MNL_CB_OK;
}

/*
 * route.list(opts) -> array of route tables from a RTM_GETROUTE dump
 * (routes cached by the kernel, RTM_F_CLONED, are left out), filtered
 * by table (default main; "all" for every table) and dev.
 */
static int l_route_list(lua_State *L)
{
	struct route_list l = {.L = L, .table = -1};
	const char *netns, *dev, *table;
	struct nl_conn *c;
	struct nl_err e;
	int family;

	if (lua_isnoneornil(L, 1)) {
		lua_settop(L, 0);
		lua_newtable(L); /* no options: read fields from {} */
	}
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	nslab_check_fields(L, 1, list_fields);
	netns = nslab_opt_netns(L, 1, "route.list");
	family = route_opt_family(L, 1);
	dev = opt_string(L, 1, "dev");
	if (dev)
		nslab_check_ifname(L, "route.list", dev);
	lua_getfield(L, 1, "table");
	table = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1);
	if (!table || strcmp(table, "all") != 0) {
		l.table = opt_named(L, 1, "table", route_tables, UINT32_MAX,
				    "route.list", NULL, netns);
		if (l.table < 0)
			l.table = RT_TABLE_MAIN;
	}
	c = nslab_conn(L, "route.list", NULL, netns);
	if (dev)
		l.oif = inet_ifindex(L, c, "route.list", dev, netns, dev);
	inet_push_ifnames(L, c, "route.list", netns);
	l.names = lua_gettop(L);
	lua_newtable(L);
	l.out = lua_gettop(L);

	if (nl_dump(c, RTM_GETROUTE, sizeof(struct rtmsg),
		    (unsigned char)family, route_list_cb, &l, &e) < 0)
		return nslab_raise_nl(L, "route.list", NULL, netns, &e);
	return 1;
}

static const luaL_Reg funcs[] = {
    {"add", l_route_add}, {"replace", l_route_replace},
    {"del", l_route_del}, {"list", l_route_list},
    {NULL, NULL},
};

void nslab_open_route(lua_State *L)
{
	nslab_newlib(L, "route", funcs);
}
