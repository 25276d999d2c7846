/*
 * tc_opts.c - the parameters of each qdisc kind and of htb classes: which
 * fields a kind takes, reading and checking them, and the TCA_OPTIONS
 * the kernel expects, laid out as iproute2's tc sends them (tbf: PARMS
 * and BURST; htb: INIT, or PARMS for a class; netem: struct
 * tc_netem_qopt followed by its attributes, not nested).
 *
 * Rate tables (TCA_TBF_RTAB, TCA_HTB_RTAB/CTAB) are not sent: with the
 * rate's linklayer set (TC_LINKLAYER_ETHERNET) the kernel computes rates
 * itself and reads no table, since Linux 3.11.
 *
 * Read: tc-tbf(8), tc-htb(8), tc-netem(8), linux/pkt_sched.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "net/tc.h"

#define COMMON "dev", "netns", "parent", "handle", "kind"
#define CLASS  "dev", "netns", "parent", "classid", "kind"

static const char *const tbf_fields[] = {COMMON,    "rate",  "burst",
					 "latency", "limit", NULL};
static const char *const htb_fields[] = {COMMON, "default", "r2q", NULL};
static const char *const netem_fields[] = {COMMON,    "delay",	 "jitter",
					   "loss",    "corrupt", "duplicate",
					   "reorder", "limit",	 NULL};
static const char *const limit_fields[] = {COMMON, "limit", NULL};
static const char *const plain_fields[] = {COMMON, NULL};
static const char *const htb_class_fields[] = {CLASS,	"rate",	  "ceil",
					       "burst", "cburst", NULL};

const char *const *tc_kind_fields(const char *kind, int class)
{
	if (class)
		return strcmp(kind, "htb") ? NULL : htb_class_fields;
	if (!strcmp(kind, "tbf"))
		return tbf_fields;
	if (!strcmp(kind, "htb"))
		return htb_fields;
	if (!strcmp(kind, "netem"))
		return netem_fields;
	if (!strcmp(kind, "pfifo") || !strcmp(kind, "fq_codel"))
		return limit_fields;
	if (!strcmp(kind, "ingress") || !strcmp(kind, "clsact"))
		return plain_fields;
	return NULL;
}

static int bad(lua_State *L, const struct tc_target *t, const char *why)
{
	return nslab_raise(L, t->op, t->object, t->netns, EINVAL, why);
}

/* A required rate of at least one byte per second. */
static uint64_t need_rate(lua_State *L, const struct tc_target *t,
			  const char *field, const char *kind)
{
	uint64_t v = 0;

	if (!tc_opt_rate(L, t, field, &v))
		luaL_argerror(L, 1,
			      lua_pushfstring(L,
					      "field '%s' is required for %s "
					      "(\"10mbit\" or bits per second)",
					      field, kind));
	if (v < 8)
		bad(L, t,
		    lua_pushfstring(L, "%s must be at least 8bit (1 byte/s)",
				    field));
	return v;
}

/* A burst: given (at least 1 byte) or the default for rate. */
static uint64_t opt_burst(lua_State *L, const struct tc_target *t,
			  const char *field, uint64_t rate)
{
	uint64_t v = 0;

	if (!tc_opt_size(L, t, field, &v))
		return tc_default_burst(rate);
	if (!v)
		bad(L, t,
		    lua_pushfstring(L, "%s must be at least 1 byte", field));
	return v;
}

/* A packet count 0..UINT32_MAX into o->limit; -1 when absent. */
static void opt_packets(lua_State *L, const struct tc_target *t,
			struct tc_opts *o)
{
	lua_Integer v;

	if (opt_range(L, 1, "limit", 0, UINT32_MAX, &v, t->op, t->object,
		      t->netns))
		o->limit = v;
}

static void read_tbf(lua_State *L, const struct tc_target *t, struct tc_opts *o)
{
	uint64_t limit;
	int has_latency;

	o->rate = need_rate(L, t, "rate", "tbf");
	o->burst = opt_burst(L, t, "burst", o->rate);
	has_latency = tc_opt_time(L, t, "latency", &o->latency);
	if (tc_opt_size(L, t, "limit", &limit)) {
		if (has_latency)
			bad(L, t,
			    "give latency or limit, not both (tc-tbf(8))");
		o->limit = (int64_t)limit;
		return;
	}
	if (!has_latency)
		o->latency = 0.05;
	/* tc's rule: what the rate sends in latency, plus the burst */
	limit = (uint64_t)((double)o->rate / 8 * o->latency) + o->burst;
	o->limit = limit > UINT32_MAX ? UINT32_MAX : (int64_t)limit;
}

