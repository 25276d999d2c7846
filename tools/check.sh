#!/bin/bash
# tools/check.sh NSLAB [SPEC...]
# Runs the unit tests of the pure helpers first when NSLAB_UNIT names their
# program (make check sets it: build/unit, from tests/unit/; they need no
# namespaces, so they run here, outside the sandbox), then the busted specs
# through the nslab host (so specs load the module as lab scripts do)
# inside tools/sandbox.sh (whose namespaces the same nslab makes: nslab
# --sandbox), then prints the plain summary line "N passed, N failed, N
# skipped" that CI reads, unit cases and specs counted together. Exit 0
# only when no case or spec failed or errored and the sandbox was left
# clean.
set -u
cd "$(dirname "$0")/.." || exit 2
nslab=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
unit_passed=0 unit_failed=0
if [ -n "${NSLAB_UNIT:-}" ]; then
	"$NSLAB_UNIT" 2>&1 | tee "$out"
	unit=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -1)
	if [ -n "$unit" ]; then
		read -r unit_passed unit_failed <<<"$(echo "$unit" | grep -oE '[0-9]+' | tr '\n' ' ')"
	else
		echo "check: $NSLAB_UNIT printed no summary"
		unit_failed=1
	fi
fi
NSLAB_SANDBOX=$nslab tools/sandbox.sh "$nslab" /usr/bin/busted --output=utfTerminal \
	"${@:-spec}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$out" |
	grep -E '^[0-9]+ success(es)? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending' | tail -1)
if [ -z "$summary" ]; then
	echo "check: busted printed no summary (exit $rc)"
	echo "0 passed, 1 failed"
	exit 1
fi
set -- $(echo "$summary" | grep -oE '[0-9]+' | head -4)
passed=$(($1 + unit_passed)) failed=$(($2 + $3 + unit_failed)) skipped=$4
[ "$rc" = 3 ] && failed=$((failed + 1)) # sandbox found leftovers
[ -n "${NSLAB_UNIT:-}" ] &&
	echo "(unit: $unit_passed passed, $unit_failed failed; specs: $1 passed, $(($2 + $3)) failed, $4 skipped)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
