#!/bin/bash
# The whole test suite on a fresh Debian 12 machine: install what is
# missing, build and install kazashi, then
#   1. make check: unit tests and integration tests (real pcscd + vpcd, real
#      libnfc, NSS, Firefox, OpenSSL, curl, GnuTLS, p11-kit) against the
#      installed module;
#   2. make bench: figures only (APDUs, bytes, modeled air time, instructions);
#   3. make distcheck (with the unit tests): the tarball builds and installs;
#   4. scripts/ci-sanitizers.sh: ASan + UBSan build of the in-process
#      tests, valgrind memcheck of the module in relying-party flows;
#   5. scripts/ci-fuzz.sh: each libFuzzer harness for a bounded time;
#   6. scripts/ci-deb.sh: the Debian packages built in a copy of the tree,
#      lintian, installed on this machine (last, so that the steps above
#      test the build tree), and their autopkgtest smoke tests, among them
#      the C example built against kazashi.pc.
# The last line sums every step's "N passed, N failed": each TAP test
# point counts once, a failed step counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	# pcscd, private namespaces and `make install` need root.
	exec sudo -E "$0" "$@"
fi
scripts/deps.sh test || exit 1
scripts/build.sh || exit 1
module="/usr/lib/$(gcc -print-multiarch)/pkcs11/kazashi-pkcs11.so"
results=$(mktemp)
trap 'rm -f "$results"' EXIT

echo "== make check"
# Integration tests mostly wait for daemons and the phone: two per core.
make -j"$(($(nproc) * 2))" check KZ_MODULE="$module" >check.log 2>&1
check_status=$?
grep -E '^(FAIL|ERROR|XPASS):' check.log
[ "$check_status" -eq 0 ] || tail -n 60 check.log
scripts/summary.sh . | sed 's/^/check: /' | tee -a "$results"

echo "== make bench"
if make bench KZ_MODULE="$module" </dev/null >bench.log 2>&1; then
	echo "bench: 1 passed, 0 failed" >>"$results"
else
	echo "bench: 0 passed, 1 failed" >>"$results"
fi
tail -n 45 bench.log

echo "== make distcheck (unit tests)"
# The in-process tests only: the integration suite needs root daemons that
# distcheck's unprivileged-style install tree does not set up, and already
# ran above.
unit_tests=$(grep -o 'tests/\(unit\|sim\)/test-[a-z0-9-]*' Makefile | sort -u | xargs)
if make distcheck TESTS="$unit_tests" >distcheck.log 2>&1; then
	echo "distcheck: 1 passed, 0 failed" | tee -a "$results"
else
	tail -n 30 distcheck.log
	echo "distcheck: 0 passed, 1 failed" | tee -a "$results"
fi

echo "== sanitizers and valgrind"
scripts/ci-sanitizers.sh </dev/null >sanitizers.log 2>&1
tail -n 12 sanitizers.log
tail -n 1 sanitizers.log | grep -E '^[0-9]+ passed, [0-9]+ failed' | sed 's/^/sanitizers: /' >>"$results" ||
	echo "sanitizers: 0 passed, 1 failed" >>"$results"

echo "== fuzzing"
scripts/ci-fuzz.sh </dev/null >fuzz.log 2>&1
tail -n 8 fuzz.log
tail -n 1 fuzz.log | grep -E '^[0-9]+ passed, [0-9]+ failed' | sed 's/^/fuzz: /' >>"$results" ||
	echo "fuzz: 0 passed, 1 failed" >>"$results"

echo "== Debian packages"
scripts/ci-deb.sh </dev/null >deb.log 2>&1
grep -E '^(not ok|ci-deb:|E:|W:)' deb.log
tail -n 1 deb.log | grep -E '^[0-9]+ passed, [0-9]+ failed' | sed 's/^/deb: /' >>"$results" ||
	echo "deb: 0 passed, 1 failed" >>"$results"

echo "== results"
cat "$results"
awk -F'[:,] *' '{ for (i = 1; i <= NF; i++) {
		if ($i ~ / passed$/) p += $i + 0; if ($i ~ / failed$/) f += $i + 0;
		if ($i ~ / skipped$/) s += $i + 0 } }
	END { printf "%d passed, %d failed, %d skipped\n", p, f, s; exit (f > 0) }' "$results"
