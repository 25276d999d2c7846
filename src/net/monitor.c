/*
 * monitor.c - rtnetlink notifications (what `ip monitor` shows): a
 * NETLINK_ROUTE socket opened inside one netns and subscribed to the
 * multicast groups of links (RTNLGRP_LINK), addresses (RTNLGRP_IPV4_IFADDR,
 * RTNLGRP_IPV6_IFADDR), routes (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE) and
 * neighbours (RTNLGRP_NEIGH). Each message becomes the table link.get,
 * addr.list or route.list gives (neigh.c for neighbours) with the event
 * ("new", "del") and its kind. The socket is its own, never the cached
 * request socket: a dump's answers must not mix with notifications.
 *
 * core.monitor.open(netns, groups) -> monitor; monitor:read() -> events
 * pending now (never blocks); core.monitor.wait(monitors, timeout) ->
 * indexes of the ready ones (one ppoll over all); monitor:close().
 *
 * Syscalls: socket(AF_NETLINK), setsockopt(NETLINK_ADD_MEMBERSHIP), recv,
 * ppoll; setns(2) around the socket's creation. Read: netlink(7),
 * rtnetlink(7), ip-monitor(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "net/addr.h"
#include "net/link.h"
#include "net/neigh.h"
#include "net/net.h"
#include "net/route.h"

#define MONITOR_MT     "nslab.monitor"
#define MONITOR_RCVBUF (4 << 20)

/* The group words of opts.groups and the RTNLGRP_* they subscribe. */
static const struct {
	const char *name;
	unsigned int grp[2]; /* 0: none */
} monitor_groups[] = {
    {"link", {RTNLGRP_LINK, 0}},
    {"addr", {RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR}},
    {"route", {RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE}},
    {"neigh", {RTNLGRP_NEIGH, 0}},
};
#define NGROUPS (sizeof(monitor_groups) / sizeof(monitor_groups[0]))

/* A monitor: user value 1 the netns name (or nil), 2 the table ifindex
 * -> ifname of that netns, kept up to date from link events. */
struct monitor {
	int fd; /* -1 when closed */
};

static struct monitor *check_monitor(lua_State *L, int idx)
{
	struct monitor *m = luaL_checkudata(L, idx, MONITOR_MT);

	if (m->fd < 0)
		luaL_argerror(L, idx, "monitor is closed");
	return m;
}

/* Reads the group words of the array at idx into a bit per group of
 * monitor_groups; nil means all. Raises an argument error for a wrong
 * type, EINVAL naming an unknown word or an empty list. */
static unsigned int read_groups(lua_State *L, int idx, const char *op,
				const char *netns)
{
	unsigned int mask = 0;
	lua_Integer n;

	if (lua_isnoneornil(L, idx))
		return (1u << NGROUPS) - 1;
	luaL_checktype(L, idx, LUA_TTABLE);
	n = (lua_Integer)lua_rawlen(L, idx);
	for (lua_Integer i = 1; i <= n; i++) {
		const char *w;
		size_t g;

		if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
			luaL_argerror(L, idx,
				      lua_pushfstring(L,
						      "groups[%d] must be a "
						      "string, not %s",
						      (int)i,
						      luaL_typename(L, -1)));
		w = lua_tostring(L, -1);
		for (g = 0; g < NGROUPS; g++)
			if (!strcmp(w, monitor_groups[g].name))
				break;
		if (g == NGROUPS) {
			nslab_push_quoted(L, w, strlen(w));
			nslab_raise(L, op, NULL, netns, EINVAL,
				    lua_pushfstring(L,
						    "unknown group %s (link, "
						    "addr, route or neigh)",
						    lua_tostring(L, -1)));
		}
		mask |= 1u << g;
		lua_pop(L, 1);
	}
	if (!mask)
		nslab_raise(L, op, NULL, netns, EINVAL,
			    "groups is empty (link, addr, route or neigh)");
	return mask;
}

/* A bound NETLINK_ROUTE socket of the calling thread's netns, subscribed
 * to the groups of mask; returns the fd or -1 with errno set. */
static int monitor_socket(unsigned int mask)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int fd, buf = MONITOR_RCVBUF, saved;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	/* A burst (a lab of 1000 nodes coming up) must not overflow it:
	 * FORCE works as root, the plain one up to rmem_max otherwise. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	for (size_t g = 0; g < NGROUPS; g++) {
		if (!(mask & (1u << g)))
			continue;
		for (int k = 0; k < 2 && monitor_groups[g].grp[k]; k++) {
			unsigned int grp = monitor_groups[g].grp[k];

			if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
				       &grp, sizeof(grp)) < 0)
				goto fail;
		}
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * core.monitor.open(netns, groups) -> monitor. netns nil: nslab's own.
 * Subscribes before listing the links, so a link made in between is
 * named by its own event.
 */
