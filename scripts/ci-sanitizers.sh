#!/bin/bash
# CI: memory and undefined-behaviour checks, in two parts.
#  1. AddressSanitizer + UBSan (gcc, --enable-asan) in _build-asan: every
#     in-process test program of `make check` (APDU, PIN, certificates, the
#     JPKI layer, the PKCS#11 conformance, hostile-phone and secrets tests
#     with the module linked in, the simulated phone's own). The module
#     inside pkcs11-tool would need libasan preloaded into a program that
#     was not built for it; part 2 covers that path instead.
#  2. valgrind memcheck over a relying party's flow through pkcs11-tool,
#     pcscd, vpcd and the simulated phone, once per persona
#     (tests/integration/valgrind-flow.sh), against a build without
#     sanitizers in _build-valgrind (or KZ_MODULE, if set).
# Prints the totals as "N passed, N failed" (each test point counts once);
# exits 1 on any failure. Needs root for part 2 (private namespaces), like
# the integration suite.
set -eu
cd "$(dirname "$0")/.."
. scripts/ci-tree.sh
top=$PWD
jobs=$(nproc)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# ---- 1. ASan + UBSan ---------------------------------------------------------
echo "ci-sanitizers: AddressSanitizer + UBSan build in _build-asan"
ci_tree _build-asan CC=gcc --enable-asan --enable-werror
# The in-process tests are the compiled ones: check_PROGRAMS, as the
# Makefile has them (the shell scripts in TESTS are the integration suite).
# Makefile first: a changed Makefile.am regenerates it, and what that
# prints must not end up in the list.
make -s -C _build-asan Makefile >/dev/null
tests=$(make -s -C _build-asan -f Makefile -f - kz-ci-check-programs <<'EOF' | tr ' ' '\n' | grep '^tests/' | tr '\n' ' '
kz-ci-check-programs:
	@echo $(check_PROGRAMS)
EOF
)
rm -f _build-asan/test-suite.log
asan=0
make -C _build-asan -j"$jobs" check TESTS="$tests" >_build-asan/check.out 2>&1 || asan=1
grep -E '^(FAIL|ERROR|XPASS):' _build-asan/check.out || true
if [ "$asan" -ne 0 ]; then
	# The sanitizer's report is in the failing test's log.
	for log in $(grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
		_build-asan/tests/*/*.log 2>/dev/null); do
		echo "---- $log"
		grep -A 30 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | head -n 60
	done
	[ -f _build-asan/test-suite.log ] || tail -n 40 _build-asan/check.out
fi
asan_line=$(scripts/summary.sh _build-asan) || asan=1
echo "ci-sanitizers: asan+ubsan: $asan_line"
pass=$(echo "$asan_line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
fail=$(echo "$asan_line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')

# ---- 2. valgrind -------------------------------------------------------------
module=${KZ_MODULE:-}
if [ -z "$module" ]; then
	echo "ci-sanitizers: build without sanitizers in _build-valgrind"
	ci_tree _build-valgrind CFLAGS="-g -O1"
	make -C _build-valgrind -j"$jobs" src/kazashi-pkcs11.la tests/sim/kazashi-phone-sim \
		>_build-valgrind/make.out 2>&1 || { tail -n 40 _build-valgrind/make.out; exit 1; }
	module=$top/_build-valgrind/src/.libs/kazashi-pkcs11.so
fi
for persona in card android; do
	log=_build-valgrind/valgrind-$persona.log
	mkdir -p _build-valgrind
	srcdir=$top top_builddir=$top/_build-valgrind KZ_MODULE=$module \
		bash tests/integration/valgrind-flow.sh "$persona" >"$log" 2>&1 || true
	ok=$(grep -c '^ok ' "$log" || true)
	bad=$(grep -c '^not ok ' "$log" || true)
	# A run that bailed out or ended early has fewer points than planned.
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log")
	[ -n "$plan" ] && [ "$((ok + bad))" -eq "$plan" ] || bad=$((bad + 1))
	echo "ci-sanitizers: valgrind $persona: $ok passed, $bad failed"
	[ "$bad" -eq 0 ] || grep -v '^ok ' "$log" | tail -n 80
	pass=$((pass + ok))
	fail=$((fail + bad))
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$asan" -eq 0 ]
