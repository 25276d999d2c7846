# shellcheck shell=bash disable=SC2154
# scripts/bench/chain.sh: sourced by chain_ip.sh and chain_ipbatch.sh (bash).
# The chain's addressing and names (as in chain.lua and chain_pyroute2.py),
# the clock, the ping across the first link and the teardown; expects $n
# (nodes) and $p (netns name prefix) to be set.

now() { echo "${EPOCHREALTIME/,/.}"; }
# Seconds from stamp $1 to stamp $2, printed as "KEY S" for run.lua.
report() { awk -v k="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%s %.6f\n", k, b - a }'; }
# Address of end E (1 or 2) of link K (1..N-1): the K-th /30 of 10.77/16.
addr() { local b=$((($1 - 1) * 4)); echo "10.77.$((b >> 8)).$(((b & 255) + $2))/30"; }
# Name of link K's end in netns K (its end in netns K+1 is always eth0),
# as the lab layer names links: eth0 in the first netns, else eth1.
lname() { if [ "$1" = 1 ]; then echo eth0; else echo eth1; fi; }

# One ping from netns 1 to the far end of link 1; fails loudly.
ping_first() {
	local a
	a=$(addr 1 2)
	if ! ip netns exec "${p}1" ping -c1 -W2 -q "${a%/*}" >/dev/null; then
		echo "ping across the first link failed" >&2
		return 1
	fi
	echo "ping ok"
}

# Deletes whatever netns of the chain exist (also after a failure).
teardown_all() {
	for ((i = 1; i <= n; i++)); do
		if [ -e "/run/netns/$p$i" ]; then ip netns del "$p$i" || return 1; fi
	done
}
