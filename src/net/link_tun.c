/*
 * link_tun.c - tun and tap links. The kernel registers "tun" as an
 * rtnetlink kind but refuses to create one that way (EOPNOTSUPP): a tun or
 * tap device is made through /dev/net/tun, in the network namespace of
 * the task that opened it. So the calling thread enters the netns (setns,
 * and straight back, error or not, as everywhere else), opens
 * /dev/net/tun, TUNSETIFF names the device and TUNSETPERSIST keeps it
 * after the fd is closed; mtu, MAC and up are then set and the link read
 * back with one RTM_NEWLINK and RTM_GETLINK, as for other kinds.
 *
 * Syscalls: setns(2), open(2), ioctl(TUNSETIFF, TUNSETPERSIST).
 * Read: Documentation/networking/tuntap.rst, ip-tuntap(8), netdevice(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>

#include "net/link.h"

#define TUN_DEV "/dev/net/tun"

int link_tun_kind(const char *kind)
{
	return !strcmp(kind, "tun")   ? IFF_TUN
	       : !strcmp(kind, "tap") ? IFF_TAP
				      : 0;
}

/*
 * Creates the persistent tun/tap device name (flags IFF_TUN or IFF_TAP)
 * in netns (NULL: nslab's own). Returns 0, or -1 with errno set and
 * *step naming what failed ("open /dev/net/tun", "TUNSETIFF", ...).
 */
static int tun_create(struct nslab_state *st, const char *netns,
		      const char *name, int flags, const char **step)
{
	struct ifreq ifr;
	int fd = -1, err = 0;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (short)(flags | IFF_NO_PI);
	memcpy(ifr.ifr_name, name, strlen(name)); /* checked: < IFNAMSIZ */
	*step = "setns";
	if (netns && nl_enter(&st->nl, netns) < 0) {
		err = errno;
		nl_leave(&st->nl);
		return errno = err, -1;
	}
	*step = "open " TUN_DEV;
	fd = open(TUN_DEV, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		*step = "TUNSETIFF";
		if (ioctl(fd, TUNSETIFF, &ifr) == 0) {
			*step = "TUNSETPERSIST";
			if (ioctl(fd, TUNSETPERSIST, 1L) < 0)
				err = errno;
		} else {
			err = errno;
		}
	} else {
		err = errno;
	}
	if (netns)
		nl_leave(&st->nl);
	if (fd >= 0)
		close(fd);
	return err ? (errno = err, -1) : 0;
}

int link_add_tun(lua_State *L, struct nl_conn *c, const char *op,
		 const char *obj, const char *netns, const char *name,
		 const char *kind, const struct link_common *lc)
{
	struct nslab_state *st = nslab_state(L);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct link_push lp = {L, netns, 0, 0, 0};
	struct nlmsghdr *nlh, *get;
	struct ifinfomsg *ifm;
	const char *step;
	struct nl_err e;
	int err;

	/* TUNSETIFF on an existing tun of ours would attach to it, and on
	 * another kind says EINVAL: refuse a taken name first. */
	if (nl_ifindex(c, name, &e) > 0)
		return nslab_raise(L, op, obj, netns, EEXIST,
				   "a link with this name already exists");
	if (tun_create(st, netns, name, link_tun_kind(kind), &step) < 0) {
		err = errno;
		if (err == ENOENT && !strcmp(step, "open " TUN_DEV))
			return nslab_raise(L, op, obj, netns, err,
					   "no " TUN_DEV " (needs CONFIG_TUN, "
					   "module tun, and the device node: "
					   "mknod " TUN_DEV " c 10 200)");
		if ((err == EACCES || err == EPERM) &&
		    !strcmp(step, "open " TUN_DEV))
			return nslab_raise(L, op, obj, netns, err,
					   "cannot open " TUN_DEV " (it is "
					   "root's; rootless nslab cannot open "
					   "it)");
		return nslab_raise(L, op, obj, netns, err, step);
	}
	/* The common settings and the read-back, by name. */
	nlh = link_put_request(buf, RTM_NEWLINK, 0, &ifm);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	link_put_common(nlh, ifm, lc);
	get = link_put_getlink((char *)nlh + nlh->nlmsg_len, name, 0);
	if (nl_run(c, buf, nlh->nlmsg_len + get->nlmsg_len, link_push_cb, &lp,
		   &e) == 0 &&
	    lp.n == 1)
		return 1;
	/* Nothing half-made: the device goes again. */
	lua_settop(L, lua_gettop(L) - lp.n);
	nlh = link_put_request(buf, RTM_DELLINK, 0, &ifm);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	{
		struct nl_err ignored;

		nl_run(c, buf, nlh->nlmsg_len, NULL, NULL, &ignored);
	}
	return nslab_raise(L, op, obj, netns, e.err ? e.err : ENODEV,
			   e.ext[0] ? e.ext : NULL);
}

int link_tun_available(const char **why)
{
	int fd = open(TUN_DEV, O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	*why = errno == ENOENT ? "no " TUN_DEV " (needs CONFIG_TUN, module "
				 "tun, and the device node: mknod " TUN_DEV
				 " c 10 200)"
	       : errno == ENODEV ? TUN_DEV " has no driver (needs CONFIG_TUN, "
					   "module tun)"
	       : errno == EACCES || errno == EPERM
		   ? "cannot open " TUN_DEV ": permission denied (it is "
		     "root's; rootless nslab cannot open it)"
		   : "cannot open " TUN_DEV;
	return 0;
}
