#!/bin/bash
# One card, several programs: what one process does to the card's single
# security state must neither log another out nor leave a PIN verified for
# a third. With the real pcscd + vpcd and a simulated phone (persona from
# $1: android, card), three programs share the reader:
#   A  a relying party (kz-script) holding sessions and logins open;
#   B  programs that only look (pkcs11-tool -L / -O, a kz-script that never
#      logs in): they must not clear A's login (issue 13, part 2), and they
#      cannot sign without a login of their own;
#   R  kz-rawsign, plain PC/SC with no PIN: SELECT of a key's EF and
#      COMPUTE DIGITAL SIGNATURE. It must never get a signature with the
#      signature key (SW 6982): not while A is logged in to the signature
#      token, not after A's signature, logout, last close or C_SetPIN
#      (issue 17); and with lock_login it cannot reach the card at all
#      while A's user-authentication token is logged in.
persona=${1:-android}
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"

module=${KZ_MODULE:-${top_builddir:-.}/src/.libs/kazashi-pkcs11.so}
script=${top_builddir:-.}/tests/flow/kz-script
rawsign=${top_builddir:-.}/tests/flow/kz-rawsign
[ -r "$module" ] || kz_bail "no module at $module"
[ -x "$script" ] && [ -x "$rawsign" ] || kz_bail "kz-script or kz-rawsign not built"
auth_pin=5823
sign_pin=KZ7TEST9
apdu_log=$KZ_TMP/apdu.jsonl

kz_start_pcscd || kz_bail "pcscd did not start"
kz_make_pki || kz_bail "no test PKI"
kz_start_phone --persona "$persona" --pki "$KZ_PKI" --auth-pin "$auth_pin" \
	--sign-pin "$sign_pin" --log "$apdu_log" || kz_bail "no phone"
cd "$KZ_TMP" || kz_bail "no temp dir"
echo "log_level = debug" >"$KZ_TMP/plain.conf"
export KAZASHI_CONF=$KZ_TMP/plain.conf

# Relying party A: kz-script as a coprocess; `a CMD` sends one command and
# prints its answer line (or "TIMEOUT").
start_a() {
	coproc A { exec "$script" --module "$module" 2>>"$KZ_TMP/a.err"; }
	kz_bg "$A_PID"
	local first
	read -r -t 20 first <&"${A[0]}" || first=TIMEOUT
	[ "${first%% *}" = OK ] || kz_bail "kz-script did not start: $first"
}
a() {
	local line
	echo "$*" >&"${A[1]}"
	read -r -t 30 line <&"${A[0]}" || line=TIMEOUT
	echo "$line"
}
stop_a() {
	a finalize >/dev/null
	wait "$A_PID" 2>/dev/null
}
# B: one short-lived kz-script run, commands as arguments; prints answers.
b() {
	printf '%s\n' "$@" | timeout 30 "$script" --module "$module" 2>>"$KZ_TMP/b.err" | tail -n +2
}
raw() { "$rawsign" "$KZ_READER" "$1"; }
sw_of() { sed -n 's/.*sign=\([0-9A-F]*\).*/\1/p' <<<"$1"; }
apdus() { jq -r '.ins' "$apdu_log" | wc -l; }
# SELECT of the application by its AID since line $1 of the phone's log.
ap_selects_since() {
	tail -n +"$(($1 + 1))" "$apdu_log" | jq -r 'select(.ins == "A4") | .cmd' |
		grep -ci '^00A4040C' || true
}

start_a
kz_is "A opens the user-authentication token" OK "$(a open auth)"
kz_is "A logs in" OK "$(a login "$auth_pin")"
kz_is "A signs" "OK 256 verified" "$(a sign)"

# --- B only looks ---------------------------------------------------------
mark=$(apdus)
kz_ok "B: pkcs11-tool -L lists the token" \
	sh -c "timeout 30 pkcs11-tool --module '$module' -L | grep -q 'JPKI User Authentication'"
kz_ok "B: pkcs11-tool -O lists public objects" \
	timeout 30 pkcs11-tool --module "$module" -O --slot-index 0
