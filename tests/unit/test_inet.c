/*
 * test_inet.c - address text, "address[/prefixlen]", from
 * src/net/inet_text.c.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <string.h>

#include "net/text.h"
#include "unit.h"

static char why[160];
static struct inet_addr a;

static int parse(const char *text)
{
	why[0] = 0;
	return inet_parse(text, &a, why, sizeof(why));
}

static void ipv4_with_and_without_prefixlen(void)
{
	static const unsigned char ten[4] = {10, 0, 0, 1};

	CHECK(parse("10.0.0.1/24") == 0);
	CHECK(a.family == AF_INET && a.prefixlen == 24 && a.has_len);
	CHECK(!memcmp(a.bytes, ten, 4));
	CHECK(parse("10.0.0.1") == 0);
	CHECK(a.family == AF_INET && a.prefixlen == 32 && !a.has_len);
	CHECK(parse("0.0.0.0/0") == 0);
	CHECK(a.prefixlen == 0 && a.has_len);
	CHECK(parse("255.255.255.255/32") == 0);
	CHECK(a.prefixlen == 32);
	CHECK(parse("10.0.0.1/010") == 0); /* decimal, as iproute2 */
	CHECK(a.prefixlen == 10);
}

static void ipv6_with_and_without_prefixlen(void)
{
	static const unsigned char fd[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
					     0,	   0, 0, 0, 0, 0, 0, 1};

	CHECK(parse("fd00::1/64") == 0);
	CHECK(a.family == AF_INET6 && a.prefixlen == 64 && a.has_len);
	CHECK(!memcmp(a.bytes, fd, 16));
	CHECK(parse("fd00::1") == 0);
	CHECK(a.family == AF_INET6 && a.prefixlen == 128 && !a.has_len);
	CHECK(parse("::/0") == 0);
	CHECK(a.family == AF_INET6 && a.prefixlen == 0);
	CHECK(parse("::ffff:10.0.0.1/128") == 0);
	CHECK(a.family == AF_INET6 && a.bytes[15] == 1 && a.bytes[12] == 10);
	CHECK(parse("1:2:3:4:5:6:7:8") == 0);
	CHECK(inet_len(a.family) == 16 && inet_len(AF_INET) == 4);
	CHECK_STR(inet_family_name(AF_INET6), "inet6");
	CHECK_STR(inet_family_name(AF_INET), "inet");
	CHECK_STR(inet_family_name(AF_UNSPEC), "unspec");
}

static void bad_addresses_say_why(void)
{
	CHECK(parse("10.0.0.256/24") < 0);
	CHECK_STR(why, "invalid address \"10.0.0.256\" (not an IPv4 or IPv6 "
		       "address)");
	CHECK(parse("fd00:::1") < 0);
	CHECK(parse("red") < 0);
	CHECK(parse(" 10.0.0.1") < 0);
	CHECK(parse("") < 0);
	CHECK_STR(why, "invalid address \"\"");
	CHECK(parse("/24") < 0);
	CHECK_STR(why, "invalid address \"/24\"");
	/* longer than any address text: refused before inet_pton */
	CHECK(parse("1111:2222:3333:4444:5555:6666:7777:8888:9999/64") < 0);
	CHECK(a.family == 0);
}

static void bad_prefixlens_say_the_range(void)
{
	CHECK(parse("10.0.0.1/33") < 0);
	CHECK_STR(why, "prefixlen \"33\" out of range 0..32 for inet");
	CHECK(parse("fd00::1/129") < 0);
	CHECK_STR(why, "prefixlen \"129\" out of range 0..128 for inet6");
	CHECK(parse("10.0.0.1/") < 0);
	CHECK_STR(why, "invalid address \"10.0.0.1/\": the prefix length "
		       "\"\" is not a number 0..32");
	CHECK(parse("10.0.0.1/24 ") < 0);
	CHECK_STR(why, "invalid address \"10.0.0.1/24 \": trailing characters "
		       "after the prefix length (\" \")");
	CHECK(parse("fe80::1%eth0/64") < 0);
	CHECK_STR(why, "invalid address \"fe80::1%eth0/64\": zone index "
		       "(%eth0) not allowed here");
	CHECK(parse("10.0.0.1/-1") < 0);
	CHECK(parse("10.0.0.1/+8") < 0);
	CHECK(parse("10.0.0.1/ 8") < 0);
	CHECK(parse("10.0.0.1/8 ") < 0);
	CHECK(parse("10.0.0.1/24/8") < 0);
	CHECK(parse("fd00::1/0128") < 0);	 /* at most 3 digits */
	CHECK(parse("10.0.0.1/4294967304") < 0); /* 2^32 + 8: no wrap */
}

const struct unit_case unit_inet[] = {
    {"inet_parse: IPv4, with and without /prefixlen",
     ipv4_with_and_without_prefixlen},
    {"inet_parse: IPv6, with and without /prefixlen",
     ipv6_with_and_without_prefixlen},
    {"inet_parse: bad addresses say why", bad_addresses_say_why},
    {"inet_parse: bad prefixlens give the family's range",
     bad_prefixlens_say_the_range},
    {NULL, NULL},
};
