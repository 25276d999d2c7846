/*
 * tc.c - nslab.tc, what its verbs share: the table of functions, the
 * target of a call (dev, netns, parent or classid), the value readers
 * (rates, times, percentages, sizes in tc's units or as numbers), the
 * tcmsg header, warnings and errors; and tc.rate, tc.time, tc.percent.
 *
 * Netlink: the tcmsg header of RTM_*QDISC, RTM_*TCLASS, RTM_*TFILTER.
 * Read: rtnetlink(7), tc(8) ("PARAMETERS"), linux/pkt_sched.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "net/net.h"
#include "net/tc.h"

enum tc_unit { TC_RATE, TC_TIME, TC_PERCENT, TC_SIZE };

/* Raises EINVAL for the value of field in t (or op alone). */
static int bad_value(lua_State *L, const char *op, const char *object,
		     const char *netns, const char *why)
{
	return nslab_raise(L, op, object, netns, EINVAL, why);
}

/* A number given for unit: checked against its range, stored in *u
 * (rate, size) or *d (time, percent). */
static void number_value(lua_State *L, int idx, enum tc_unit unit,
			 const char *field, const char *op, const char *object,
			 const char *netns, uint64_t *u, double *d)
{
	static const char *const max[] = {"9.2e18 bit/s", "274 s", "1 (100%)",
					  "4294967295 bytes"};
	static const double top[] = {9.2e18, 274.877, 1, 4294967295.0};
	double x = lua_tonumber(L, idx);

	if (isnan(x) || x < (unit == TC_RATE ? 1 : 0) || x > top[unit])
		bad_value(L, op, object, netns,
			  lua_pushfstring(L, "%s %s is out of range (%s..%s)",
					  field, luaL_tolstring(L, idx, NULL),
					  unit == TC_RATE ? "1" : "0",
					  max[unit]));
	if (unit == TC_SIZE && !lua_isinteger(L, idx))
		bad_value(L, op, object, netns,
			  lua_pushfstring(L, "%s %s must be whole bytes", field,
					  luaL_tolstring(L, idx, NULL)));
	if (unit == TC_RATE || unit == TC_SIZE)
		*u = (uint64_t)llround(x);
	else
		*d = x;
}

/* The value at idx (a string in tc's units or a number) for unit. */
static void unit_value(lua_State *L, int idx, enum tc_unit unit,
		       const char *field, const char *op, const char *object,
		       const char *netns, uint64_t *u, double *d)
{
	char why[300];
	const char *s;
	int r = 0;

	if (lua_type(L, idx) == LUA_TNUMBER) {
		number_value(L, idx, unit, field, op, object, netns, u, d);
		return;
	}
	if (lua_type(L, idx) != LUA_TSTRING)
		luaL_argerror(L, 1,
			      lua_pushfstring(L,
					      "%s%s%s must be a string or a "
					      "number, not %s",
					      idx == 1 ? "" : "field '",
					      idx == 1 ? "value" : field,
					      idx == 1 ? "" : "'",
					      luaL_typename(L, idx)));
	s = nslab_nonul(L, idx, op, field);
	switch (unit) {
	case TC_RATE:
		r = tc_parse_rate(s, u, why, sizeof(why));
		break;
	case TC_TIME:
		r = tc_parse_time(s, d, why, sizeof(why));
		if (!r && *d > 274.877) {
			snprintf(why, sizeof(why),
				 "time \"%s\" is out of range (0..274s)", s);
			r = -1;
		}
		break;
	case TC_PERCENT:
		r = tc_parse_percent(s, d, why, sizeof(why));
		break;
	case TC_SIZE:
		r = tc_parse_size(s, u, why, sizeof(why));
		break;
	}
	if (r < 0)
		bad_value(L, op, object, netns,
			  lua_pushfstring(L, "%s: %s", field, why));
}