kz_is "B never selected the application again" 0 "$(ap_selects_since "$mark")"
kz_is "A still signs after B looked" "OK 256 verified" "$(a sign)"
kz_is "A's session is still logged in" "OK user" "$(a state)"
# The module's login state decides, never the card's: B has no login, so
# its key is either hidden (a phone) or refused (a card).
out=$(b "open auth" sign close | sed -n 2p)
kz_ok "B cannot sign without its own login ($out)" \
	grep -qx -e 'ERR CKR_USER_NOT_LOGGED_IN' -e 'ERR CKR_OBJECT_HANDLE_INVALID' <<<"$out"
kz_is "A still signs after B's refused signature and C_Finalize" "OK 256 verified" "$(a sign)"

# --- the signature key ---------------------------------------------------
kz_is "R gets no signature before anyone logs in" 6982 "$(sw_of "$(raw sign)")"
kz_is "A opens the signature token" OK "$(a open sign)"
kz_is "A logs in to the signature token" OK "$(a login "$sign_pin")"
kz_is "R gets no signature while A is logged in" 6982 "$(sw_of "$(raw sign)")"
kz_is "C_SignInit with the signature key" OK "$(a signinit)"
kz_is "the password at C_Login authorises the first signature" "OK 256 verified" "$(a signdo)"
kz_is "R gets no signature after A's signature" 6982 "$(sw_of "$(raw sign)")"
kz_is "C_SignInit again" OK "$(a signinit)"
kz_is "a second signature wants the password again" "ERR CKR_USER_NOT_LOGGED_IN" "$(a signdo)"
kz_is "the context-specific login" OK "$(a ctxlogin "$sign_pin")"
kz_is "then the waiting operation signs" "OK 256 verified" "$(a signdo)"
kz_is "another signature with its own context-specific login" "OK 256 verified" "$(a sign "$sign_pin")"
kz_is "R gets no signature after a context-specific signature" 6982 "$(sw_of "$(raw sign)")"
kz_is "A is still logged in to the signature token" "OK user" "$(a state)"
kz_is "A logs out of the signature token" OK "$(a logout)"
kz_is "R gets no signature after A's logout" 6982 "$(sw_of "$(raw sign)")"
kz_is "A logs in again" OK "$(a login "$sign_pin")"
kz_is "A closes its last signature session" OK "$(a close)"
kz_is "R gets no signature after A's last close" 6982 "$(sw_of "$(raw sign)")"
kz_is "A opens a public signature session" OK "$(a open sign)"
kz_is "A changes the password (C_SetPIN, public session)" OK "$(a setpin "$sign_pin" NEWPASS7)"
kz_is "R gets no signature after C_SetPIN" 6982 "$(sw_of "$(raw sign)")"
kz_is "the session stayed public" "OK public" "$(a state)"
kz_is "A changes it back" OK "$(a setpin NEWPASS7 "$sign_pin")"
kz_is "R gets no signature after the second C_SetPIN" 6982 "$(sw_of "$(raw sign)")"
kz_is "A closes the signature session" OK "$(a close)"
stop_a

# --- lock_login ----------------------------------------------------------
printf 'log_level = debug\nlock_login = yes\n' >"$KZ_TMP/lock.conf"
KAZASHI_CONF=$KZ_TMP/lock.conf start_a
kz_is "lock_login: A opens the user-authentication token" OK "$(a open auth)"
before=$(raw auth)
kz_is "lock_login: R reaches the card before the login" 6982 "$(sw_of "$before")"
kz_is "lock_login: A logs in" OK "$(a login "$auth_pin")"
during=$(raw auth)
kz_ok "lock_login: R cannot reach the card while A is logged in ($during)" \
	grep -q '^error=' <<<"$during"
kz_is "lock_login: A signs" "OK 256 verified" "$(a sign)"
kz_is "lock_login: A logs out" OK "$(a logout)"
kz_is "lock_login: R reaches the card again, and gets no signature" 6982 "$(sw_of "$(raw auth)")"
kz_is "lock_login: A logs in again and closes its session" "OK
OK" "$(a login "$auth_pin"; a close)"
kz_is "lock_login: the last close lets the card go" 6982 "$(sw_of "$(raw auth)")"
stop_a

kz_ok "no PIN in the relying party's log" sh -c "! grep -q -e '$auth_pin' -e '$sign_pin' '$KZ_TMP/a.err'"
kz_done
