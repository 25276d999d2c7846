/*
 * tc.h - nslab.tc, traffic control over rtnetlink: qdiscs (tc_qdisc.c,
 * their options in tc_opts.c, listing in tc_list.c), htb classes
 * (tc_class.c), filters with a mirred action (tc_filter.c), the probe
 * (tc_probe.c) and what they share (tc.c). The text rules are Lua-free in
 * tc_units.h.
 *
 * Read: rtnetlink(7) (RTM_NEWQDISC, RTM_NEWTCLASS, RTM_NEWTFILTER),
 * tc(8), tc-tbf(8), tc-htb(8), tc-netem(8), tc-mirred(8),
 * linux/pkt_sched.h, linux/pkt_cls.h.
 */
#ifndef NSLAB_NET_TC_H
#define NSLAB_NET_TC_H

#include <stdint.h>

#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "core/core.h"
#include "net/tc_units.h"

#define TC_BUF 4096 /* one request: a few attributes, no rate tables */

/* What one call acts on: read from the option table, then opened. */
struct tc_target {
	const char *op;	    /* "tc.qdisc_add" */
	const char *netns;  /* NULL: nslab's own */
	const char *dev;    /* ifname */
	const char *object; /* "root of eth0": named in errors */
	uint32_t parent;    /* tcm_parent */
	uint32_t handle;    /* tcm_handle */
	int ifindex;	    /* 0 until tc_open */
	struct nl_conn *c;  /* NULL until tc_open */
};

/* The parameters of a qdisc or class, read by tc_read_opts. */
struct tc_opts {
	uint64_t rate, ceil;	   /* bits/s; 0: not given */
	uint64_t burst, cburst;	   /* bytes; 0: not given */
	int64_t limit;		   /* bytes (tbf) or packets; -1: not given */
	double latency;		   /* seconds; < 0: not given */
	uint32_t defcls, r2q;	   /* htb */
	double delay, jitter;	   /* netem, seconds */
	double loss, corrupt;	   /* netem, fractions 0..1 */
	double duplicate, reorder; /* netem, fractions 0..1 */
};

/* ---- tc.c ---- */

/*
 * Reads dev (required), netns and the handle-like field pfield ("parent",
 * "classid"; absent: def) of the table at 1 into t and sets t->object to
 * "<pfield text> of <dev>". Raises argument errors and EINVAL objects.
 * A parent may be "root", "ingress", "clsact" or a handle.
 */
void tc_read_target(lua_State *L, struct tc_target *t, const char *op,
		    const char *pfield, const char *def);

/* Opens t's socket and looks its dev up; raises ENODEV naming dev. */
void tc_open(lua_State *L, struct tc_target *t);

/* The value fields, as strings in tc's units or numbers in nslab's
 * (bit/s, seconds, fractions, bytes). Each returns 1 and stores it when
 * present, 0 when absent; raises an EINVAL object on a bad value. */
int tc_opt_rate(lua_State *L, const struct tc_target *t, const char *field,
		uint64_t *v);
int tc_opt_time(lua_State *L, const struct tc_target *t, const char *field,
		double *v);
int tc_opt_percent(lua_State *L, const struct tc_target *t, const char *field,
		   double *v);
int tc_opt_size(lua_State *L, const struct tc_target *t, const char *field,
		uint64_t *v);
int tc_opt_handle(lua_State *L, const struct tc_target *t, const char *field,
		  uint32_t *v);

/* Starts a request of type with flags: nlmsghdr and tcmsg for t. */
struct nlmsghdr *tc_put_msg(char *buf, uint16_t type, uint16_t flags,
			    const struct tc_target *t, uint32_t info);

/* Sets field "warnings" = {e->warn} of the table at the top when the
 * kernel sent one. */
void tc_set_warnings(lua_State *L, const struct nl_err *e);

/* Raises the error object for t from e (no extack: a text per errno). */
int tc_raise(lua_State *L, const struct tc_target *t, struct nl_err *e);

/* Pushes "this kernel has no qdisc \"netem\" (needs CONFIG_..., module
 * ...)"; what is "qdisc", "classifier" or "action". */
const char *tc_kind_missing(lua_State *L, const char *what, const char *kind);

/* ---- tc_opts.c: the parameters of each kind ---- */

/* The field names a qdisc kind (or class kind, class != 0) accepts
 * besides the common ones; NULL for a kind nslab does not know. */
const char *const *tc_kind_fields(const char *kind, int class);

/* Reads the parameters of kind from the table at 1 into o. */
void tc_read_opts(lua_State *L, const struct tc_target *t, const char *kind,
		  int class, struct tc_opts *o);

/* Appends TCA_OPTIONS for kind (a qdisc, or an htb class) to nlh. */
void tc_put_opts(struct nlmsghdr *nlh, const char *kind, int class,
		 const struct tc_opts *o);

/* ---- tc_list.c ---- */

/* Pushes the qdisc (or class) in an RTM_NEWQDISC (RTM_NEWTCLASS) message
 * as the table qdisc_list returns; dev may be NULL (then from names, a
 * table ifindex -> ifname at stack index names, or 0). */
void tc_push_qdisc(lua_State *L, const struct nlmsghdr *nlh, const char *dev,
		   int names);

/* ---- the Lua functions (tc_qdisc.c, tc_list.c, tc_class.c,
 * tc_filter.c, tc_probe.c) ---- */
int l_tc_qdisc_add(lua_State *L);
int l_tc_qdisc_replace(lua_State *L);
int l_tc_qdisc_del(lua_State *L);
int l_tc_qdisc_list(lua_State *L);
int l_tc_netem_options(lua_State *L);
int l_tc_class_add(lua_State *L);
int l_tc_class_replace(lua_State *L);
int l_tc_class_del(lua_State *L);
int l_tc_filter_add(lua_State *L);
int l_tc_filter_del(lua_State *L);
int l_tc_available(lua_State *L);

#endif
