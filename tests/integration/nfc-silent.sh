#!/bin/bash
# A phone that stays in the field but stops answering, through the real
# libnfc and an emulated PN532 (issue 14): the chip ACKs the COMPUTE
# DIGITAL SIGNATURE and its card never answers (--freeze-ins 2A), so only
# libnfc's own timeout can end the exchange. A relying party (kz-script)
# logged in and signing must get a clean removal/device error well within
# a generous bound, never CKR_GENERAL_ERROR and never a hang; the module
# must say so in its log; no VERIFY may be sent on its own; and once the
# phone answers again (SIGUSR2 thaws it) the same process opens a new
# session, logs in and signs.
set -u
. "${srcdir:-.}/tests/integration/nfc-env.sh"
. "$srcdir/tests/integration/tap.sh"

module=${KZ_MODULE:-$top_builddir/src/.libs/kazashi-pkcs11.so}
script=$top_builddir/tests/flow/kz-script
[ -r "$module" ] || kz_bail "no module at $module"
[ -x "$script" ] || kz_bail "kz-script not built"
auth_pin=5823
apdu_log=$KZ_TMP/apdu.jsonl
rp_err=$KZ_TMP/rp.err
# Only a failure detector: libnfc's timeout is 3 s an exchange.
bound_s=20

kz_make_pki
kz_start_phone --pki "$KZ_PKI" --auth-pin "$auth_pin" --log "$apdu_log" --freeze-ins 2A
phone_log=$KZ_TMP/phone-$KZ_PHONE_N.log
# The module's log to the relying party's stderr (kz-env wrote nfc_device).
echo "log_level = debug" >>"$KAZASHI_CONF"

coproc RP { exec "$script" --module "$module" 2>>"$rp_err"; }
# RP_PID is set by coproc; kept, as bash unsets it when the coprocess ends.
# shellcheck disable=SC2153
rp_pid=$RP_PID
kz_bg "$rp_pid"
read -r -t 30 first <&"${RP[0]}" || first=TIMEOUT
[ "${first%% *}" = OK ] || kz_bail "kz-script did not start: $first"

# rp CMD: one command, its answer line (TIMEOUT after the bound); the
# seconds it took in $rp_s.
rp() {
	local line t0=$SECONDS
	echo "$*" >&"${RP[1]}"
	read -r -t "$bound_s" line <&"${RP[0]}" || line=TIMEOUT
	rp_s=$((SECONDS - t0))
	echo "$line"
}
# VERIFYs that carry a PIN (an empty one only asks for the tries left).
verifies() { jq -r 'select(.ins == "20" and .cmd_bytes > 5) | .n' "$apdu_log" | wc -l; }
# A removal or device code: the session or its token is gone.
removal_code() {
	grep -qx -e 'ERR CKR_DEVICE_REMOVED' -e 'ERR CKR_DEVICE_ERROR' \
		-e 'ERR CKR_TOKEN_NOT_PRESENT' -e 'ERR CKR_SESSION_HANDLE_INVALID' <<<"$1"
}

kz_is "the relying party opens the user-authentication token" OK "$(rp open auth)"
kz_is "it logs in" OK "$(rp login "$auth_pin")"
kz_is "one VERIFY so far" 1 "$(verifies)"

# The signature: the card goes silent at its COMPUTE DIGITAL SIGNATURE.
rp signinit >/dev/null
SECONDS=0
out=$(rp signdo)
took=$SECONDS
echo "# the silent signature: '$out' after ${took} s"
kz_ok "the phone froze at the signature" grep -q 'pn532: frozen' "$phone_log"
kz_ok "C_Sign returned within ${bound_s} s (${took} s)" test "$out" != TIMEOUT -a "$took" -lt "$bound_s"
kz_ok "with a removal/device error, not CKR_GENERAL_ERROR ($out)" removal_code "$out"
kz_ok "the module logged the silent phone" grep -q 'nfc: .*phone gone' "$rp_err"
kz_ok "... as a warning, seen at the default log level" \
	grep -q 'WARN.*nfc: .*no answer within 3000 ms' "$rp_err"
kz_is "the old session is gone too" "ERR CKR_SESSION_HANDLE_INVALID" "$(rp state)"
kz_ok "no call held longer than ${bound_s} s (state took ${rp_s} s)" test "$rp_s" -lt "$bound_s"
# Still silent, still in the field: the module's next poll finds the phone
# again, and its first APDU times out in turn. No hang, no token.
out=$(rp open auth)
echo "# a new session while the phone is still silent: '$out' after ${rp_s} s"
kz_ok "a new session while it is silent fails cleanly ($out, ${rp_s} s)" \
	test "$out" != TIMEOUT -a "$rp_s" -lt "$bound_s" -a "${out%% *}" = ERR
kz_ok "not with CKR_GENERAL_ERROR" test "$out" != "ERR CKR_GENERAL_ERROR"
kz_is "no VERIFY was sent again while the phone was silent" 1 "$(verifies)"

# The phone answers again; the same process recovers. The module must find
# it again by its own poll: a few tries, a second apart.
kz_phone_return
for ((i = 0; i < 10; i++)); do
	grep -q 'pn532: thawed' "$phone_log" && break
	sleep 0.2
done
kz_ok "the phone thawed" grep -q 'pn532: thawed' "$phone_log"
for ((i = 0; i < 10; i++)); do
	out=$(rp open auth)
	[ "$out" = OK ] && break
	sleep 1
done
kz_is "the same process opens a new session" OK "$out"
kz_is "the new session is public: no login came back by itself" "OK public" "$(rp state)"
kz_is "still no VERIFY but the first" 1 "$(verifies)"
kz_is "it logs in again" OK "$(rp login "$auth_pin")"
kz_is "one more VERIFY, the new login's" 2 "$(verifies)"
kz_is "and signs" "OK 256 verified" "$(rp sign)"
kz_ok "the module logged at debug level" grep -q 'nfc: connected' "$rp_err"
kz_ok "no PIN in the module's log" sh -c "! grep -q '$auth_pin' '$rp_err'"

rp finalize >/dev/null
wait "$rp_pid" 2>/dev/null
kz_done
