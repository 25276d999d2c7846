/*
 * test_names.c - the netns name rule (iproute2's) and the interface name
 * rule (the kernel's dev_valid_name plus nslab's reserved names), from
 * src/nl/names.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "nl/nl.h"
#include "unit.h"

static void netns_names_accepted(void)
{
	char longest[256];

	memset(longest, 'n', 255);
	longest[255] = 0;
	CHECK(nslab_netns_name_ok("red"));
	CHECK(nslab_netns_name_ok("a b")); /* iproute2 accepts spaces */
	CHECK(nslab_netns_name_ok("..."));
	CHECK(nslab_netns_name_ok(".red"));
	CHECK(nslab_netns_name_ok("red."));
	CHECK(nslab_netns_name_ok("-"));
	CHECK(nslab_netns_name_ok("r\xc3\xa9seau")); /* bytes, not ASCII */
	CHECK(nslab_netns_name_ok(longest));	     /* 255 bytes */
}

static void netns_names_refused(void)
{
	char too_long[257];

	memset(too_long, 'n', 256);
	too_long[256] = 0;
	CHECK(!nslab_netns_name_ok(""));
	CHECK(!nslab_netns_name_ok("."));
	CHECK(!nslab_netns_name_ok(".."));
	CHECK(!nslab_netns_name_ok("/"));
	CHECK(!nslab_netns_name_ok("a/b"));
	CHECK(!nslab_netns_name_ok("../../etc/x"));
	CHECK(!nslab_netns_name_ok("red/"));
	CHECK(!nslab_netns_name_ok(too_long)); /* 256 bytes */
}

static const char *ifname(const char *name)
{
	static char buf[128];

	return nslab_ifname_problem(name, buf, sizeof(buf));
}

static void ifnames_accepted(void)
{
	CHECK_STR(ifname("eth0"), NULL);
	CHECK_STR(ifname("veth-red.100"), NULL);
	CHECK_STR(ifname("x"), NULL);
	CHECK_STR(ifname("abcdefghijklmno"), NULL); /* 15 bytes */
	CHECK_STR(ifname("alll"), NULL);
	CHECK_STR(ifname("..."), NULL);
}

static void ifnames_refused_with_reason(void)
{
	CHECK_STR(ifname(""), "interface name is empty");
	CHECK_STR(ifname("abcdefghijklmnop"),
		  "interface name \"abcdefghijklmnop\" is 16 bytes (max 15)");
	CHECK_STR(ifname("."), "interface name \".\" is not allowed");
	CHECK_STR(ifname(".."), "interface name \"..\" is not allowed");
	CHECK_STR(ifname("all"), "interface name \"all\" is reserved (it would "
				 "clash with /proc/sys/net/*/conf/all)");
	CHECK_STR(ifname("default"),
		  "interface name \"default\" is reserved (it would clash "
		  "with /proc/sys/net/*/conf/default)");
	CHECK_STR(ifname("a/b"), "interface name \"a/b\" contains '/' "
				 "(no '/', ':' or whitespace)");
	CHECK_STR(ifname("eth0:1"), "interface name \"eth0:1\" contains ':' "
				    "(no '/', ':' or whitespace)");
	CHECK_STR(ifname("a b"), "interface name \"a b\" contains a space "
				 "(no '/', ':' or whitespace)");
	CHECK_STR(ifname("a\tb"), "interface name \"a\tb\" contains a tab "
				  "(no '/', ':' or whitespace)");
	CHECK_STR(ifname("a\nb"), "interface name \"a\nb\" contains a newline "
				  "(no '/', ':' or whitespace)");
	CHECK_STR(ifname("a\vb"), "interface name \"a\vb\" contains whitespace "
				  "(no '/', ':' or whitespace)");
}

static void ifname_reason_fits_small_buffer(void)
{
	char buf[12];
	const char *why = nslab_ifname_problem("abcdefghijklmnopq", buf, 12);

	CHECK(why == buf);
	CHECK(strlen(buf) == sizeof(buf) - 1); /* cut, still terminated */
	CHECK_STR(buf, "interface n");
}

const struct unit_case unit_names[] = {
    {"netns names: what iproute2 accepts", netns_names_accepted},
    {"netns names: empty, dots, slashes, over 255 bytes", netns_names_refused},
    {"ifnames: 1..15 bytes without / : or whitespace", ifnames_accepted},
    {"ifnames: each refusal says why", ifnames_refused_with_reason},
    {"ifnames: the reason is cut to the buffer",
     ifname_reason_fits_small_buffer},
    {NULL, NULL},
};
