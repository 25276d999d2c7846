#!/bin/bash
# scripts/bench/chain_ip.sh N [PREFIX]
# The "chain N" workload as a plain iproute2 script, one `ip` process per
# step, the way labs are written by hand: N named netns (PREFIX1..PREFIXN,
# default prefix "ci"), lo up in each, veth pairs joining i to i+1 (eth0 /
# eth1 inside each netns, as the lab layer names them), a /30 from
# 10.77.0.0/16 on each end, every link up; one ping across the first link;
# then every netns deleted with `ip netns del`. Prints "build S",
# "ping ok", "teardown S" (seconds) for scripts/bench/run.lua.
# Needs root (or the sandbox), iproute2, ping.
set -u
n=${1:?usage: chain_ip.sh N [PREFIX]}
p=${2:-ci}
# shellcheck source=chain.sh
. "$(dirname "$0")/chain.sh"
trap 'teardown_all >/dev/null 2>&1' EXIT

t0=$(now)
for ((i = 1; i <= n; i++)); do
	ip netns add "$p$i" || exit 1
	ip -n "$p$i" link set lo up || exit 1
done
for ((k = 1; k < n; k++)); do
	a=$p$k b=$p$((k + 1)) la=$(lname "$k")
	ip link add "$la" netns "$a" type veth peer eth0 netns "$b" || exit 1
	ip -n "$a" addr add "$(addr "$k" 1)" dev "$la" || exit 1
	ip -n "$b" addr add "$(addr "$k" 2)" dev eth0 || exit 1
	ip -n "$a" link set "$la" up || exit 1
	ip -n "$b" link set eth0 up || exit 1
done
t1=$(now)
report build "$t0" "$t1"

ping_first || exit 1

t0=$(now)
teardown_all || exit 1
t1=$(now)
report teardown "$t0" "$t1"
