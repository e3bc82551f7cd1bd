#!/bin/bash
# Taps through the real pcscd + vpcd: for each flow of the link model and
# every k, the phone leaves instead of answering APDU k. The call that hits
# the departure returns a removal code (never CKR_GENERAL_ERROR), the phone
# saw exactly the first k APDUs of a clean run (so no VERIFY was sent
# again on its own), and the next tap completes the flow in the same
# process. $1: persona (card or android).
persona=${1:?persona}
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"

module=${KZ_MODULE:-${top_builddir:-.}/src/.libs/kazashi-pkcs11.so}
flow_bin=${top_builddir:-.}/tests/flow/kz-flow
[ -r "$module" ] || kz_bail "no module at $module"
kz_start_pcscd || kz_bail "pcscd did not start"
kz_make_pki || kz_bail "no test PKI"
cd "$KZ_TMP" || kz_bail "no temp dir"

# What a departure may be reported as (PKCS#11 2.40, 5.1): device removed,
# token not present, session closed or invalid, device error.
removal_codes="0x32 0xe0 0xb3 0xb0 0x30"

# The command headers (CLA INS P1 P2 Lc): a signature's input is a fresh
# challenge every run, the rest is the same byte for byte.
commands() { jq -r 'select(.left != true) | .cmd[0:10]' "$1"; }

run_clean() { # FLOW: the reference run; prints its APDU count
	kz_start_phone --persona "$persona" --pki "$KZ_PKI" --log "ref-$1.jsonl" --taps 1
	"$flow_bin" --module "$module" --flow "$1" >"ref-$1.out" 2>&1
	local rc=$?
	kz_stop_phone
	[ $rc -eq 0 ] || return 1
	commands "ref-$1.jsonl" >"ref-$1.cmds"
	wc -l <"ref-$1.cmds"
}

arrival=$(run_clean arrive) || kz_bail "no token appears: $(cat ref-arrive.out)"
kz_ok "$persona: a tap costs $arrival APDUs before any call sees the token" test "$arrival" -gt 0

for flow in auth sign discovery; do
	n=$(run_clean $flow) || kz_bail "the $flow flow fails without any departure: $(cat "ref-$flow.out")"
	kz_ok "$persona $flow: clean run of $n APDUs" test "$n" -gt 0
	for ((k = 1; k <= n; k++)); do
		log=tear-$flow-$k.jsonl
		kz_start_phone --persona "$persona" --pki "$KZ_PKI" --log "$log" \
			--leave-at "$k" --taps 2 --tap-gap-ms 300
		out=$("$flow_bin" --module "$module" --flow $flow --retries 1 --wait-ms 8000 2>>flow-stderr.log)
		first=$(head -n 1 <<<"$out")
		last=$(tail -n 1 <<<"$out")
		rv=$(jq -r .rv <<<"$first" 2>/dev/null)
		if [ "$(jq -r .ok <<<"$first" 2>/dev/null)" = true ]; then
			# A departure while the token was being identified leaves
			# no token to see; after the flow has its result, only the
			# logout at session close is left to lose.
			kz_ok "$persona $flow k=$k: departure unseen only during arrival or at the close" \
				test "$k" -le "$arrival" -o "$k" -eq "$n"
		else
			kz_ok "$persona $flow k=$k: removal reported as such (rv $rv at $(jq -r .call <<<"$first"))" \
				grep -qw -- "$rv" <<<"$removal_codes"
		fi
		kz_ok "$persona $flow k=$k: next tap completes the flow" \
			test "$(jq -r .ok <<<"$last" 2>/dev/null)" = true
		# Tap 1 is the APDUs up to the departure: exactly the clean prefix.
		awk '/"left":true/ { exit } { print }' "$log" | jq -r '.cmd[0:10]' >"tap1-$k.cmds"
		kz_ok "$persona $flow k=$k: tap 1 sent the clean run's first $((k - 1)) APDUs, no VERIFY again" \
			cmp -s "tap1-$k.cmds" <(head -n $((k - 1)) "ref-$flow.cmds")
		kz_stop_phone
	done
done
kz_done
