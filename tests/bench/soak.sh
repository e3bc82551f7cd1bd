#!/bin/bash
# The soak: one process, the module loaded, many taps (tests/bench/soak.c).
#
#   make soak                      10,000 taps, the module in-process with
#                                  the simulated phone as its back end;
#                                  figures every 1,000 taps; fails on any
#                                  failed tap, on descriptors or threads
#                                  that grew, on resident memory grown by
#                                  1 MB or more
#   make soak KZ_SOAK_TAPS=N       another count
#   tests/bench/soak-short.sh      300 taps, figures every 100, TAP output:
#                                  the CI version (no timing asserted)
#
# Environment: srcdir, top_builddir; KZ_SOAK_TAPS, KZ_SOAK_EVERY,
# KZ_SOAK_TAP=1 for TAP output, KZ_SOAK_RSS_KB (the growth limit; default
# 1024, none in TAP mode).
set -u
srcdir=${srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
soak=$top_builddir/tests/bench/kz-soak
taps=${KZ_SOAK_TAPS:-10000}
every=${KZ_SOAK_EVERY:-1000}
tap=${KZ_SOAK_TAP:-0}

bail() {
	[ "$tap" = 1 ] && echo "Bail out! $*"
	echo "soak: $*" >&2
	exit 99
}
[ -x "$soak" ] || bail "no kz-soak at $soak (make first)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kazashi-soak.XXXXXX") || bail "no temp dir"
trap 'rm -rf "$tmp"' EXIT
sh "$srcdir/tests/sim/make-pki.sh" "$tmp/pki" >"$tmp/pki.log" 2>&1 || bail "make-pki.sh failed"

limit=()
if [ "$tap" != 1 ]; then
	limit=(--max-rss-growth-kb "${KZ_SOAK_RSS_KB:-1024}")
fi
"$soak" --pki "$tmp/pki" --taps "$taps" --every "$every" "${limit[@]}" >"$tmp/soak.out" 2>"$tmp/soak.err"
rc=$?
if [ "$tap" != 1 ]; then
	cat "$tmp/soak.out"
	cat "$tmp/soak.err" >&2
	exit $rc
fi

# TAP: what CI asserts (not timing: CI machines are shared).
. "$srcdir/tests/integration/tap.sh"
sed 's/^/# /' "$tmp/soak.out"
sed 's/^/# stderr: /' "$tmp/soak.err" | head -n 20
sum=$(grep '"summary"' "$tmp/soak.out")
[ -n "$sum" ] || bail "kz-soak printed no summary (exit $rc)"
kz_is "$taps taps" "$taps" "$(jq .taps <<<"$sum")"
kz_is "every 10th tap torn during the signature" $((taps / 10)) "$(jq .torn <<<"$sum")"
kz_is "no failed tap" 0 "$(jq .failures <<<"$sum")"
kz_is "open descriptors flat" "$(jq .fds_first <<<"$sum")" "$(jq .fds_last <<<"$sum")"
kz_is "threads flat" "$(jq .threads_first <<<"$sum")" "$(jq .threads_last <<<"$sum")"
kz_is "C_Finalize at the end" 0x0 "$(jq -r .finalize <<<"$sum")"
kz_is "kz-soak exit status" 0 "$rc"
kz_done
