/*
 * sock.c - is a port open, seen from inside a network namespace:
 * sock.probe{netns =, dst =, port =, proto =, timeout =} opens a TCP or
 * UDP socket while the thread is in that netns (setns there and straight
 * back: the socket keeps its namespace) and connects from here. TCP: a
 * non-blocking connect(2) that completes (open), is refused (a RST:
 * ECONNREFUSED), or times out. UDP has no handshake: one empty datagram
 * is sent and the port counts as open unless an ICMP port unreachable
 * comes back (ECONNREFUSED on the connected socket) within the timeout,
 * as `nc -zu` and nmap's "open|filtered" judge it.
 *
 * Syscalls: setns(2), socket(2), connect(2), poll(2), getsockopt(2)
 * (SO_ERROR). Read: tcp(7), udp(7), ip(7) (IP_RECVERR).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/inet.h"
#include "net/net.h"

static const char *const probe_fields[] = {"netns", "dst",     "port",
					   "proto", "timeout", NULL};
static const char *const protos[] = {"tcp", "udp", NULL};

/* Waits up to ms for events on fd; returns the socket's error (0: none
 * yet or connected), ETIMEDOUT when nothing came, -1 on EINTR. */
static int sock_wait(int fd, short events, int ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int err = 0;
	socklen_t len = sizeof(err);
	int r = poll(&p, 1, ms);

	if (r < 0)
		return errno == EINTR ? -1 : errno;
	if (r == 0)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

/*
 * sock.probe(t) -> {open = boolean, code = "ECONNREFUSED"|"ETIMEDOUT"|...,
 * errno, elapsed = seconds}. Raises when the socket cannot be made.
 */
static int l_sock_probe(lua_State *L)
{
	struct nslab_state *st = nslab_state(L);
	struct sockaddr_storage to;
	struct inet_addr a;
	const char *netns, *dst;
	lua_Integer port = 0;
	lua_Number timeout = 1;
	socklen_t tolen;
	int proto, fd, err = 0, udp;
	double t0;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	nslab_check_fields(L, 1, probe_fields);
	dst = inet_opt_dst(L, 1, "sock.probe", &netns, &a);
	if (!opt_range(L, 1, "port", 1, 65535, &port, "sock.probe", dst, netns))
		return luaL_argerror(L, 1, "field 'port' is required");
	proto = opt_choice(L, 1, "proto", protos, "sock.probe", dst, netns);
	udp = proto == 1;
	if (lua_getfield(L, 1, "timeout") != LUA_TNIL)
		timeout = luaL_checknumber(L, -1);
	lua_pop(L, 1);
	luaL_argcheck(L, timeout > 0 && timeout <= 3600, 1,
		      "field 'timeout' must be 0..3600 seconds (above 0)");

	memset(&to, 0, sizeof(to));
	if (a.family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&to;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, a.bytes, 4);
		tolen = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&to;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, a.bytes, 16);
		tolen = sizeof(*s6);
	}
	if (nl_enter(&st->nl, netns) < 0) {
		err = errno;
		nl_leave(&st->nl);
		return nslab_raise(L, "sock.probe", dst, netns, err, NULL);
	}
	fd = socket(
	    a.family,
	    (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	err = errno;
	nl_leave(&st->nl);
	if (fd < 0)
		return nslab_raise(L, "sock.probe", dst, netns, err, NULL);

	t0 = nslab_now();
	if (connect(fd, (struct sockaddr *)&to, tolen) == 0)
		err = 0;
	else
		err = errno;
	if (!udp && err == EINPROGRESS)
		err = sock_wait(fd, POLLOUT, (int)(timeout * 1000 + 0.999));
	else if (udp && !err) {
		if (send(fd, "", 0, 0) < 0)
			err = errno;
		else {
			/* silence until the timeout: open (or filtered) */
			err = sock_wait(fd, POLLIN, (int)(timeout * 1000));
			if (err == ETIMEDOUT)
				err = 0;
		}
	}
	close(fd);
	if (err < 0)
		return nslab_raise(L, "sock.probe", dst, netns, EINTR,
				   "interrupted");
	lua_createtable(L, 0, 4);
	lua_pushboolean(L, err == 0);
	lua_setfield(L, -2, "open");
	lua_pushnumber(L, nslab_now() - t0);
	lua_setfield(L, -2, "elapsed");
	if (err) {
		const char *code = strerrorname_np(err);

		lua_pushinteger(L, err);
		lua_setfield(L, -2, "errno");
		lua_pushstring(L, code ? code : "?");
		lua_setfield(L, -2, "code");
	}
	return 1;
}

static const luaL_Reg funcs[] = {
    {"probe", l_sock_probe},
    {NULL, NULL},
};

void nslab_open_sock(lua_State *L)
{
	nslab_newlib(L, "sock", funcs);
}
