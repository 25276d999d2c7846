/*
 * text.h - the Lua-free text rules of the net/ facilities: address text
 * (inet_text.c) and sysctl keys (sysctl_path.c). Pure functions: no Lua,
 * no I/O, unit-tested without privilege (tests/unit/).
 *
 * Read: inet_pton(3), ip-address(8), sysctl(8).
 */
#ifndef NSLAB_NET_TEXT_H
#define NSLAB_NET_TEXT_H

#include <stddef.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 address with its prefix length. */
struct inet_addr {
	int family;    /* AF_INET or AF_INET6 */
	int prefixlen; /* bits; the full length when the text had none */
	int has_len;   /* the text had "/len" */
	unsigned char bytes[16];
};

/* Bytes of an address of family (4 or 16). */
size_t inet_len(int family);

/* "inet", "inet6" or "unspec". */
const char *inet_family_name(int family);

/*
 * Parses "10.0.0.1/24", "fd00::1/64" or an address alone (prefixlen then
 * 32 or 128) with inet_pton. Returns 0, or -1 with the reason in why
 * ("prefixlen 33 out of range 0..32 for inet").
 */
int inet_parse(const char *text, struct inet_addr *a, char *why, size_t n);

/*
 * Turns key into its path under /proc/sys (written to path, n bytes):
 * "net.ipv4.ip_forward" (dots separate) or, as sysctl(8) accepts for
 * names holding dots such as VLAN interfaces,
 * "net/ipv4/conf/eth0.100/forwarding" (then slashes separate and dots
 * stay). Returns NULL when valid, else the reason: empty parts, "." or
 * "..", whitespace and control characters are refused so a key cannot
 * leave /proc/sys.
 */
const char *sysctl_path(const char *key, char *path, size_t n);

#endif
