#!/usr/bin/python3
"""scripts/bench/chain_pyroute2.py N [PREFIX]

The "chain N" workload (see chain_ip.sh) written with pyroute2 the way its
documentation shows: pyroute2.netns.create for each netns, veth pairs made
from the caller's netns with each end created straight into its netns
(net_ns_fd, peer net_ns_fd), then for each netns setns() into it and one
IPRoute socket there to set lo up, add the /30s and set the links up.
Teardown is pyroute2.netns.remove per netns. Prints "build S",
"teardown S" for scripts/bench/run.lua. Needs root (or the sandbox) and
Debian's python3-pyroute2 (run with /usr/bin/python3, where Debian puts it).
"""
import os
import subprocess
import sys
import time

from pyroute2 import IPRoute, netns


def addr(k, end):
    """Address (string) and prefixlen of end 1 or 2 of link k (1..N-1)."""
    b = (k - 1) * 4
    return "10.77.%d.%d" % (b >> 8, (b & 255) + end), 30


def lname(k):
    """Name of link k's end in netns k (its end in netns k+1 is eth0)."""
    return "eth0" if k == 1 else "eth1"


def main():
    n = int(sys.argv[1])
    p = sys.argv[2] if len(sys.argv) > 2 else "cp"
    names = ["%s%d" % (p, i) for i in range(1, n + 1)]
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    made = []
    try:
        t0 = time.monotonic()
        for name in names:
            netns.create(name)
            made.append(name)
        with IPRoute() as ipr:
            for k in range(1, n):
                ipr.link("add", ifname=lname(k), kind="veth",
                         net_ns_fd=names[k - 1],
                         peer={"ifname": "eth0", "net_ns_fd": names[k]})
        for i, name in enumerate(names, 1):
            netns.setns(name, flags=0)
            with IPRoute() as ipr:
                ipr.link("set", index=ipr.link_lookup(ifname="lo")[0],
                         state="up")
                ends = []
                if i > 1:
                    ends.append(("eth0", addr(i - 1, 2)))
                if i < n:
                    ends.append((lname(i), addr(i, 1)))
                for ifname, (a, plen) in ends:
                    idx = ipr.link_lookup(ifname=ifname)[0]
                    ipr.addr("add", index=idx, address=a, prefixlen=plen)
                    ipr.link("set", index=idx, state="up")
            netns.setns(home)
        t1 = time.monotonic()
        print("build %.6f" % (t1 - t0), flush=True)

        if n > 1:
            netns.setns(names[0], flags=0)
            r = subprocess.run(["ping", "-c1", "-W2", "-q", addr(1, 2)[0]],
                               stdout=subprocess.DEVNULL)
            netns.setns(home)
            if r.returncode != 0:
                sys.exit("ping across the first link failed")
            print("ping ok", flush=True)

        t0 = time.monotonic()
        while made:
            netns.remove(made.pop())
        t1 = time.monotonic()
        print("teardown %.6f" % (t1 - t0), flush=True)
        print("done_at %.6f" % t1, flush=True)
    finally:
        netns.setns(home)
        for name in made:
            netns.remove(name)


if __name__ == "__main__":
    main()