static void read_htb(lua_State *L, const struct tc_target *t, struct tc_opts *o)
{
	lua_Integer v;
	uint32_t h;

	o->r2q = 10;
	if (opt_range(L, 1, "r2q", 1, UINT32_MAX, &v, t->op, t->object,
		      t->netns))
		o->r2q = (uint32_t)v;
	lua_getfield(L, 1, "default");
	if (lua_type(L, -1) == LUA_TSTRING) {
		/* tc's notation: the minor in hex ("10" is class 1:10) */
		lua_pushfstring(L, ":%s", lua_tostring(L, -1));
		h = 0;
		if (tc_parse_handle(lua_tostring(L, -1), &h, NULL, 0) < 0 &&
		    tc_parse_handle(lua_tostring(L, -2), &h, NULL, 0) < 0)
			bad(L, t,
			    lua_pushfstring(L,
					    "default \"%s\" is not a class "
					    "minor in hex (\"10\", \"1:10\")",
					    lua_tostring(L, -2)));
		o->defcls = h & 0xffff;
		lua_pop(L, 2);
		return;
	}
	lua_pop(L, 1);
	if (opt_range(L, 1, "default", 0, 0xffff, &v, t->op, t->object,
		      t->netns))
		o->defcls = (uint32_t)v;
}

static void read_netem(lua_State *L, const struct tc_target *t,
		       struct tc_opts *o)
{
	int delay = tc_opt_time(L, t, "delay", &o->delay);

	if (tc_opt_time(L, t, "jitter", &o->jitter) && !delay)
		bad(L, t, "jitter needs a delay (tc-netem(8))");
	tc_opt_percent(L, t, "loss", &o->loss);
	tc_opt_percent(L, t, "corrupt", &o->corrupt);
	tc_opt_percent(L, t, "duplicate", &o->duplicate);
	if (tc_opt_percent(L, t, "reorder", &o->reorder) && o->reorder > 0 &&
	    !(o->delay > 0))
		bad(L, t, "reorder needs a delay (tc-netem(8))");
	opt_packets(L, t, o);
	if (o->limit < 0)
		o->limit = 1000; /* tc's default */
}

void tc_read_opts(lua_State *L, const struct tc_target *t, const char *kind,
		  int class, struct tc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->limit = -1;
	o->latency = -1;
	if (class) {
		o->rate = need_rate(L, t, "rate", "an htb class");
		o->burst = opt_burst(L, t, "burst", o->rate);
		o->ceil = o->rate;
		if (tc_opt_rate(L, t, "ceil", &o->ceil) && o->ceil < 8)
			bad(L, t, "ceil must be at least 8bit (1 byte/s)");
		o->cburst = opt_burst(L, t, "cburst", o->ceil);
	} else if (!strcmp(kind, "tbf")) {
		read_tbf(L, t, o);
	} else if (!strcmp(kind, "htb")) {
		read_htb(L, t, o);
	} else if (!strcmp(kind, "netem")) {
		read_netem(L, t, o);
	} else if (!strcmp(kind, "pfifo") || !strcmp(kind, "fq_codel")) {
		opt_packets(L, t, o);
	}
}

/* A rate in the kernel's ratespec: bytes/s, capped at 32 bits (the rest
 * goes in a RATE64 attribute); the linklayer spares the rate table. */
static void ratespec(struct tc_ratespec *r, uint64_t bps)
{
	uint64_t bytes = bps / 8;

	memset(r, 0, sizeof(*r));
	r->linklayer = TC_LINKLAYER_ETHERNET;
	r->cell_align = -1;
	r->rate = bytes >= UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
}

/* Starts TCA_OPTIONS as tc does: without NLA_F_NESTED (netem's payload
 * begins with a struct, not attributes). Ended by mnl_attr_nest_end. */
static struct nlattr *options_start(struct nlmsghdr *nlh)
{
	struct nlattr *a = mnl_attr_nest_start(nlh, TCA_OPTIONS);