/* Reads t[field] of the table at 1 through unit_value; 0 when absent. */
static int opt_unit(lua_State *L, const struct tc_target *t, const char *field,
		    enum tc_unit unit, uint64_t *u, double *d)
{
	if (lua_getfield(L, 1, field) == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	unit_value(L, lua_gettop(L), unit, field, t->op, t->object, t->netns, u,
		   d);
	lua_pop(L, 1);
	return 1;
}

int tc_opt_rate(lua_State *L, const struct tc_target *t, const char *field,
		uint64_t *v)
{
	return opt_unit(L, t, field, TC_RATE, v, NULL);
}

int tc_opt_time(lua_State *L, const struct tc_target *t, const char *field,
		double *v)
{
	return opt_unit(L, t, field, TC_TIME, NULL, v);
}

int tc_opt_percent(lua_State *L, const struct tc_target *t, const char *field,
		   double *v)
{
	return opt_unit(L, t, field, TC_PERCENT, NULL, v);
}

int tc_opt_size(lua_State *L, const struct tc_target *t, const char *field,
		uint64_t *v)
{
	return opt_unit(L, t, field, TC_SIZE, v, NULL);
}

/* A parent or handle text: "root", "ingress", "clsact" (parents only) or
 * MAJOR:MINOR in hex. */
static uint32_t handle_value(lua_State *L, const char *s, int parent,
			     const char *field, const char *op,
			     const char *object, const char *netns)
{
	char why[160];
	uint32_t h;

	if (parent && !strcmp(s, "root"))
		return TC_H_ROOT;
	if (parent && (!strcmp(s, "ingress") || !strcmp(s, "clsact")))
		return TC_H_INGRESS; /* TC_H_CLSACT is the same */
	if (tc_parse_handle(s, &h, why, sizeof(why)) < 0)
		bad_value(L, op, object, netns,
			  lua_pushfstring(L, "%s: %s%s", field, why,
					  parent ? " or \"root\", \"ingress\", "
						   "\"clsact\""
						 : ""));
	return h;
}

int tc_opt_handle(lua_State *L, const struct tc_target *t, const char *field,
		  uint32_t *v)
{
	const char *s = opt_string(L, 1, field);

	if (!s)
		return 0;
	*v = handle_value(L, s, 0, field, t->op, t->object, t->netns);
	return 1;
}

void tc_read_target(lua_State *L, struct tc_target *t, const char *op,
		    const char *pfield, const char *def)
{
	const char *p;

	t->op = op;
	t->netns = nslab_opt_netns(L, 1, op);
	t->dev = opt_string(L, 1, "dev");
	if (!t->dev)
		luaL_argerror(L, 1, "field 'dev' is required (an ifname)");
	nslab_check_ifname(L, op, t->dev);
	p = opt_string(L, 1, pfield);
	if (!p)
		p = def;
	t->object = lua_pushfstring(L, "%s of %s", p, t->dev);
	t->parent = handle_value(L, p, !strcmp(pfield, "parent"), pfield, op,
				 t->object, t->netns);
	t->handle = 0;
	t->ifindex = 0;
	t->c = NULL;
}

void tc_open(lua_State *L, struct tc_target *t)
{
	struct nl_err e;

	t->c = nslab_conn(L, t->op, t->object, t->netns);
	t->ifindex = nl_ifindex(t->c, t->dev, &e);
	if (t->ifindex > 0)
		return;
	if (!e.ext[0] && e.err == ENODEV)
		snprintf(e.ext, sizeof(e.ext), "no such interface \"%s\"",
			 t->dev);
	nslab_raise_nl(L, t->op, t->object, t->netns, &e);
}

struct nlmsghdr *tc_put_msg(char *buf, uint16_t type, uint16_t flags,
			    const struct tc_target *t, uint32_t info)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = t->ifindex;
	tcm->tcm_parent = t->parent;
	tcm->tcm_handle = t->handle;
	tcm->tcm_info = info;
	return nlh;
}

void tc_set_warnings(lua_State *L, const struct nl_err *e)
{
	if (!e->warn[0])
		return;
	lua_createtable(L, 1, 0);
	lua_pushstring(L, e->warn);
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, "warnings");
}

