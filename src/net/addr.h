/*
 * addr.h - what the address files share: addr.c (add, del, the table),
 * addr_list.c (the RTM_NEWADDR parser, list), addr_dad.c (the link's DAD
 * settings and the wait for Duplicate Address Detection's outcome).
 *
 * Read: rtnetlink(7), ip-address(8), RFC 4862, linux/if_addr.h.
 */
#ifndef NSLAB_ADDR_H
#define NSLAB_ADDR_H

#include <net/if.h>
#include <stdint.h>

#include "net/inet.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* linux/if.h: carrier on */
#endif

/* One address as RTM_NEWADDR describes it. */
struct addr_row {
	int family, prefixlen, scope, ifindex;
	uint32_t flags;			   /* IFA_F_*, all 32 bits */
	unsigned char local[16], peer[16]; /* IFA_LOCAL, IFA_ADDRESS */
	unsigned char brd[4];		   /* IFA_BROADCAST */
	int has_local, has_peer, has_brd;
	char label[IFNAMSIZ];
};

/* What addr.add needs to know of the link before and after adding. */
struct addr_link {
	int ifindex;
	unsigned int flags; /* IFF_UP, IFF_LOWER_UP, ... */
	int dad_transmits, accept_dad, solicit_delay_ms, retrans_ms;
};

/* IFA_BROADCAST of an IPv4 r: mode 1 as `brd +` computes it (host bits
 * set, none below /31), 2 as r->brd holds it, 0 none (addr.c). */
void addr_set_broadcast(struct addr_row *r, int mode);

/* Builds in buf the RTM_NEWADDR (NLM_F_CREATE|NLM_F_EXCL) adding r. */
struct nlmsghdr *addr_put(char *buf, const struct addr_row *r);

/* Fills r from an RTM_NEWADDR message; returns 0, or -1 if malformed. */
int addr_parse_msg(const struct nlmsghdr *nlh, struct addr_row *r);

/* Pushes r as the Lua table addr.list/addr.add return; ifname names the
 * link (a label equal to it is left out). */
void addr_push_row(lua_State *L, const struct addr_row *r, const char *ifname);

/* The link ifname of c's netns (one RTM_GETLINK) into k; raises ENODEV
 * etc. for op/object/netns. */
void addr_link_get(lua_State *L, struct nl_conn *c, const char *op,
		   const char *object, const char *netns, const char *ifname,
		   struct addr_link *k);

/*
 * Polls RTM_GETADDR until the IPv6 address r is no longer tentative,
 * updating r->flags. Raises EADDRNOTAVAIL when DAD failed, ETIMEDOUT past
 * the deadline and EINTR when a signal interrupts the wait.
 */
void addr_wait_dad(lua_State *L, struct nl_conn *c, const char *object,
		   const char *netns, const struct addr_link *k,
		   struct addr_row *r, const char *ifname);

/* addr.list (addr_list.c). */
int l_addr_list(lua_State *L);

/* addr.settle (addr_dad.c): waits for new link-local addresses to lose
 * the tentative flag where DAD is off. */
int l_addr_settle(lua_State *L);

#endif
