#!/bin/sh
# tools/sandbox.sh CMD [ARGS...]
# Runs CMD in the sandbox nslab itself provides for rootless labs
# (nslab --sandbox, src/rootless.c): private mount, network and PID
# namespaces, a fresh tmpfs on /run (so /run/netns and /run/nslab are empty
# and private), sysfs of the new netns, lo up; as a non-root user also a
# user namespace mapping the caller to root. Nothing CMD creates can reach
# the host's network, mounts or processes. Afterwards it checks that no
# network namespace, link or process is left in the sandbox and fails
# (exit 3) naming what was left.
# NSLAB_SANDBOX names the nslab binary that makes the sandbox (default: the
# build tree's ./nslab).
set -u
if [ -z "${NSLAB_IN_SANDBOX:-}" ]; then
	nslab=${NSLAB_SANDBOX:-$(dirname "$0")/../nslab}
	exec "$nslab" --sandbox env NSLAB_IN_SANDBOX=1 "$0" "$@"
fi
"$@"
rc=$?

left=""
for f in /run/netns/*; do
	[ -e "$f" ] && left="$left netns:${f#/run/netns/}"
done
while read -r line; do
	case "$line" in
	*:*) name=${line%%:*}; name=$(echo $name)
	     [ "$name" = lo ] || left="$left link:$name" ;;
	esac
done </proc/net/dev
for p in /proc/[0-9]*; do
	pid=${p#/proc/}
	[ "$pid" = 1 ] && continue
	[ -r "$p/stat" ] || continue
	read -r st <"$p/stat" 2>/dev/null || continue
	state=$(echo "$st" | sed 's/.*) \(.\).*/\1/')
	comm=$(echo "$st" | sed 's/^[0-9]* (\(.*\)) .*/\1/')
	case "$comm" in sed|sandbox.sh) continue ;; esac
	[ "$state" = Z ] && continue
	left="$left process:$pid($comm)"
done
if [ -n "$left" ]; then
	echo "sandbox: left behind:$left" >&2
	[ "$rc" = 0 ] && rc=3
fi
exit "$rc"
