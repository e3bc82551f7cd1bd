#!/bin/sh
# run.sh SECONDS SEEDS BIN WORK NAME...: run each libFuzzer harness
# BIN/fuzz-NAME for SECONDS, from its seed corpus SEEDS/corpus-NAME (read
# only) and what earlier runs added in WORK/NAME, and print one line each:
# its exec count, rate and corpus size. Any finding (crash, sanitizer
# report, leak, timeout, out of memory) fails the run (exit 1); the input
# that caused it is kept as WORK/artifacts-NAME/crash-* (or leak-*,
# timeout-*, oom-*) and the end of its log is printed.
# FUZZ_PARALLEL=yes runs them all at once (on as many cores).
set -u
[ $# -ge 5 ] || { echo "usage: run.sh SECONDS SEEDS BIN WORK NAME..." >&2; exit 2; }
secs=$1 seeds=$2 bin=$3 work=$4
shift 4

one() {
	name=$1
	mkdir -p "$work/$name" "$work/artifacts-$name" || return 1
	log=$work/$name.log
	# -timeout: a single input that takes this long is a hang; the module
	# never waits on a phone that has no more answers to give.
	"$bin/fuzz-$name" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts-$name/" \
		"$work/$name" "$seeds/corpus-$name" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	corpus=$(ls "$work/$name" | wc -l)
	found=$(ls "$work/artifacts-$name" | wc -l)
	if [ "$rc" -eq 0 ] && [ "$found" -eq 0 ]; then
		echo "fuzz-$name: ok, ${execs:-?} execs in ${secs}s (${rate:-?}/s), $cov, corpus $corpus"
		return 0
	fi
	echo "fuzz-$name: FINDING (exit $rc) after ${execs:-?} execs; inputs in $work/artifacts-$name:"
	ls "$work/artifacts-$name"
	tail -n 60 "$log"
	return 1
}

status=0
mkdir -p "$work" || exit 1
if [ "${FUZZ_PARALLEL:-no}" = yes ]; then
	for name in "$@"; do
		one "$name" >"$work.$name.out" 2>&1 &
	done
	wait
	for name in "$@"; do
		cat "$work.$name.out"
		grep -q "^fuzz-$name: ok" "$work.$name.out" || status=1
		rm -f "$work.$name.out"
	done
else
	for name in "$@"; do
		one "$name" || status=1
	done
fi
exit $status