static int l_monitor_open(lua_State *L)
{
	static const char op[] = "nslab.monitor";
	struct nslab_state *st = nslab_state(L);
	const char *netns = NULL;
	struct monitor *m;
	struct nl_conn *c;
	unsigned int mask;
	int err;

	if (!lua_isnoneornil(L, 1)) {
		netns = nslab_checkstr(L, 1, op, "netns");
		nslab_check_netns(L, op, netns);
	}
	mask = read_groups(L, 2, op, netns);
	lua_settop(L, 2);
	c = nslab_conn(L, op, NULL, netns); /* ENOENT: no such netns */
	m = lua_newuserdatauv(L, sizeof(*m), 2);
	m->fd = -1;
	luaL_setmetatable(L, MONITOR_MT);
	if (netns && nl_enter(&st->nl, netns) < 0)
		return nslab_raise(L, op, NULL, netns, errno,
				   "cannot enter the netns");
	m->fd = monitor_socket(mask);
	err = errno;
	if (netns)
		nl_leave(&st->nl);
	if (m->fd < 0)
		return nslab_raise(L, op, NULL, netns, err,
				   "cannot open the rtnetlink socket");
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, 3, 1);
	inet_push_ifnames(L, c, op, netns);
	lua_setiuservalue(L, 3, 2);
	return 1;
}

static void set_str(lua_State *L, const char *k, const char *v)
{
	lua_pushstring(L, v);
	lua_setfield(L, -2, k);
}

/*
 * Pushes the event of one notification (or nothing: returns 0 for what
 * is not one, or what route.list/neighbours leave out). names is the
 * absolute index of the ifindex -> ifname table, updated by link events.
 */
static int push_event(lua_State *L, const struct nlmsghdr *nlh, int names,
		      const char *netns, double now)
{
	const char *kind, *event = "new";
	struct addr_row r;

	switch (nlh->nlmsg_type) {
	case RTM_DELLINK:
		event = "del";
		/* fallthrough */
	case RTM_NEWLINK:
		if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct ifinfomsg))
			return 0;
		link_push_msg(L, nlh, netns);
		/* `kind` is the event's kind here; the link's is link_kind */
		lua_getfield(L, -1, "kind");
		lua_setfield(L, -2, "link_kind");
		if (lua_getfield(L, -1, "name") == LUA_TSTRING) {
			lua_getfield(L, -2, "ifindex");
			lua_pushvalue(L, -2);
			lua_settable(L, names);
		}
		lua_pop(L, 1);
		if (lua_getfield(L, -1, "master_ifindex") == LUA_TNUMBER) {
			lua_gettable(L, names);
			lua_setfield(L, -2, "master");
		} else {
			lua_pop(L, 1);
		}
		kind = "link";
		break;
	case RTM_DELADDR:
		event = "del";
		/* fallthrough */
	case RTM_NEWADDR:
		if (addr_parse_msg(nlh, &r) < 0)
			return 0;
		lua_rawgeti(L, names, r.ifindex);
		addr_push_row(L, &r, lua_tostring(L, -1));
		lua_remove(L, -2);
		kind = "addr";
		break;
	case RTM_DELROUTE:
		event = "del";
		/* fallthrough */
	case RTM_NEWROUTE:
		if (!route_push_msg(L, nlh, names))
			return 0;
		kind = "route";
		break;
	case RTM_DELNEIGH:
		event = "del";
		/* fallthrough */
	case RTM_NEWNEIGH:
		if (!neigh_push_msg(L, nlh, names))
			return 0;
		kind = "neigh";
		break;
	default:
		return 0;
	}
	set_str(L, "event", event);
	set_str(L, "kind", kind);
	if (netns)
		set_str(L, "netns", netns);
	lua_pushnumber(L, now);
	lua_setfield(L, -2, "time");
	return 1;
}

/*
 * monitor:read() -> array of the events waiting now, oldest first (empty
 * when none). Raises ENOBUFS when the kernel dropped notifications (the
 * socket's buffer was full): what was lost cannot be told.
 */
