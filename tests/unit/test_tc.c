/*
 * test_tc.c - tc's units and handles, from src/net/tc_units.c: what
 * tc(8) accepts, what nslab refuses, and the kernel's units (psched
 * ticks, u32 percentages) checked against bytes iproute2 6.1 sent.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "net/tc_units.h"
#include "unit.h"

static char why[256];

static uint64_t rate(const char *s)
{
	uint64_t v = 0;

	return tc_parse_rate(s, &v, why, sizeof(why)) < 0 ? 0 : v;
}

static void rates_as_tc_writes_them(void)
{
	CHECK(rate("10mbit") == 10000000);
	CHECK(rate("1gbit") == 1000000000);
	CHECK(rate("500kbit") == 500000);
	CHECK(rate("1.5Mbit") == 1500000);
	CHECK(rate("100bps") == 800);
	CHECK(rate("1kibit") == 1024);
	CHECK(rate("2mbps") == 16000000);
	CHECK(rate("1000") == 1000); /* a bare number is bit/s, as tc */
	CHECK(rate("40gbit") == 40000000000ULL);
}

static void bad_rates_name_the_problem(void)
{
	CHECK(rate("10 mbps") == 0);
	CHECK(strstr(why, "unknown unit \" mbps\"") != NULL);
	CHECK(strstr(why, "kbit, mbit") != NULL);
	CHECK(rate("10mbits") == 0);
	CHECK(strstr(why, "unknown unit \"mbits\"") != NULL);
	CHECK(rate("-10mbit") == 0);
	CHECK_STR(why, "rate \"-10mbit\" is negative");
	CHECK(rate("0mbit") == 0);
	CHECK(strstr(why, "out of range") != NULL);
	CHECK(rate("") == 0);
	CHECK(rate("mbit") == 0);
	CHECK(rate("inf") == 0);
	CHECK(rate("0x10") == 0);
	CHECK(rate(" 10mbit") == 0);
	CHECK(rate("1.2.3mbit") == 0);
}

static double tm(const char *s)
{
	double v = -1;

	return tc_parse_time(s, &v, why, sizeof(why)) < 0 ? -1 : v;
}

static void times(void)
{
	CHECK(tm("20ms") == 0.02);
	CHECK(tm("100us") > 0.99e-4 && tm("100us") < 1.01e-4);
	CHECK(tm("1s") == 1);
	CHECK(tm("1.5sec") == 1.5);
	CHECK(tm("0ms") == 0);
	CHECK(tm("20") == -1);
	CHECK(strstr(why, "needs a unit") != NULL);
	CHECK(tm("20 ms") == -1);
	CHECK(tm("20min") == -1);
	CHECK(strstr(why, "unknown unit \"min\"") != NULL);
	CHECK(tm("-1ms") == -1);
}

static double pct(const char *s)
{
	double v = -1;

	return tc_parse_percent(s, &v, why, sizeof(why)) < 0 ? -1 : v;
}

static void percentages(void)
{
	CHECK(pct("1%") == 0.01);
	CHECK(pct("0.5%") == 0.005);
	CHECK(pct("100%") == 1);
	CHECK(pct("100.1%") == -1);
	CHECK(strstr(why, "over 100%") != NULL);
	CHECK(pct("1") == -1);
	CHECK(pct("-1%") == -1);
	CHECK(pct("1 %") == -1);
}

static void sizes(void)
{
	uint64_t v = 0;

	CHECK(tc_parse_size("1600", &v, why, sizeof(why)) == 0 && v == 1600);
	CHECK(tc_parse_size("32kb", &v, why, sizeof(why)) == 0 && v == 32768);
	CHECK(tc_parse_size("1mb", &v, why, sizeof(why)) == 0 && v == 1048576);
	CHECK(tc_parse_size("8kbit", &v, why, sizeof(why)) == 0 && v == 1024);
	CHECK(tc_parse_size("5gb", &v, why, sizeof(why)) < 0);
	CHECK(tc_parse_size("3 kb", &v, why, sizeof(why)) < 0);
}

static void handles(void)
{
	uint32_t h = 0;
	char buf[16];

	CHECK(tc_parse_handle("1:", &h, why, sizeof(why)) == 0 && h == 0x10000);
	CHECK(tc_parse_handle("1:10", &h, why, sizeof(why)) == 0 &&
	      h == 0x10010);
	CHECK(tc_parse_handle("ffff:", &h, why, sizeof(why)) == 0 &&
	      h == 0xffff0000);
	CHECK(tc_parse_handle(":a", &h, why, sizeof(why)) == 0 && h == 0xa);
	CHECK(tc_parse_handle("2", &h, why, sizeof(why)) == 0 && h == 0x20000);
	CHECK(tc_parse_handle("", &h, why, sizeof(why)) < 0);
	CHECK(tc_parse_handle(":", &h, why, sizeof(why)) < 0);
	CHECK(tc_parse_handle("1:g", &h, why, sizeof(why)) < 0);
	CHECK(tc_parse_handle("10000:", &h, why, sizeof(why)) < 0);
	CHECK(tc_parse_handle("root", &h, why, sizeof(why)) < 0);
	tc_handle_text(0x10010, buf, sizeof(buf));
	CHECK_STR(buf, "1:10");
	tc_handle_text(0xffff0000, buf, sizeof(buf));
	CHECK_STR(buf, "ffff:");
}

/* The numbers iproute2 6.1 sent for "netem delay 10ms 2ms loss 1%",
 * "delay 1s 100us", "reorder 25%", "loss 0.3%" (strace). */
static void kernel_units_match_iproute2(void)
{
	CHECK(tc_ticks(0.01) == 156250);
	CHECK(tc_ticks(0.002) == 31250);
	CHECK(tc_ticks(1) == 15625000);
	CHECK(tc_ticks(100e-6) == 1562);
	CHECK(tc_ticks(1e6) == UINT32_MAX);
	CHECK(tc_percent_u32(0.01) == 0x028f5c29);
	CHECK(tc_percent_u32(0.25) == 0x40000000);
	CHECK(tc_percent_u32(0.003) == 0x00c49ba6);
	CHECK(tc_percent_u32(1) == UINT32_MAX);
	/* 1600 bytes at 10mbit: 1.28 ms = 20000 ticks, and back */
	CHECK(tc_xmittime(10000000, 1600) == 20000);
	CHECK(tc_xmitsize(10000000, 20000) == 1600);
	CHECK(tc_default_burst(10000000) == 5000);
	CHECK(tc_default_burst(1000000) == 1600);
}

const struct unit_case unit_tc[] = {
    {"tc: rates as tc writes them", rates_as_tc_writes_them},
    {"tc: bad rates name the problem", bad_rates_name_the_problem},
    {"tc: times", times},
    {"tc: percentages", percentages},
    {"tc: sizes", sizes},
    {"tc: handles", handles},
    {"tc: kernel units match iproute2", kernel_units_match_iproute2},
    {NULL, NULL},
};
