/*
 * tc_units.c - the text rules of nslab.tc: rates, times, sizes,
 * percentages and handles as tc(8) writes them, and the conversions to
 * the kernel's units. Pure functions (tc_units.h); no Lua, no I/O.
 *
 * Read: tc(8) ("PARAMETERS"), linux/pkt_sched.h (TC_H_MAJ, TC_H_MIN).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/tc_units.h"

struct unit {
	const char *name;
	double factor; /* to the parser's base unit */
};

static const struct unit rate_units[] = {
    {"bit", 1},
    {"kbit", 1e3},
    {"mbit", 1e6},
    {"gbit", 1e9},
    {"tbit", 1e12},
    {"kibit", 1024.0},
    {"mibit", 1048576.0},
    {"gibit", 1073741824.0},
    {"tibit", 1099511627776.0},
    {"bps", 8},
    {"kbps", 8e3},
    {"mbps", 8e6},
    {"gbps", 8e9},
    {"tbps", 8e12},
    {"kibps", 8 * 1024.0},
    {"mibps", 8 * 1048576.0},
    {"gibps", 8 * 1073741824.0},
    {"tibps", 8 * 1099511627776.0},
    {NULL, 0},
};

static const struct unit time_units[] = {
    {"s", 1},	     {"sec", 1},      {"secs", 1},  {"ms", 1e-3},
    {"msec", 1e-3},  {"msecs", 1e-3}, {"us", 1e-6}, {"usec", 1e-6},
    {"usecs", 1e-6}, {"ns", 1e-9},    {NULL, 0},
};

static const struct unit size_units[] = {
    {"b", 1},
    {"k", 1024},
    {"kb", 1024},
    {"m", 1048576},
    {"mb", 1048576},
    {"g", 1073741824.0},
    {"gb", 1073741824.0},
    {"kbit", 128},
    {"mbit", 131072},
    {"gbit", 134217728},
    {NULL, 0},
};

/*
 * Reads a non-negative decimal number (digits, one optional '.') from s
 * and returns it, with *end after it; -1 when s does not start with one
 * (strtod would also take "inf", "0x10" and leading blanks).
 */
static double number(const char *s, const char **end)
{
	const char *p = s;
	int digits = 0;
	char *e;

	while (isdigit((unsigned char)*p) || *p == '.')
		digits += isdigit((unsigned char)*p++) != 0;
	if (!digits || p - s > 40)
		return -1;
	double v = strtod(s, &e);
	if (e != p)
		return -1; /* two dots, or "1.e5" read differently */
	*end = p;
	return v;
}

/* The value of s in the base unit of units (required unless bare > 0,
 * the factor of a bare number); 0 or -1 with why as documented. */
static int parse(const char *s, const struct unit *units, double bare,
		 const char *what, const char *list, double *v, char *why,
		 size_t n)
{
	const char *u = "";
	double x;

	if (*s == '-') {
		snprintf(why, n, "%s \"%s\" is negative", what, s);
		return -1;
	}
	x = number(s, &u);
	if (x < 0) {
		snprintf(why, n, "%s \"%s\" is not a number with a unit (%s)",
			 what, s, list);
		return -1;
	}
	if (!*u && bare > 0) {
		*v = x * bare;
		return 0;
	}
	for (const struct unit *t = units; t->name; t++) {
		if (!strcasecmp(u, t->name)) {
			*v = x * t->factor;
			return 0;
		}
	}
	if (!*u)
		snprintf(why, n, "%s \"%s\" needs a unit (%s)", what, s, list);
	else
		snprintf(why, n, "unknown unit \"%s\" in %s \"%s\" (%s)", u,
			 what, s, list);
	return -1;
}

int tc_parse_rate(const char *s, uint64_t *bps, char *why, size_t n)
{
	double v;

	if (parse(s, rate_units, 1, "rate", TC_RATE_UNITS " or bit/s", &v, why,
		  n) < 0)
		return -1;
	if (v < 1 || v >= 9.2e18) {
		snprintf(why, n,
			 "rate \"%s\" is out of range (1bit..9.2e18bit)", s);
		return -1;
	}
	*bps = (uint64_t)llround(v);
	return 0;
}