static int l_monitor_read(lua_State *L)
{
	struct monitor *m = check_monitor(L, 1);
	const char *netns;
	char buf[32768];
	struct timespec ts;
	lua_Integer n = 0;
	int names, out;

	lua_settop(L, 1);
	lua_getiuservalue(L, 1, 1);
	netns = lua_tostring(L, 2);
	lua_getiuservalue(L, 1, 2);
	names = lua_gettop(L);
	lua_newtable(L);
	out = lua_gettop(L);
	for (;;) {
		ssize_t len = recv(m->fd, buf, sizeof(buf), MSG_TRUNC);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int rest;

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (len < 0)
			return nslab_raise(
			    L, "nslab.monitor", NULL, netns, errno,
			    errno == ENOBUFS ? "events were lost (the "
					       "socket's buffer overflowed)"
					     : NULL);
		if ((size_t)len > sizeof(buf))
			continue; /* cannot happen: notifications are small */
		clock_gettime(CLOCK_REALTIME, &ts);
		rest = (int)len;
		for (; mnl_nlmsg_ok(nlh, rest);
		     nlh = mnl_nlmsg_next(nlh, &rest)) {
			if (push_event(L, nlh, names, netns,
				       (double)ts.tv_sec + ts.tv_nsec / 1e9))
				lua_rawseti(L, out, ++n);
		}
	}
	return 1;
}

/*
 * core.monitor.wait(monitors, timeout) -> array of the indexes (1-based)
 * of those with events waiting; empty at the timeout (seconds; nil: no
 * limit). A host signal (SIGINT, SIGTERM) raises EINTR.
 */
static int l_monitor_wait(lua_State *L)
{
	lua_Integer n, ready = 0;
	struct timespec ts, *tp = NULL;
	struct pollfd *pf;
	int r;

	luaL_checktype(L, 1, LUA_TTABLE);
	if (!lua_isnoneornil(L, 2)) {
		lua_Number t = luaL_checknumber(L, 2);

		luaL_argcheck(L, t >= 0 && t < 1e9, 2,
			      "timeout must be >= 0 seconds");
		ts.tv_sec = (time_t)t;
		ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
		tp = &ts;
	}
	n = (lua_Integer)lua_rawlen(L, 1);
	pf = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof(*pf), 0);
	for (lua_Integer i = 1; i <= n; i++) {
		struct monitor *m;

		lua_rawgeti(L, 1, i);
		m = luaL_testudata(L, -1, MONITOR_MT);
		if (!m || m->fd < 0)
			return luaL_argerror(
			    L, 1,
			    lua_pushfstring(L,
					    "monitors[%d] is not an "
					    "open monitor",
					    (int)i));
		pf[i - 1].fd = m->fd;
		pf[i - 1].events = POLLIN;
		pf[i - 1].revents = 0;
		lua_pop(L, 1);
	}
	r = nslab_ppoll(L, pf, (unsigned long)n, tp);
	if (r < 0)
		return nslab_raise(L, "nslab.monitor", NULL, NULL, errno,
				   errno == EINTR ? "interrupted" : NULL);
	lua_createtable(L, r, 0);
	for (lua_Integer i = 0; i < n && r > 0; i++) {
		if (pf[i].revents) {
			lua_pushinteger(L, i + 1);
			lua_rawseti(L, -2, ++ready);
		}
	}
	return 1;
}

/* monitor:fd() -> the socket's fd, to poll it with other fds. */
static int l_monitor_fd(lua_State *L)
{
	lua_pushinteger(L, check_monitor(L, 1)->fd);
	return 1;
}

/* close, __gc and __close: closes the socket; safe twice. */
static int l_monitor_close(lua_State *L)
{
	struct monitor *m = luaL_checkudata(L, 1, MONITOR_MT);

	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	return 0;
}

/* __tostring: monitor netns "red" (fd 7), or monitor (closed). */
static int l_monitor_tostring(lua_State *L)
{
	struct monitor *m = luaL_checkudata(L, 1, MONITOR_MT);

	if (m->fd < 0) {
		lua_pushliteral(L, "monitor (closed)");
		return 1;
	}
	if (lua_getiuservalue(L, 1, 1) == LUA_TSTRING)
		lua_pushfstring(L, "monitor netns \"%s\" (fd %d)",
				lua_tostring(L, -1), m->fd);
	else
		lua_pushfstring(L, "monitor (fd %d)", m->fd);
	return 1;
}

static const luaL_Reg funcs[] = {
    {"open", l_monitor_open},
    {"wait", l_monitor_wait},
    {NULL, NULL},
};

void nslab_open_monitor(lua_State *L)
{
	static const luaL_Reg methods[] = {
	    {"read", l_monitor_read},
	    {"fd", l_monitor_fd},
	    {"close", l_monitor_close},
	    {NULL, NULL},
	};
	static const luaL_Reg meta[] = {
	    {"__gc", l_monitor_close},
	    {"__close", l_monitor_close},
	    {"__tostring", l_monitor_tostring},
	    {NULL, NULL},
	};

	luaL_newmetatable(L, MONITOR_MT);
	luaL_setfuncs(L, meta, 0);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	nslab_newlib(L, "monitor", funcs);
}
