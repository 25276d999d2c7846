#!/bin/bash
# scripts/bench/chain_ipbatch.sh N [PREFIX]
# The "chain N" workload (see chain_ip.sh) through `ip -batch`: one batch in
# the caller's netns creates the N netns and the N-1 veth pairs (each end
# created straight into its netns), then one `ip -n NS -batch` per netns sets
# lo up, adds the /30s and sets the links up (a batch line cannot name a
# netns: `-n` is an option of the ip command, not of a batch line). The batch
# files are written before the clock starts. Teardown is one batch of
# `netns del`. Prints "build S", "ping ok", "teardown S" for
# scripts/bench/run.lua. Needs root (or the sandbox), iproute2, ping.
set -u
n=${1:?usage: chain_ipbatch.sh N [PREFIX]}
p=${2:-cb}
# shellcheck source=chain.sh
. "$(dirname "$0")/chain.sh"
dir=$(mktemp -d) || exit 1
trap 'teardown_all >/dev/null 2>&1; rm -rf "$dir"' EXIT

for ((i = 1; i <= n; i++)); do
	echo "netns add $p$i"
done >"$dir/root"
for ((k = 1; k < n; k++)); do
	echo "link add $(lname "$k") netns $p$k type veth peer eth0 netns $p$((k + 1))"
done >>"$dir/root"
for ((i = 1; i <= n; i++)); do
	{
		echo "link set lo up"
		if [ "$i" -gt 1 ]; then
			echo "addr add $(addr $((i - 1)) 2) dev eth0"
			echo "link set eth0 up"
		fi
		if [ "$i" -lt "$n" ]; then
			echo "addr add $(addr "$i" 1) dev $(lname "$i")"
			echo "link set $(lname "$i") up"
		fi
	} >"$dir/$i"
done
for ((i = 1; i <= n; i++)); do
	echo "netns del $p$i"
done >"$dir/del"

t0=$(now)
ip -batch "$dir/root" || exit 1
for ((i = 1; i <= n; i++)); do
	ip -n "$p$i" -batch "$dir/$i" || exit 1
done
t1=$(now)
report build "$t0" "$t1"

ping_first || exit 1

t0=$(now)
ip -batch "$dir/del" || exit 1
t1=$(now)
report teardown "$t0" "$t1"
