/*
 * inet.h - what addr.c and route.c share: parsing "address[/prefixlen]"
 * text, the names of scopes (and other small number<->name tables), option
 * fields read from Lua tables, and ifindex<->ifname lookups raising error
 * objects. Implemented in inet.c.
 *
 * Read: inet_pton(3), rtnetlink(7) (rtm_scope), ip-address(8).
 */
#ifndef NSLAB_INET_H
#define NSLAB_INET_H

#include "core/core.h"

/* An IPv4 or IPv6 address with its prefix length. */
struct inet_addr {
	int family;    /* AF_INET or AF_INET6 */
	int prefixlen; /* bits; the full length when the text had none */
	int has_len;   /* the text had "/len" */
	unsigned char bytes[16];
};

/* A number<->name table, ended by a NULL name. */

extern const struct opt_name inet_scopes[];

/* Bytes of an address of family (4 or 16). */
size_t inet_len(int family);

/* "inet", "inet6" or "unspec". */
const char *inet_family_name(int family);

/*
 * Parses "10.0.0.1/24", "fd00::1/64" or an address alone (prefixlen then
 * 32 or 128) with inet_pton. Returns 0, or -1 with the reason in why
 * ("prefixlen 33 out of range 0..32 for inet").
 */
int inet_parse(const char *text, struct inet_addr *a, char *why, size_t n);

/*
 * As inet_parse, raising an EINVAL error object for op/object/netns on
 * bad text. family (AF_UNSPEC = any) must match; len_ok = 0
 * refuses a "/len" (a gateway is an address, not a prefix).
 */
void inet_check(lua_State *L, const char *op, const char *object,
		const char *netns, const char *text, int family, int len_ok,
		struct inet_addr *a);

/* Pushes the address bytes of family as text ("10.0.0.1", "fd00::1"). */
void inet_push(lua_State *L, int family, const void *bytes);

/* The name of value in tab, or NULL. */
const char *inet_name_of(const struct opt_name *tab, unsigned int value);

/* Sets t[field] = name of value in tab, or the number when unnamed. */
void inet_set_named(lua_State *L, int t, const char *field,
		    const struct opt_name *tab, unsigned int value);

/*
 * The ifindex of ifname in c's namespace; raises the error object for
 * op/object/netns (ENODEV "no such interface") when there is none.
 */
int inet_ifindex(lua_State *L, struct nl_conn *c, const char *op,
		 const char *object, const char *netns, const char *ifname);

/*
 * Pushes a table ifindex -> ifname of every link in c's namespace
 * (RTM_GETLINK dump); raises the error object for op/netns on failure.
 */
void inet_push_ifnames(lua_State *L, struct nl_conn *c, const char *op,
		       const char *netns);

#endif
