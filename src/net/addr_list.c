/*
 * addr_list.c - reading addresses: the RTM_NEWADDR parser (IFA_FLAGS for
 * the 32-bit flags) and addr.list (an RTM_GETADDR dump).
 *
 * Read: rtnetlink(7), ip-address(8), linux/if_addr.h.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ipv6.h>
#include <linux/rtnetlink.h>

#include "net/addr.h"

/* Fills r from an RTM_NEWADDR message; returns 0, or -1 if malformed. */
int addr_parse_msg(const struct nlmsghdr *nlh, struct addr_row *r)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t alen;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*ifa))
		return -1;
	memset(r, 0, sizeof(*r));
	r->family = ifa->ifa_family;
	r->prefixlen = ifa->ifa_prefixlen;
	r->scope = ifa->ifa_scope;
	r->ifindex = (int)ifa->ifa_index;
	r->flags = ifa->ifa_flags;
	alen = inet_len(r->family);
	mnl_attr_for_each (a, nlh, sizeof(*ifa)) {
		uint16_t len = mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case IFA_LOCAL:
			if (len == alen)
				r->has_local = 1,
				memcpy(r->local, mnl_attr_get_payload(a), alen);
			break;
		case IFA_ADDRESS:
			if (len == alen)
				r->has_peer = 1,
				memcpy(r->peer, mnl_attr_get_payload(a), alen);
			break;
		case IFA_BROADCAST:
			if (len == 4)
				r->has_brd = 1,
				memcpy(r->brd, mnl_attr_get_payload(a), 4);
			break;
		case IFA_LABEL:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(r->label, sizeof(r->label), "%s",
					 mnl_attr_get_str(a));
			break;
		case IFA_FLAGS:
			if (len == 4)
				r->flags = mnl_attr_get_u32(a);
			break;
		}
	}
	/* IFA_LOCAL is the address; IFA_ADDRESS the peer when they differ
	 * (v6 without a peer has IFA_ADDRESS alone). */
	if (!r->has_local && r->has_peer) {
		memcpy(r->local, r->peer, alen);
		r->has_local = 1, r->has_peer = 0;
	} else if (r->has_peer && !memcmp(r->local, r->peer, alen)) {
		r->has_peer = 0;
	}
	return r->has_local ? 0 : -1;
}

static void set_bool(lua_State *L, const char *field, int v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, field);
}

/* Pushes the listing table of r (see addr.list). */
void addr_push_row(lua_State *L, const struct addr_row *r, const char *ifname)
{
	lua_createtable(L, 0, 16);
	if (ifname) {
		lua_pushstring(L, ifname);
		lua_setfield(L, -2, "ifname");
	}
	lua_pushinteger(L, r->ifindex);
	lua_setfield(L, -2, "ifindex");
	lua_pushstring(L, inet_family_name(r->family));
	lua_setfield(L, -2, "family");
	inet_push(L, r->family, r->local);
	lua_setfield(L, -2, "address");
	lua_pushinteger(L, r->prefixlen);
	lua_setfield(L, -2, "prefixlen");
	inet_set_named(L, -1, "scope", inet_scopes, (unsigned)r->scope);
	set_bool(L, "tentative", (r->flags & IFA_F_TENTATIVE) != 0);
	set_bool(L, "dadfailed", (r->flags & IFA_F_DADFAILED) != 0);
	set_bool(L, "deprecated", (r->flags & IFA_F_DEPRECATED) != 0);
	set_bool(L, "nodad", (r->flags & IFA_F_NODAD) != 0);
	set_bool(L, "noprefixroute", (r->flags & IFA_F_NOPREFIXROUTE) != 0);
	set_bool(L, "permanent", (r->flags & IFA_F_PERMANENT) != 0);
	if (r->has_brd) {
		inet_push(L, AF_INET, r->brd);
		lua_setfield(L, -2, "broadcast");
	}
	if (r->has_peer) {
		inet_push(L, r->family, r->peer);
		lua_setfield(L, -2, "peer");
	}
	if (r->label[0] && (!ifname || strcmp(r->label, ifname) != 0)) {
		lua_pushstring(L, r->label);
		lua_setfield(L, -2, "label");
	}
}

/* ---- addr.list ---- */

static const char *const list_fields[] = {"netns", "ifname", "family", NULL};

struct addr_list {
	lua_State *L;
	int names, out; /* stack indexes: ifindex -> ifname, result */
	int ifindex;	/* 0: every link */
	lua_Integer n;
};

static int addr_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_list *l = data;
	struct addr_row r;

	if (nlh->nlmsg_type != RTM_NEWADDR || addr_parse_msg(nlh, &r) < 0)
		return MNL_CB_OK;
	if (l->ifindex && r.ifindex != l->ifindex)
		return MNL_CB_OK;
	lua_rawgeti(l->L, l->names, r.ifindex);
	addr_push_row(l->L, &r, lua_tostring(l->L, -1));
	lua_rawseti(l->L, l->out, ++l->n);
	lua_pop(l->L, 1);
	return MNL_CB_OK;
}

/*
 * addr.list(opts) -> array of address tables, in the kernel's order
 * (RTM_GETADDR dump; a RTM_GETLINK dump names the links).
 */
int l_addr_list(lua_State *L)
{
	struct addr_list l = {.L = L};
	const char *netns, *ifname, *fam;
	struct nl_conn *c;
	struct nl_err e;
	int family = AF_UNSPEC;

	if (!lua_isnoneornil(L, 1))
		luaL_checktype(L, 1, LUA_TTABLE);
	nslab_check_fields(L, 1, list_fields);
	netns = nslab_opt_netns(L, 1, "addr.list");
	ifname = opt_string(L, 1, "ifname");
	fam = opt_string(L, 1, "family");
	if (fam && strcmp(fam, "inet") != 0 && strcmp(fam, "inet6") != 0)
		luaL_argerror(L, 1,
			      "field 'family' must be \"inet\" or \"inet6\"");
	if (fam)
		family = strcmp(fam, "inet") != 0 ? AF_INET6 : AF_INET;
	if (ifname)
		nslab_check_ifname(L, "addr.list", ifname);
	c = nslab_conn(L, "addr.list", ifname, netns);
	if (ifname) {
		l.ifindex =
		    inet_ifindex(L, c, "addr.list", ifname, netns, ifname);
		lua_newtable(L);
		lua_pushstring(L, ifname);
		lua_rawseti(L, -2, l.ifindex);
	} else {
		inet_push_ifnames(L, c, "addr.list", netns);
	}
	l.names = lua_gettop(L);
	lua_newtable(L);
	l.out = lua_gettop(L);

	if (nl_dump(c, RTM_GETADDR, sizeof(struct ifaddrmsg),
		    (unsigned char)family, addr_list_cb, &l, &e) < 0)
		return nslab_raise_nl(L, "addr.list", ifname, netns, &e);
	return 1;
}