int tc_raise(lua_State *L, const struct tc_target *t, struct nl_err *e)
{
	if (!e->ext[0] && e->err == EEXIST)
		snprintf(e->ext, sizeof(e->ext),
			 "there is one already (the _replace verb changes it)");
	return nslab_raise_nl(L, t->op, t->object, t->netns, e);
}

/* The kernel options and modules of the kinds nslab knows. */
static const struct {
	const char *what, *kind, *config, *module;
} kinds[] = {
    {"qdisc", "tbf", "CONFIG_NET_SCH_TBF", "sch_tbf"},
    {"qdisc", "htb", "CONFIG_NET_SCH_HTB", "sch_htb"},
    {"qdisc", "netem", "CONFIG_NET_SCH_NETEM", "sch_netem"},
    {"qdisc", "pfifo", "CONFIG_NET_SCH_FIFO", "(built in)"},
    {"qdisc", "fq_codel", "CONFIG_NET_SCH_FQ_CODEL", "sch_fq_codel"},
    {"qdisc", "fq", "CONFIG_NET_SCH_FQ", "sch_fq"},
    {"qdisc", "ingress", "CONFIG_NET_SCH_INGRESS", "sch_ingress"},
    {"qdisc", "clsact", "CONFIG_NET_SCH_INGRESS", "sch_ingress"},
    {"classifier", "u32", "CONFIG_NET_CLS_U32", "cls_u32"},
    {"classifier", "matchall", "CONFIG_NET_CLS_MATCHALL", "cls_matchall"},
    {"action", "mirred", "CONFIG_NET_ACT_MIRRED", "act_mirred"},
};

const char *tc_kind_missing(lua_State *L, const char *what, const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].what, what) &&
		    !strcmp(kinds[i].kind, kind))
			return lua_pushfstring(L,
					       "this kernel has no %s \"%s\" "
					       "(needs %s, module %s)",
					       what, kind, kinds[i].config,
					       kinds[i].module);
	return lua_pushfstring(L, "this kernel has no %s \"%s\"", what, kind);
}

/* tc.rate(v), tc.time(v), tc.percent(v), tc.size(v): one value in
 * nslab's units (bit/s integer, seconds, fraction, bytes integer). */
static int convert(lua_State *L, enum tc_unit unit, const char *op)
{
	uint64_t u = 0;
	double d = 0;

	luaL_checkany(L, 1);
	lua_settop(L, 1);
	unit_value(L, 1, unit, "value", op,
		   lua_type(L, 1) == LUA_TSTRING
		       ? lua_pushfstring(L, "\"%s\"", lua_tostring(L, 1))
		       : NULL,
		   NULL, &u, &d);
	if (unit == TC_RATE || unit == TC_SIZE)
		lua_pushinteger(L, (lua_Integer)u);
	else
		lua_pushnumber(L, d);
	return 1;
}

static int l_tc_rate(lua_State *L)
{
	return convert(L, TC_RATE, "tc.rate");
}

static int l_tc_time(lua_State *L)
{
	return convert(L, TC_TIME, "tc.time");
}

static int l_tc_percent(lua_State *L)
{
	return convert(L, TC_PERCENT, "tc.percent");
}

static int l_tc_size(lua_State *L)
{
	return convert(L, TC_SIZE, "tc.size");
}

void nslab_open_tc(lua_State *L)
{
	static const luaL_Reg funcs[] = {
	    {"qdisc_add", l_tc_qdisc_add},
	    {"qdisc_replace", l_tc_qdisc_replace},
	    {"qdisc_del", l_tc_qdisc_del},
	    {"qdisc_list", l_tc_qdisc_list},
	    {"class_add", l_tc_class_add},
	    {"class_replace", l_tc_class_replace},
	    {"class_del", l_tc_class_del},
	    {"filter_add", l_tc_filter_add},
	    {"filter_del", l_tc_filter_del},
	    {"available", l_tc_available},
	    {"netem_options", l_tc_netem_options},
	    {"rate", l_tc_rate},
	    {"time", l_tc_time},
	    {"percent", l_tc_percent},
	    {"size", l_tc_size},
	    {NULL, NULL},
	};

	nslab_newlib(L, "tc", funcs);
}
