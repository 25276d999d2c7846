/*
 * inet_text.c - address text: "10.0.0.1/24", "fd00::1/64" parsed with
 * inet_pton(3) and the prefixlen checked against the family. No Lua and
 * no I/O, so it is unit-tested without privilege (tests/unit/).
 *
 * Read: inet_pton(3), ip-address(8).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/text.h"

size_t inet_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

const char *inet_family_name(int family)
{
	return family == AF_INET    ? "inet"
	       : family == AF_INET6 ? "inet6"
				    : "unspec";
}

int inet_parse(const char *text, struct inet_addr *a, char *why, size_t n)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t hl = slash ? (size_t)(slash - text) : strlen(text);
	int max;

	memset(a, 0, sizeof(*a));
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(why, n, "invalid address \"%s\"", text);
		return -1;
	}
	memcpy(host, text, hl);
	host[hl] = 0;
	/* Say what is wrong rather than "not an address" or a prefixlen
	 * range: an IPv6 zone index and stray characters are common. */
	if (strchr(host, '%')) {
		snprintf(why, n,
			 "invalid address \"%s\": zone index (%s) not allowed "
			 "here",
			 text, strchr(host, '%'));
		return -1;
	}
	if (strcspn(host, " \t\n") < hl) {
		snprintf(why, n,
			 "invalid address \"%s\": whitespace in the address",
			 text);
		return -1;
	}
	if (inet_pton(AF_INET, host, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, host, a->bytes) == 1)
		a->family = AF_INET6;
	else {
		snprintf(why, n,
			 "invalid address \"%s\" (not an IPv4 or IPv6 address)",
			 host);
		return -1;
	}
	max = a->family == AF_INET ? 32 : 128;
	a->prefixlen = max;
	if (!slash)
		return 0;
	a->has_len = 1;
	slash++;
	if (strspn(slash, "0123456789") > 0 &&
	    slash[strspn(slash, "0123456789")]) {
		snprintf(why, n,
			 "invalid address \"%s\": trailing characters after "
			 "the prefix length (\"%s\")",
			 text, slash + strspn(slash, "0123456789"));
		return -1;
	}
	if (!*slash || strspn(slash, "0123456789") != strlen(slash)) {
		snprintf(why, n,
			 "invalid address \"%s\": the prefix length \"%s\" "
			 "is not a number 0..%d",
			 text, slash, max);
		return -1;
	}
	if (strlen(slash) > 3 || (a->prefixlen = atoi(slash)) > max) {
		snprintf(why, n, "prefixlen \"%s\" out of range 0..%d for %s",
			 slash, max, inet_family_name(a->family));
		return -1;
	}
	return 0;
}
