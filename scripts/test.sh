#!/bin/sh
# The whole test suite on a fresh Debian 12 machine: install what is
# missing, build and install kazashi, run unit and integration tests
# against the installed module, print "N passed, N failed, N skipped".
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	# pcscd, private namespaces and `make install` need root.
	exec sudo -E "$0" "$@"
fi
scripts/deps.sh
scripts/build.sh
module="/usr/lib/$(gcc -print-multiarch)/pkcs11/kazashi-pkcs11.so"
status=0
# Integration tests mostly wait for pcscd and the phone: run more at once
# than there are cores.
make -j"$(( $(nproc) * 2 ))" check KZ_MODULE="$module" >check.log 2>&1 || status=$?
grep -E '^(FAIL|ERROR|XPASS|SKIP):' check.log || true
[ "$status" -eq 0 ] || tail -n 60 check.log
# Figures only (APDUs, bytes, modeled air time, instructions): the
# benchmark asserts nothing, but it must run.
echo "== make bench"
make bench KZ_MODULE="$module" </dev/null 2>&1 | tee bench.log | tail -n 40 || true
scripts/summary.sh .
