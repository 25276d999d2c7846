/*
 * names.c - the name rules every facility checks before touching
 * anything: iproute2's netns name rule (ip-netns(8): a name is a path
 * component under /run/netns) and the kernel's interface name rule
 * (netdevice(7): IFNAMSIZ, dev_valid_name() in net/core/dev.c). Pure
 * functions, unit-tested without privilege.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "nl/nl.h"

int nslab_netns_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 255 && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0 && !strchr(name, '/');
}

const char *nslab_ifname_problem(const char *name, char *buf, size_t n)
{
	size_t len = strlen(name);

	if (len == 0)
		return "interface name is empty";
	if (len > IFNAMSIZ - 1) {
		snprintf(buf, n, "interface name \"%s\" is %zu bytes (max %d)",
			 name, len, IFNAMSIZ - 1);
		return buf;
	}
	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		snprintf(buf, n, "interface name \"%s\" is not allowed", name);
		return buf;
	}
	/* The kernel refuses these with a bare EINVAL: they would clash with
	 * /proc/sys/net/ipv4/conf/all and .../default. */
	if (!strcmp(name, "all") || !strcmp(name, "default")) {
		snprintf(buf, n,
			 "interface name \"%s\" is reserved (it would clash "
			 "with /proc/sys/net/*/conf/%s)",
			 name, name);
		return buf;
	}
	for (const char *p = name; *p; p++) {
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p)) {
			snprintf(buf, n,
				 "interface name \"%s\" contains %s "
				 "(no '/', ':' or whitespace)",
				 name,
				 *p == '/'    ? "'/'"
				 : *p == ':'  ? "':'"
				 : *p == ' '  ? "a space"
				 : *p == '\t' ? "a tab"
				 : *p == '\n' ? "a newline"
					      : "whitespace");
			return buf;
		}
	}
	return NULL;
}
