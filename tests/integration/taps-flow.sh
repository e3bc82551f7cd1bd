#!/bin/bash
# Taps through the real pcscd + vpcd, or with KZ_TRANSPORT=nfc through the
# real libnfc and an emulated PN532 with no pcscd (nfc-env.sh). For each
# flow of the link model and every k the phone leaves instead of answering
# APDU k and comes back 300 ms later: the call that hits the departure
# returns a removal code (never CKR_GENERAL_ERROR), the phone saw exactly
# the first k-1 APDUs of a clean run (so no VERIFY was sent again on its
# own), and the next tap completes the flow in the same process. Then a
# re-tap in one process. Over libnfc also the sizes of what crosses the
# link. $1: persona (card or android).
persona=${1:?persona}
. "${srcdir:-.}/tests/integration/transport-env.sh"

flow_bin=$top_builddir/tests/flow/kz-flow
[ -x "$flow_bin" ] || kz_bail "no kz-flow at $flow_bin"
sim=(--persona "$persona" --pki "$KZ_PKI")

# What a departure may be reported as (PKCS#11 2.40, 5.1): device removed,
# token not present, session closed or invalid, device error.
removal_codes="0x32 0xe0 0xb3 0xb0 0x30"

# The commands a log shows; a signature's input (a random challenge) by
# its header only, so that runs compare.
commands() { jq -r 'select(.left != true) | if .ins == "2A" then .cmd[0:10] else .cmd end' "$1"; }

# run_clean FLOW: the reference run, its APDU count in $n. Not in a
# subshell: the phone it starts must be known to the cleanup.
run_clean() {
	kz_start_phone "${sim[@]}" --log "ref-$1.jsonl"
	"$flow_bin" --module "$module" --flow "$1" >"ref-$1.out" 2>"ref-$1.err"
	local rc=$?
	kz_stop_phone
	[ $rc -eq 0 ] || return 1
	commands "ref-$1.jsonl" >"ref-$1.cmds"
	n=$(wc -l <"ref-$1.cmds")
}

# --- the cost of a cold tap -------------------------------------------------------
run_clean arrive || kz_bail "no token appears: $(cat ref-arrive.out ref-arrive.err)"
arrival=$n
kz_ok "$persona: a tap costs $arrival APDUs before any call sees the token" test "$arrival" -gt 0
if [ "$transport" = nfc ]; then
	run_clean auth || kz_bail "the auth flow fails: $(cat ref-auth.out ref-auth.err)"
	echo "# $persona: cold login + certificate read + sign over libnfc: $n APDUs," \
		"$(jq -s 'map(.cmd_bytes) | add' ref-auth.jsonl) bytes to the phone," \
		"$(jq -s 'map(.resp_bytes) | add' ref-auth.jsonl) back"
	kz_ok "$persona: no command APDU over 262 bytes (libnfc's limit)" \
		test "$(jq -s 'map(.cmd_bytes) | max' ref-auth.jsonl)" -le 262
	kz_ok "$persona: no response over 258 bytes" \
		test "$(jq -s 'map(.resp_bytes) | max' ref-auth.jsonl)" -le 258
fi

# --- a departure before every APDU ------------------------------------------------
for flow in auth sign discovery; do
	run_clean $flow || kz_bail "the $flow flow fails without any departure: $(cat "ref-$flow.out" "ref-$flow.err")"
	kz_ok "$persona $flow: clean run of $n APDUs" test "$n" -gt 0
	# The token is identified once the flow's own token has its PIN
	# tries: the signature password's are read when its token's info is
	# first asked for (right after arrival), a departure before that is
	# a tap the relying party never saw.
	identified=$arrival
	tries=$(grep -n -m1 -x '00A4020C02001B' "ref-$flow.cmds" | cut -d: -f1)
	if [ -n "$tries" ] && [ "$tries" -eq $((arrival + 1)) ]; then
		identified=$((tries + 1))
	fi
	for ((k = 1; k <= n; k++)); do
		log=tear-$flow-$k.jsonl
		kz_start_phone "${sim[@]}" --log "$log" --leave-at "$k" --taps 2 --tap-gap-ms 300
		out=$("$flow_bin" --module "$module" --flow $flow --retries 1 --wait-ms 8000 2>>flow-stderr.log)
		kz_stop_phone
		first=$(head -n 1 <<<"$out")
		last=$(tail -n 1 <<<"$out")
		rv=$(jq -r .rv <<<"$first" 2>/dev/null)
		if [ "$(jq -r .ok <<<"$first" 2>/dev/null)" = true ]; then
			# A departure while the token was being identified leaves
			# no token to see; after the flow has its result, only the
			# logout at session close is left to lose.
			kz_ok "$persona $flow k=$k: departure unseen only during arrival or at the close" \
				test "$k" -le "$identified" -o "$k" -eq "$n"
		else
			kz_ok "$persona $flow k=$k: removal reported as such (rv $rv at $(jq -r .call <<<"$first"))" \
				grep -qw -- "$rv" <<<"$removal_codes"
		fi
		kz_ok "$persona $flow k=$k: next tap completes the flow" \
			test "$(jq -r .ok <<<"$last" 2>/dev/null)" = true
		# Tap 1 is the APDUs up to the departure: exactly the clean prefix.
		awk '/"left":true/ { exit } { print }' "$log" >"tap1-$k.jsonl"
		commands "tap1-$k.jsonl" >"tap1-$k.cmds"
		kz_ok "$persona $flow k=$k: tap 1 sent the clean run's first $((k - 1)) APDUs, no VERIFY again" \
			cmp -s "tap1-$k.cmds" <(head -n $((k - 1)) "ref-$flow.cmds")
	done
done

# --- a re-tap in the same process ----------------------------------------------------
kz_start_phone "${sim[@]}" --log retap.jsonl --taps 2 --tap-gap-ms 300
"$flow_bin" --module "$module" --flow retap --wait-ms 8000 >retap.out 2>&1 &
flow_pid=$!
for ((i = 0; i < 100; i++)); do
	grep -q '"tap":1' retap.out && break
	sleep 0.05
done
kz_ok "$persona retap: first tap done" grep -q '"tap":1,"ok":true' retap.out
kz_phone_leave # it comes back by itself after 300 ms
wait "$flow_pid"
kz_is "$persona retap: kz-flow exits 0" 0 "$?"
kz_ok "$persona retap: second tap done in the same process" grep -q '"tap":2,"ok":true' retap.out
kz_stop_phone

kz_done
