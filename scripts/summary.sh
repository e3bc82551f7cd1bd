#!/bin/sh
# Print the suite's closing line, "N passed, N failed, N skipped", from the
# automake test-suite.log of the given build directories; exit 1 on any
# failure. Each TAP test point counts once; an ERROR (a test that crashed or
# bailed out) counts as a failure.
set -eu
pass=0 fail=0 skip=0
for dir in "$@"; do
	log=$dir/test-suite.log
	[ -f "$log" ] || { echo "summary: no $log" >&2; fail=$((fail + 1)); continue; }
	get() { sed -n "s/^# $1: *\([0-9]*\)$/\1/p" "$log" | head -n 1; }
	pass=$((pass + $(get PASS) + $(get XFAIL)))
	fail=$((fail + $(get FAIL) + $(get XPASS) + $(get ERROR)))
	skip=$((skip + $(get SKIP)))
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
