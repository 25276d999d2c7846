#!/bin/bash
# scripts/bench/profile.sh [N]   (default 1000; run as root, it sandboxes
# itself with tools/sandbox.sh)
# Where the nslab primitives' chain-N time goes: (1) per call, from
# profile_ops.lua; (2) syscalls per node, from strace -c -f; (3) why the
# process sleeps, from the kernel stacks at sched_switch (perf), which is
# where the wall time goes beyond CPU: RCU grace periods waited for in
# the kernel. (2) and (3) are skipped when strace or perf is missing.
set -u
n=${1:-1000}
cd "$(dirname "$0")/../.." || exit 2
if [ -z "${NSLAB_IN_SANDBOX:-}" ]; then
	exec tools/sandbox.sh "$0" "$@"
fi
echo "== per call (wall time)"
./nslab scripts/bench/profile_ops.lua "$n" || exit 1
./nslab scripts/bench/profile_ops.lua "$n" lab || exit 1
out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"' EXIT
if command -v strace >/dev/null; then
	echo "== syscalls per node (strace -c -f; strace slows every call)"
	strace -f -c -o "$out/strace" ./nslab scripts/bench/chain_nslab.lua "$n" >/dev/null || exit 1
	awk -v n="$n" 'NR > 2 && $NF != "total" && $4 ~ /^[0-9]+$/ {
		printf "  %-12s %7.2f per node  %5s%% of syscall time\n", $NF, $4 / n, $1 }' "$out/strace" | head -14
fi
if command -v perf >/dev/null; then
	echo "== why the process sleeps (perf, kernel stacks at sched_switch)"
	perf record -q -e sched:sched_switch -g -o "$out/perf" \
		./nslab scripts/bench/chain_nslab.lua "$n" >/dev/null 2>&1 || exit 1
	perf report -i "$out/perf" --no-children --comm nslab --sort sym --stdio \
		-g caller,0.5,callee,function --percent-limit 2 2>/dev/null |
		grep -E -- '--[0-9.]+%--[a-z_]+$' | head -12
fi
