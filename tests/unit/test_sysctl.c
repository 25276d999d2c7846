/*
 * test_sysctl.c - sysctl keys to /proc/sys paths, from
 * src/net/sysctl_path.c.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <string.h>

#include "net/text.h"
#include "unit.h"

static char path[PATH_MAX];

static const char *map(const char *key)
{
	const char *why = sysctl_path(key, path, sizeof(path));

	return why ? why : path;
}

static void dotted_and_slashed_keys(void)
{
	CHECK_STR(map("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
	CHECK_STR(map("net.ipv6.conf.all.forwarding"),
		  "/proc/sys/net/ipv6/conf/all/forwarding");
	/* with a slash, slashes separate and dots stay (eth0.100) */
	CHECK_STR(map("net/ipv4/conf/eth0.100/forwarding"),
		  "/proc/sys/net/ipv4/conf/eth0.100/forwarding");
	CHECK_STR(map("kernel"), "/proc/sys/kernel");
	CHECK_STR(map("a.b-c_d.e"), "/proc/sys/a/b-c_d/e");
}

static void keys_cannot_leave_proc_sys(void)
{
	const char *empty = "sysctl name has an empty part";
	const char *dots = "sysctl name has a \".\" or \"..\" part";
	const char *space = "sysctl name contains whitespace or a control "
			    "character";

	CHECK_STR(map(""), "sysctl name is empty");
	CHECK_STR(map("net..ipv4"), empty);
	CHECK_STR(map(".net"), empty);
	CHECK_STR(map("net."), empty);
	CHECK_STR(map("/net/ipv4"), empty);
	CHECK_STR(map("net/ipv4/"), empty);
	CHECK_STR(map("net//ipv4"), empty);
	CHECK_STR(map("net/../../etc/passwd"), dots);
	CHECK_STR(map("net/./ipv4"), dots);
	CHECK_STR(map(".."), empty); /* dotted: ".." is two empty parts */
	CHECK_STR(map("net/.."), dots);
	CHECK_STR(map("net/ipv4/conf/..a/x"), "/proc/sys/net/ipv4/conf/..a/x");
	CHECK_STR(map("net.ipv4 .ip_forward"), space);
	CHECK_STR(map("net.ipv4.ip_forward\n"), space);
	CHECK_STR(map("net.ipv4.\x7f"), space);
	CHECK_STR(map("net.ipv4.\x01"), space);
}

static void length_limit_is_exact(void)
{
	/* "/proc/sys/" is 10 bytes: a key of len bytes needs 10 + len + 1 */
	char small[16];

	CHECK(sysctl_path("abcde", small, sizeof(small)) == NULL);
	CHECK_STR(small, "/proc/sys/abcde");
	CHECK_STR(sysctl_path("abcdef", small, sizeof(small)),
		  "sysctl name is too long");
}

const struct unit_case unit_sysctl[] = {
    {"sysctl_path: dotted and slashed keys", dotted_and_slashed_keys},
    {"sysctl_path: no key leaves /proc/sys", keys_cannot_leave_proc_sys},
    {"sysctl_path: the buffer length is checked exactly",
     length_limit_is_exact},
    {NULL, NULL},
};
