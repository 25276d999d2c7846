/*
 * tc_units.h - the Lua-free text rules of nslab.tc (tc_units.c): rates,
 * times, sizes and percentages as tc(8) writes them, qdisc and class
 * handles ("1:", "1:10", "ffff:"), and the kernel's own units (psched
 * ticks of 64 ns, percentages scaled to 2^32 - 1). Pure functions: no
 * Lua, no I/O, unit-tested without privilege (tests/unit/test_tc.c).
 *
 * Read: tc(8) ("PARAMETERS": RATES, TIMES, SIZES), tc-tbf(8),
 * tc-netem(8), linux/pkt_sched.h, /proc/net/psched.
 */
#ifndef NSLAB_NET_TC_UNITS_H
#define NSLAB_NET_TC_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* The units each parser accepts, for error messages and docs. */
#define TC_RATE_UNITS                                                          \
	"bit, kbit, mbit, gbit, tbit, kibit, mibit, gibit, tibit, bps, "       \
	"kbps, mbps, gbps, tbps, kibps, mibps, gibps, tibps"
#define TC_TIME_UNITS "s, sec, secs, ms, msec, msecs, us, usec, usecs, ns"
#define TC_SIZE_UNITS "b, k, kb, m, mb, g, gb, kbit, mbit, gbit"

/*
 * Each parser returns 0 and stores the value, or -1 with the reason in
 * why (n bytes): a missing number, a negative one, a unit it does not
 * know (naming the accepted ones), or a value out of range.
 */

/* "10mbit", "1.5gbit", "100kbps" (bytes), "1000" (bit/s) -> bits/s,
 * positive, below 2^63. */
int tc_parse_rate(const char *s, uint64_t *bps, char *why, size_t n);

/* "20ms", "100us", "1.5s" -> seconds, >= 0. A unit is required: tc
 * reads a bare number as microseconds, nslab's numbers are seconds. */
int tc_parse_time(const char *s, double *sec, char *why, size_t n);

/* "1%", "0.5%" -> a fraction 0..1. The percent sign is required. */
int tc_parse_percent(const char *s, double *frac, char *why, size_t n);

/* "1600", "32kb", "1mb" (1024-based, as tc) -> bytes, below 2^32. */
int tc_parse_size(const char *s, uint64_t *bytes, char *why, size_t n);

/*
 * A handle or classid as tc writes them, in hex: "1:" (major 1, minor 0),
 * "1:10" (minor 0x10), ":10", "ffff:", "1" (major only). Returns 0 with
 * the 32-bit value (major << 16 | minor), or -1 with the reason.
 */
int tc_parse_handle(const char *s, uint32_t *h, char *why, size_t n);

/* The text of handle h: "1:" when the minor is 0, else "1:10". */
void tc_handle_text(uint32_t h, char *buf, size_t n);

/* Nanoseconds in one psched tick: the kernel's PSCHED_SHIFT (6), which
 * /proc/net/psched reports as 1000/64 and has not changed since 2.6.24. */
#define TC_TICK_NS 64

/* Seconds to psched ticks (truncated as tc's tc_core_time2tick), capped
 * at UINT32_MAX; and back. */
uint64_t tc_ticks(double sec);
double tc_ticks_sec(uint64_t ticks);

/* A fraction 0..1 as the kernel's u32 scale (rint(frac * (2^32 - 1)),
 * tc's get_percent) and back. */
uint32_t tc_percent_u32(double frac);
double tc_u32_percent(uint32_t v);

/*
 * The bytes sent at bps bits/s in ticks psched ticks (tc's
 * tc_calc_xmitsize), and the ticks to send bytes at bps (tc_calc_xmittime,
 * capped at UINT32_MAX).
 */
uint64_t tc_xmitsize(uint64_t bps, uint64_t ticks);
uint32_t tc_xmittime(uint64_t bps, uint64_t bytes);

/* nslab's default burst for a rate: what one 4 ms timer tick (HZ=250)
 * sends, at least 1600 bytes (a full-size Ethernet frame). */
uint32_t tc_default_burst(uint64_t bps);

#endif
