#!/bin/bash
# make bench: the four flows of link-model.md (cold auth, cold sign, re-tap,
# discovery) through kz-flow against the simulated phone behind a private
# pcscd + vpcd, for both personas at 106 and 424 kbit/s, for kazashi and,
# where it is installed, OpenSC's module on the same phone in the same run.
# Then the CPU cost of one cold auth flow in each module, in instructions
# (callgrind), and signatures per second with 1, 2 and 4 readers signing
# side by side (kz-readers; phones answering after the modeled time).
# Figures only: the exit status says whether kazashi's flows worked, never
# how fast they were.
#
# Per flow it prints the APDUs, the bytes each way, the modeled air and
# card time (summed from the phone's --log) and kazashi's air time as a
# fraction of OpenSC's. "n/a": OpenSC cannot do the flow on that persona.
#
# Environment:
#   srcdir, top_builddir  as for the integration tests (make bench sets them)
#   KZ_MODULE         kazashi module (default: the build's)
#   KZ_BENCH_OPENSC   OpenSC's module (default: the system's, if installed;
#                     "none" to leave it out)
#   KZ_BENCH_PERSONAS personas (default "card android")
#   KZ_BENCH_RATES    bit rates (default "106 424")
#   KZ_BENCH_FLOWS    flows (default "auth sign retap discovery")
#   KZ_BENCH_PHONE    extra phone options (default "--extended": the phone
#                     takes extended-length APDUs; "" = short ones only)
#   KZ_BENCH_CPU      0 = skip the callgrind part
#   KZ_BENCH_READERS  reader counts for the readers-side-by-side part
#                     (default "1 2 4"; "" = skip it)
#   KZ_BENCH_SIGNATURES  signatures per reader there (default 6)
#   KZ_BENCH_TSV      also write every row, tab-separated, to this file
set -u
top_srcdir=${srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/pcscd-env.sh"

module=${KZ_MODULE:-${top_builddir:-.}/src/.libs/kazashi-pkcs11.so}
flow_bin=${top_builddir:-.}/tests/flow/kz-flow
personas=${KZ_BENCH_PERSONAS:-card android}
rates=${KZ_BENCH_RATES:-106 424}
flows=${KZ_BENCH_FLOWS:-auth sign retap discovery}
phone_opts=${KZ_BENCH_PHONE---extended}

opensc=${KZ_BENCH_OPENSC:-}
if [ -z "$opensc" ]; then
	for f in /usr/lib/*/pkcs11/opensc-pkcs11.so /usr/lib/*/opensc-pkcs11.so \
		/usr/lib/pkcs11/opensc-pkcs11.so /usr/lib64/pkcs11/opensc-pkcs11.so; do
		[ -r "$f" ] && opensc=$f && break
	done
fi
opensc_what=${opensc:-not installed}
[ "$opensc" = none ] && opensc="" opensc_what="left out (KZ_BENCH_OPENSC=none)"
modules=kazashi
[ -n "$opensc" ] && modules="kazashi opensc"

for tool in jq "$flow_bin"; do
	command -v "$tool" >/dev/null 2>&1 || kz_die "bench needs $tool"
done
[ -r "$module" ] || kz_die "no kazashi module at $module (run make first)"

kz_start_pcscd
kz_make_pki
cd "$KZ_TMP" || kz_die "no temp dir"

module_path() { if [ "$1" = kazashi ]; then echo "$module"; else echo "$opensc"; fi; }

# Sum an APDU log (every exchange the phone answered; "left" lines carry
# no exchange), from line FROM on: apdus, bytes to and from the phone, air
# and card ms.
sum_log() { # LOG FROM
	tail -n +"$2" "$1" | jq -rs '
		map(select(.left != true)) |
		[length, (map(.cmd_bytes) | add // 0), (map(.resp_bytes) | add // 0),
		 (map(.air_ms) | add // 0), (map(.card_ms) | add // 0)] | @tsv'
}

# Until LINE is in FILE, PID has ended, or 15 s have passed.
wait_line() { # LINE FILE PID
	local i
	for ((i = 0; i < 300; i++)); do
		grep -qF "$1" "$2" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# One flow on a fresh phone: sets result to "ok APDUS TO FROM AIR CARD
# CERTS" (tab-separated; CERTS: certificate values the relying party got)
# or "fail WHY". Not in a $(...) subshell: the phone it
# starts must be known to pcscd-env.sh's cleanup.
run_flow() { # MODULE PERSONA KBPS FLOW
	local m=$1 persona=$2 kbps=$3 flow=$4 name=$1-$2-$3-$4 from=1 rc
	local log=$KZ_TMP/$name.jsonl out=$KZ_TMP/$name.out
	# shellcheck disable=SC2086 # phone_opts is a word list
	if [ "$flow" = retap ]; then
		# The phone comes back when told to (SIGUSR2), not after a gap:
		# only once the module has seen it leave is the next a new tap.
		kz_start_phone --persona "$persona" --pki "$KZ_PKI" --kbps "$kbps" --log "$log" \
			--taps 2 --tap-gap-ms 60000 $phone_opts
		"$flow_bin" --module "$(module_path "$m")" --flow retap --wait-ms 8000 >"$out" 2>&1 &
		local flow_pid=$!
		# Every APDU of the first tap is in the log once its line is out.
		wait_line '"tap":1,"ok"' "$out" $flow_pid
		from=$(($(wc -l <"$log") + 1))
		kill -USR1 "$KZ_PHONE_PID" 2>/dev/null
		wait_line '"left":true' "$out" $flow_pid
		kill -USR2 "$KZ_PHONE_PID" 2>/dev/null
		wait $flow_pid
		rc=$?
	else
		kz_start_phone --persona "$persona" --pki "$KZ_PKI" --kbps "$kbps" --log "$log" \
			$phone_opts
		"$flow_bin" --module "$(module_path "$m")" --flow "$flow" --wait-ms 5000 >"$out" 2>&1
		rc=$?
	fi
	kz_stop_phone
	if [ $rc -eq 0 ]; then
		result="ok	$(sum_log "$log" "$from")	$(tail -n 1 "$out" | jq -r '.certs // "-"')"
	else
		result="fail	$(tail -n 1 "$out" | tr '\t\n' '  ')"
	fi
}

declare -A air certs cannot
failed=0
rows=()
for persona in $personas; do
	for kbps in $rates; do
		for flow in $flows; do
			for m in $modules; do
				# A flow OpenSC cannot do on this persona at one rate it
				# cannot do at the next (the APDUs do not depend on the
				# rate), and no re-tap works whose first tap does not:
				# not run again, to keep the bench short.
				if [ "$m" != kazashi ] && { [ -n "${cannot[$persona-$m-$flow]:-}" ] ||
					{ [ "$flow" = retap ] && [ -n "${cannot[$persona-$m-auth]:-}" ]; }; }; then
					result="fail	as in the run above"
				else
					run_flow "$m" "$persona" "$kbps" "$flow"
				fi
				r=$result
				rows+=("$persona	$kbps	$flow	$m	$r")
				if [ "${r%%	*}" = ok ]; then
					air[$persona-$kbps-$flow-$m]=$(cut -f5 <<<"$r")
					certs[$persona-$kbps-$flow-$m]=$(cut -f7 <<<"$r")
				else
					cannot[$persona-$m-$flow]=1
					[ "$m" = kazashi ] && failed=1
				fi
			done
		done
	done
done

echo
echo "Link model (../shared/docs/link-model.md): modeled air and card time of each flow,"
echo "summed over the APDUs the simulated phone answered (re-tap: the second tap only)."
echo "phone: kazashi-phone-sim ${phone_opts:-(short APDUs only)}; OpenSC: $opensc_what"
echo
fmt='%-8s %5s %-10s %-8s %6s %8s %8s %9s %9s %9s\n'
# shellcheck disable=SC2059 # fmt is ours
printf "$fmt" persona kbps flow module APDUs "to card" "to host" "air ms" "card ms" "air/OpenSC"
[ -n "${KZ_BENCH_TSV:-}" ] && printf 'persona\tkbps\tflow\tmodule\tstatus\tapdus\tto_card\tto_host\tair_ms\tcard_ms\tcerts\n' >"$KZ_BENCH_TSV"
for row in "${rows[@]}"; do
	IFS=$'\t' read -r persona kbps flow m status apdus to from a card _ <<<"$row"
	[ -n "${KZ_BENCH_TSV:-}" ] && printf '%s\n' "$row" >>"$KZ_BENCH_TSV"
	if [ "$status" != ok ]; then
		# shellcheck disable=SC2059
		printf "$fmt" "$persona" "$kbps" "$flow" "$m" n/a - - - - -
		[ "$m" = kazashi ] && echo "    kazashi failed: $apdus"
		continue
	fi
	ratio=-
	ref=${air[$persona-$kbps-$flow-opensc]:-}
	if [ "$m" = kazashi ] && [ -n "$opensc" ]; then
		if [ -z "$ref" ]; then
			ratio=n/a
		elif [ "${certs[$persona-$kbps-$flow-opensc]}" != "${certs[$persona-$kbps-$flow-kazashi]}" ]; then
			# Not the same flow: the relying party got fewer (or more)
			# certificates from OpenSC.
			ratio="n/a(*)"
			footnote=1
		else
			ratio=$(awk -v a="$a" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')
		fi
	fi
	# shellcheck disable=SC2059
	printf "$fmt" "$persona" "$kbps" "$flow" "$m" "$apdus" "$to" "$from" \
		"$(printf %.1f "$a")" "$(printf %.1f "$card")" "$ratio"
done

if [ -n "${footnote:-}" ]; then
	echo "(*) not comparable: OpenSC gave the relying party other certificates than kazashi"
	echo "    (OpenSC shows the CA certificates, kazashi only with ca_certificates = yes;"
	echo "    on a phone OpenSC shows none: see jpki-protocol.md)"
fi

# ---- CPU: instructions the module executes for one cold auth flow -------
if [ "${KZ_BENCH_CPU:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
	persona=${personas%% *}
	echo
	echo "CPU of one cold auth flow ($persona, 106 kbit/s): instructions executed inside the"
	echo "module's C_* calls, everything they call included (valgrind --tool=callgrind)"
	for m in $modules; do
		cg=$KZ_TMP/callgrind-$m.out
		# shellcheck disable=SC2086 # a word list
		kz_start_phone --persona "$persona" --pki "$KZ_PKI" --log "$KZ_TMP/cg-$m.jsonl" $phone_opts
		valgrind --tool=callgrind --callgrind-out-file="$cg" --collect-atstart=no \
			--toggle-collect='C_*' "$flow_bin" --module "$(module_path "$m")" --flow auth \
			--wait-ms 20000 >"$KZ_TMP/cg-$m.out" 2>"$KZ_TMP/cg-$m.err"
		rc=$?
		kz_stop_phone
		ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$cg" 2>/dev/null)
		if [ $rc -ne 0 ] || [ -z "$ir" ]; then
			printf '  %-8s %15s\n' "$m" n/a
			[ "$m" = kazashi ] && failed=1
		else
			printf '  %-8s %15d Ir\n' "$m" "$ir"
		fi
	done
fi

# ---- readers side by side: signatures per second with 1, 2, 4 readers ----
# A pcscd with several vpcd readers, a phone in each answering after the
# modeled air + card time (--realtime), and kz-readers: one relying-party
# thread per reader, logged in to the signature token, signing in a loop.
# The target (issue 14): N readers at 0.90 x N x one reader's rate or
# more; 1.00 x one reader's means the readers took turns. The same readers in separate processes (one reader
# each, kazashi) show what pcscd and the phones allow at all.
readers_counts=${KZ_BENCH_READERS-1 2 4}
if [ -n "$readers_counts" ]; then
	max=0
	for n in $readers_counts; do ((n > max)) && max=$n; done
	kz_stop_pcscd
	kz_start_pcscd_readers "$max"
	for ((i = 0; i < max; i++)); do
		kz_start_phone_on "$i" --persona card --pki "$KZ_PKI" --realtime
	done
	count=${KZ_BENCH_SIGNATURES:-6}
	readers_bin=${top_builddir:-.}/tests/flow/kz-readers
	echo
	echo "Readers side by side: one thread per reader, each logged in to the signature token"
	echo "and signing $count times (CKM_SHA256_RSA_PKCS, a context-specific login each, every"
	echo "signature verified); phones answer after the modeled air + card time (106 kbit/s)."
	rfmt='  %-22s %7s %10s %8s %7s %11s %10s\n'
	# shellcheck disable=SC2059 # rfmt is ours
	printf "$rfmt" module readers signatures seconds "sig/s" "x 1 reader" "/ N x 1"
	# readers_row LABEL N SIGNATURES SECONDS RATE: one row; "x 1 reader" is
	# the total rate over one reader's (1.00: the readers took turns), "/ N
	# x 1" that over N times one reader's (the target is 0.90 or more).
	# Sets one_rate for N = 1.
	readers_row() {
		local times=- share=-
		[ "$2" = 1 ] && one_rate=$5
		if [ -n "${one_rate:-}" ]; then
			times=$(awk -v r="$5" -v o="$one_rate" 'BEGIN { printf "%.2f", r / o }')
			share=$(awk -v r="$5" -v o="$one_rate" -v n="$2" 'BEGIN { printf "%.2f", r / (n * o) }')
		fi
		# shellcheck disable=SC2059
		printf "$rfmt" "$1" "$2" "$3" "$(printf %.2f "$4")" "$(printf %.2f "$5")" "$times" "$share"
	}
	for m in $modules; do
		one_rate=
		for n in $readers_counts; do
			out=$KZ_TMP/readers-$m-$n.out
			"$readers_bin" --module "$(module_path "$m")" --readers "$n" --count "$count" \
				--deadline-ms 120000 >"$out" 2>"$KZ_TMP/readers-$m-$n.err"
			rc=$?
			line=$(grep '"ev":"summary"' "$out" | tail -n 1)
			if [ $rc -ne 0 ] || [ -z "$line" ]; then
				# shellcheck disable=SC2059
				printf "$rfmt" "$m" "$n" n/a - - - -
				[ "$m" = kazashi ] && failed=1 &&
					echo "    kazashi failed: $(grep -v '"ok":true' "$out" | tail -n 2 | tr '\n' ' ')"
				continue
			fi
			# shellcheck disable=SC2046 # three numbers
			readers_row "$m" "$n" $(jq -r '[.signatures, .seconds, .per_second] | @tsv' <<<"$line")
		done
		[ "$m" = kazashi ] && kazashi_one=$one_rate
	done
	# The environment's ceiling: one process per reader, all at once.
	pids=()
	for ((i = 0; i < max; i++)); do
		"$readers_bin" --module "$module" --readers 1 --skip "$i" --count "$count" \
			--deadline-ms 120000 >"$KZ_TMP/separate-$i.out" 2>"$KZ_TMP/separate-$i.err" &
		pids+=($!)
	done
	wait "${pids[@]}"
	total=0 longest=0
	for ((i = 0; i < max; i++)); do
		sig=0 secs=0
		read -r sig secs < <(jq -r 'select(.ev == "summary") | [.signatures, .seconds] | @tsv' \
			"$KZ_TMP/separate-$i.out" 2>/dev/null)
		total=$((total + ${sig:-0}))
		longest=$(awk -v a="$longest" -v b="${secs:-0}" 'BEGIN { print ((b > a) ? b : a) }')
	done
	rate=$(awk -v t="$total" -v s="$longest" 'BEGIN { printf "%.3f", (s > 0 ? t / s : 0) }')
	one_rate=${kazashi_one:-}
	if [ "$total" -eq $((max * count)) ]; then
		readers_row "kazashi, $max processes" "$max" "$total" "$longest" "$rate"
	else
		# shellcheck disable=SC2059
		printf "$rfmt" "kazashi, $max processes" "$max" n/a - - - -
	fi
fi
exit $failed
