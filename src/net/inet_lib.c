/*
 * inet_lib.c - core.inet: address text for the Lua library, so Lua code
 * never re-implements inet_pton(3): parse ("10.0.0.1/24", "fd00::1") and
 * format (RFC 5952 text from address bytes, by inet_ntop(3)).
 *
 * Read: inet_pton(3), inet_ntop(3), RFC 5952.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "net/inet.h"
#include "net/net.h"

/*
 * core.inet.parse(text) -> {family = "inet"|"inet6", prefixlen = bits,
 * has_prefixlen = boolean, bytes = string (4 or 16 bytes, network order),
 * address = canonical text}. Raises an EINVAL error object (op
 * "inet.parse") naming what is wrong with the text.
 */
static int l_inet_parse(lua_State *L)
{
	size_t len;
	const char *text = luaL_checklstring(L, 1, &len);
	struct inet_addr a;
	char why[160];

	if (strlen(text) != len)
		return nslab_raise(L, "inet.parse", NULL, NULL, EINVAL,
				   "address text contains a NUL byte");
	if (inet_parse(text, &a, why, sizeof(why)) < 0)
		return nslab_raise(L, "inet.parse", NULL, NULL, EINVAL, why);
	lua_createtable(L, 0, 5);
	lua_pushstring(L, inet_family_name(a.family));
	lua_setfield(L, -2, "family");
	lua_pushinteger(L, a.prefixlen);
	lua_setfield(L, -2, "prefixlen");
	lua_pushboolean(L, a.has_len);
	lua_setfield(L, -2, "has_prefixlen");
	lua_pushlstring(L, (const char *)a.bytes, inet_len(a.family));
	lua_setfield(L, -2, "bytes");
	inet_push(L, a.family, a.bytes);
	lua_setfield(L, -2, "address");
	return 1;
}

/*
 * core.inet.format(bytes) -> text: 4 bytes as IPv4 dotted quad, 16 as
 * RFC 5952 IPv6 text ("fd00::1"). An argument error for another length.
 */
static int l_inet_format(lua_State *L)
{
	size_t len;
	const char *b = luaL_checklstring(L, 1, &len);

	luaL_argcheck(L, len == 4 || len == 16, 1,
		      "must be 4 (inet) or 16 (inet6) bytes");
	inet_push(L, len == 4 ? AF_INET : AF_INET6, b);
	return 1;
}

static const luaL_Reg inet_funcs[] = {
    {"parse", l_inet_parse},
    {"format", l_inet_format},
    {NULL, NULL},
};

void nslab_open_inet(lua_State *L)
{
	nslab_newlib(L, "inet", inet_funcs);
}
