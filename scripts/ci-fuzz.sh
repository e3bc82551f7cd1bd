#!/bin/bash
# CI: the libFuzzer harnesses of tests/fuzz (APDU answers; certificates and
# token info; the whole module through PKCS#11 with every answer from the
# fuzzer), built with clang, AddressSanitizer and UBSan in _build-fuzz and
# run for FUZZ_SECONDS each (default 45) from their seed corpora. Prints a
# line per harness with its exec count, then "N passed, N failed"; exits 1
# on any finding, whose input stays in _build-fuzz/fuzz-corpus/artifacts-*.
# `make fuzz` in a tree configured with --enable-fuzzing is the long run.
set -eu
cd "$(dirname "$0")/.."
. scripts/ci-tree.sh

secs=${FUZZ_SECONDS:-45}
build=_build-fuzz
command -v clang >/dev/null || { echo "ci-fuzz: clang is not installed" >&2; exit 1; }
echo "ci-fuzz: building in $build"
ci_tree "$build" CC=clang --enable-fuzzing --enable-werror
harnesses="tests/fuzz/fuzz-apdu tests/fuzz/fuzz-cert tests/fuzz/fuzz-module"
# shellcheck disable=SC2086
make -C "$build" -j"$(nproc)" $harnesses >"$build/make.out" 2>&1 ||
	{ tail -n 40 "$build/make.out"; exit 1; }

# Findings from an earlier run of this tree are not this run's.
rm -rf "$build/fuzz-corpus"/artifacts-*
status=0
out=$(cd "$build" && bash "$OLDPWD/tests/fuzz/run.sh" "$secs" "$OLDPWD/tests/fuzz" tests/fuzz \
	fuzz-corpus apdu cert module) || status=$?
echo "$out"
passed=$(grep -c '^fuzz-.*: ok' <<<"$out" || true)
failed=$((3 - passed))
echo "$passed passed, $failed failed"
exit $status
