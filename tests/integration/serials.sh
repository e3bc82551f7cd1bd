#!/bin/bash
# A kiosk's day (issue 13, part 3): one person's phone after another's on
# the same reader, one relying-party process (kz-kiosk) throughout, real
# pcscd + vpcd. Two people (two PKIs: different keys and certificates) get
# different token serial numbers; one tap keeps one serial through login
# and signature, the same on both tokens of the tap; the same phone tapped
# again is a new tap with a new serial; another process (pkcs11-tool -L)
# sees the same tap under the same serial (p11-kit's server and its clients
# rely on it). A serial is 16 hex digits, never the old all-zero one.
. "${srcdir:-.}/tests/integration/pcscd-env.sh"
. "$srcdir/tests/integration/tap.sh"

module=${KZ_MODULE:-$top_builddir/src/.libs/kazashi-pkcs11.so}
kiosk=$top_builddir/tests/flow/kz-kiosk
[ -r "$module" ] || kz_bail "no module at $module"
[ -x "$kiosk" ] || kz_bail "no kz-kiosk at $kiosk"
command -v pkcs11-tool >/dev/null || kz_bail "no pkcs11-tool (opensc)"
kz_start_pcscd || kz_bail "pcscd did not start"
kz_make_pki || kz_bail "no test PKI"
cd "$KZ_TMP" || kz_bail "no temp dir"
# The second person: a PKI of their own.
sh "$srcdir/tests/sim/make-pki.sh" "$KZ_TMP/pki-b" >make-pki-b.log 2>&1 || kz_bail "no second PKI"
kz_ok "two people, two certificates" bash -c "! cmp -s '$KZ_PKI/auth.der' '$KZ_TMP/pki-b/auth.der'"

coproc KIOSK { "$kiosk" --module "$module" 2>kiosk.err; }
KZ_PIDS+=("$KIOSK_PID")
read -r -t 40 -u "${KIOSK[0]}" init || kz_bail "kz-kiosk did not start: $(tail -n 5 kiosk.err)"
ask() {
	local line
	echo "$1" >&"${KIOSK[1]}"
	read -r -t 40 -u "${KIOSK[0]}" line || kz_bail "kz-kiosk did not answer '$1': $(tail -n 5 kiosk.err)"
	echo "$line" | tee -a kiosk.out
}
is_serial() { [[ $1 =~ ^[0-9A-F]{16}$ ]] && [ "$1" != 0000000000000000 ]; }
# The serials pkcs11-tool -L prints, one per token, in slot order.
listed_serials() {
	pkcs11-tool --module "$module" -L 2>/dev/null | awk '/serial num/ { print $NF }'
}

# tap WHO PKI: a phone of that PKI in the field; the relying party logs in
# and signs; the serials of that tap are checked and the user-auth one
# left in $serial.
tap() {
	local out
	kz_start_phone --persona android --pki "$2"
	out=$(ask tap)
	kz_is "$1: logged in and signed" true "$(jq .ok <<<"$out")"
	serial=$(jq -r .serial_before_login <<<"$out")
	kz_ok "$1: a serial of 16 hex digits ($serial)" is_serial "$serial"
	kz_is "$1: the same serial after login" "$serial" "$(jq -r .serial_after_login <<<"$out")"
	kz_is "$1: the same serial after the signature" "$serial" "$(jq -r .serial_after_sign <<<"$out")"
	kz_is "$1: both tokens of the tap show it" "$serial" "$(jq -r .serial_sign_token <<<"$out")"
	listed_serials >listed.txt
	kz_is "$1: pkcs11-tool -L lists two tokens" 2 "$(wc -l <listed.txt)"
	kz_is "$1: one serial for both tokens in another process too" 1 "$(sort -u listed.txt | wc -l)"
	kz_is "$1: another process sees the tap under the same serial" "$serial" "$(head -n 1 listed.txt)"
	out=$(ask logout)
	kz_is "$1: logout" 0x0 "$(jq -r .rv <<<"$out")"
	kz_stop_phone
}

tap "person A" "$KZ_PKI"
serial_a=$serial
tap "person B" "$KZ_TMP/pki-b"
serial_b=$serial
kz_ok "two people's phones: different serials ($serial_a, $serial_b)" test "$serial_a" != "$serial_b"
tap "person A again" "$KZ_PKI"
kz_ok "the same phone tapped again: a new tap, a new serial" \
	bash -c "[ '$serial' != '$serial_a' ] && [ '$serial' != '$serial_b' ]"

out=$(ask quit)
kz_is "C_Finalize at the end" 0x0 "$(jq -r .finalize <<<"$out")"
kz_done