	a->nla_type = TCA_OPTIONS;
	return a;
}

static void put_tbf(struct nlmsghdr *nlh, const struct tc_opts *o)
{
	struct tc_tbf_qopt q = {0};

	ratespec(&q.rate, o->rate);
	q.limit = (uint32_t)o->limit;
	q.buffer = tc_xmittime(o->rate, o->burst);
	mnl_attr_put(nlh, TCA_TBF_PARMS, sizeof(q), &q);
	if (o->rate / 8 >= UINT32_MAX)
		mnl_attr_put_u64(nlh, TCA_TBF_RATE64, o->rate / 8);
	mnl_attr_put_u32(nlh, TCA_TBF_BURST, (uint32_t)o->burst);
}

static void put_htb(struct nlmsghdr *nlh, const struct tc_opts *o, int class)
{
	struct tc_htb_glob g = {0};
	struct tc_htb_opt c = {0};

	if (!class) {
		g.version = TC_HTB_PROTOVER;
		g.rate2quantum = o->r2q;
		g.defcls = o->defcls;
		mnl_attr_put(nlh, TCA_HTB_INIT, sizeof(g), &g);
		return;
	}
	ratespec(&c.rate, o->rate);
	ratespec(&c.ceil, o->ceil);
	c.buffer = tc_xmittime(o->rate, o->burst);
	c.cbuffer = tc_xmittime(o->ceil, o->cburst);
	mnl_attr_put(nlh, TCA_HTB_PARMS, sizeof(c), &c);
	if (o->rate / 8 >= UINT32_MAX)
		mnl_attr_put_u64(nlh, TCA_HTB_RATE64, o->rate / 8);
	if (o->ceil / 8 >= UINT32_MAX)
		mnl_attr_put_u64(nlh, TCA_HTB_CEIL64, o->ceil / 8);
}

static void put_netem(struct nlmsghdr *nlh, const struct tc_opts *o)
{
	struct tc_netem_qopt q = {0};
	struct tc_netem_reorder r = {0};
	struct tc_netem_corrupt c = {0};

	q.latency = (uint32_t)tc_ticks(o->delay);
	q.jitter = (uint32_t)tc_ticks(o->jitter);
	q.limit = (uint32_t)o->limit;
	q.loss = tc_percent_u32(o->loss);
	q.duplicate = tc_percent_u32(o->duplicate);
	r.probability = tc_percent_u32(o->reorder);
	if (r.probability)
		q.gap = 1; /* as tc: reorder every other packet at most */
	c.probability = tc_percent_u32(o->corrupt);
	/* the struct comes first in TCA_OPTIONS, its attributes after */
	memcpy(mnl_nlmsg_get_payload_tail(nlh), &q, sizeof(q));
	nlh->nlmsg_len += MNL_ALIGN(sizeof(q));
	if (r.probability)
		mnl_attr_put(nlh, TCA_NETEM_REORDER, sizeof(r), &r);
	if (c.probability)
		mnl_attr_put(nlh, TCA_NETEM_CORRUPT, sizeof(c), &c);
}

void tc_put_opts(struct nlmsghdr *nlh, const char *kind, int class,
		 const struct tc_opts *o)
{
	struct nlattr *opt;
	struct tc_fifo_qopt f = {0};

	if (!strcmp(kind, "ingress") || !strcmp(kind, "clsact"))
		return;
	if ((!strcmp(kind, "pfifo") || !strcmp(kind, "fq_codel")) &&
	    o->limit < 0)
		return; /* the kernel's defaults */
	if (!strcmp(kind, "pfifo")) {
		f.limit = (uint32_t)o->limit;
		mnl_attr_put(nlh, TCA_OPTIONS, sizeof(f), &f);
		return;
	}
	opt = options_start(nlh);
	if (!strcmp(kind, "tbf"))
		put_tbf(nlh, o);
	else if (!strcmp(kind, "htb"))
		put_htb(nlh, o, class);
	else if (!strcmp(kind, "netem"))
		put_netem(nlh, o);
	else if (!strcmp(kind, "fq_codel"))
		mnl_attr_put_u32(nlh, TCA_FQ_CODEL_LIMIT, (uint32_t)o->limit);
	mnl_attr_nest_end(nlh, opt);
}