int tc_parse_time(const char *s, double *sec, char *why, size_t n)
{
	return parse(s, time_units, 0, "time", TC_TIME_UNITS, sec, why, n);
}

int tc_parse_percent(const char *s, double *frac, char *why, size_t n)
{
	const char *u = "";
	double x;

	if (*s == '-') {
		snprintf(why, n, "percentage \"%s\" is negative", s);
		return -1;
	}
	x = number(s, &u);
	if (x < 0 || strcmp(u, "%") != 0) {
		snprintf(why, n,
			 "percentage \"%s\" must be a number and %% "
			 "(\"1%%\", \"0.5%%\")",
			 s);
		return -1;
	}
	if (x > 100) {
		snprintf(why, n, "percentage \"%s\" is over 100%%", s);
		return -1;
	}
	*frac = x / 100;
	return 0;
}

int tc_parse_size(const char *s, uint64_t *bytes, char *why, size_t n)
{
	double v;

	if (parse(s, size_units, 1, "size", TC_SIZE_UNITS " or bytes", &v, why,
		  n) < 0)
		return -1;
	if (v >= 4294967296.0) {
		snprintf(why, n, "size \"%s\" is out of range (below 4gb)", s);
		return -1;
	}
	*bytes = (uint64_t)v;
	return 0;
}

/* A hex number of 1..4 digits at s (len bytes) into *v. */
static int hex16(const char *s, size_t len, uint32_t *v)
{
	char buf[5];

	if (len == 0 || len > 4 || strspn(s, "0123456789abcdefABCDEF") < len)
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	*v = (uint32_t)strtoul(buf, NULL, 16);
	return 0;
}

int tc_parse_handle(const char *s, uint32_t *h, char *why, size_t n)
{
	const char *colon = strchr(s, ':');
	uint32_t maj = 0, min = 0;
	size_t lmaj = colon ? (size_t)(colon - s) : strlen(s);

	if ((lmaj && hex16(s, lmaj, &maj) < 0) ||
	    (colon && colon[1] &&
	     hex16(colon + 1, strlen(colon + 1), &min) < 0) ||
	    (!lmaj && !colon) || (!lmaj && colon && !colon[1])) {
		snprintf(why, n,
			 "handle \"%s\" is not MAJOR:MINOR in hex "
			 "(\"1:\", \"1:10\", \"ffff:\")",
			 s);
		return -1;
	}
	*h = maj << 16 | min;
	return 0;
}

void tc_handle_text(uint32_t h, char *buf, size_t n)
{
	if (h & 0xffff)
		snprintf(buf, n, "%x:%x", h >> 16, h & 0xffff);
	else
		snprintf(buf, n, "%x:", h >> 16);
}

uint64_t tc_ticks(double sec)
{
	double t = floor(sec * 1e9 / TC_TICK_NS + 1e-6);

	return t >= 4294967295.0 ? UINT32_MAX : (uint64_t)t;
}

double tc_ticks_sec(uint64_t ticks)
{
	return (double)ticks * TC_TICK_NS / 1e9;
}

uint32_t tc_percent_u32(double frac)
{
	return (uint32_t)rint(frac * 4294967295.0);
}

double tc_u32_percent(uint32_t v)
{
	return v / 4294967295.0;
}

uint64_t tc_xmitsize(uint64_t bps, uint64_t ticks)
{
	return (uint64_t)((double)bps / 8 * tc_ticks_sec(ticks));
}

uint32_t tc_xmittime(uint64_t bps, uint64_t bytes)
{
	return (uint32_t)tc_ticks((double)bytes * 8 / (double)bps);
}

uint32_t tc_default_burst(uint64_t bps)
{
	uint64_t b = (bps / 8 + 249) / 250;

	return b < 1600 ? 1600 : b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
}
