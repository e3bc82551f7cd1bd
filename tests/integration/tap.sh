# tap.sh: Test Anything Protocol output for the shell integration tests, so
# that every assertion counts in the suite's totals (automake tap-driver).
#
#   . tests/integration/tap.sh
#   kz_ok "slots are listed" grep -q "Virtual PCD" out.txt
#   kz_is "signature length" 256 "$(stat -c %s sig)"
#   kz_done                      # prints the plan; exit status from failures

kz_tap_n=0
kz_tap_failed=0

# kz_ok DESCRIPTION COMMAND [ARGS...]: one test point from a command's status.
kz_ok() {
	local desc=$1
	shift
	kz_tap_n=$((kz_tap_n + 1))
	if "$@" >>"${KZ_TMP:-/tmp}/assert.log" 2>&1; then
		echo "ok $kz_tap_n - $desc"
	else
		echo "not ok $kz_tap_n - $desc"
		echo "# failed: $*"
		kz_tap_failed=$((kz_tap_failed + 1))
	fi
}

# kz_is DESCRIPTION EXPECTED ACTUAL: one test point from an equality.
kz_is() {
	kz_tap_n=$((kz_tap_n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $kz_tap_n - $1"
	else
		echo "not ok $kz_tap_n - $1"
		echo "# expected: '$2'"
		echo "#      got: '$3'"
		kz_tap_failed=$((kz_tap_failed + 1))
	fi
}

# kz_bail REASON: the environment broke; stop the whole test.
kz_bail() {
	echo "Bail out! $*"
	exit 99
}

kz_done() {
	echo "1..$kz_tap_n"
	[ "$kz_tap_failed" -eq 0 ]
}
