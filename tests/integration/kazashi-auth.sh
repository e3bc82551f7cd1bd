#!/bin/bash
# `kazashi auth`, a kiosk's user authentication, against pcscd + vpcd and
# the simulated phone: success (human and JSON, DER and PEM CAs, a clean
# CRL), each failure with its exit status and sentence (wrong PIN with the
# tries left, blocked PIN, an untrusted and a revoked certificate, the
# phone leaving mid-flow, nobody tapping), and that no failure the tool can
# foresee costs a try.
. "${srcdir:-.}/tests/integration/kazashi-common.sh"
ca=(--ca "$KZ_PKI/authca.der")
openssl x509 -inform DER -in "$KZ_PKI/authca.der" -out authca.pem || kz_bail "no PEM CA"
kz_make_crl clean authca || kz_bail "no CRL"
kz_make_crl revoked authca auth || kz_bail "no CRL revoking the auth certificate"
kz_make_crl foreign otherca || kz_bail "no CRL of another CA"
serial=$(openssl x509 -inform DER -in "$KZ_PKI/auth.der" -noout -serial | cut -d= -f2)
[ -n "$serial" ] || kz_bail "no serial in auth.der"

# --- nobody taps -------------------------------------------------------------
start=$(date +%s%N)
kz_tool timeout auth "${ca[@]}" --timeout 1 --pin-fd 3 3<<<1234
took=$((($(date +%s%N) - start) / 1000000))
kz_is "no tap: exit status 7 (timeout)" 7 "$rc"
kz_ok "no tap: the sentence says nobody tapped" grep -q "no phone or card was tapped within 1 seconds" timeout.err
kz_ok "no tap: gives up after about a second (${took} ms)" test "$took" -ge 900 -a "$took" -lt 5000

# --- success -----------------------------------------------------------------
kz_fresh_phone --persona android
kz_tool ok auth "${ca[@]}" --pin-fd 3 3<<<1234
kz_is "android: exit status 0" 0 "$rc"
kz_ok "prints 'User authenticated.'" grep -qx "User authenticated." ok.out
kz_ok "names the holder kind and reader" grep -q "holder: *Android on $KZ_READER" ok.out
kz_ok "prints the certificate's serial" grep -q "serial: *$serial\$" ok.out
kz_ok "prints the validity" grep -Eq "valid: *[0-9]{4}-[0-9]{2}-[0-9]{2}T.*Z to " ok.out
kz_ok "says revocation was not checked without --crl" grep -q "revocation: *not checked" ok.out
kz_ok "progress went to stderr, not stdout" bash -c "! grep -q Signing ok.out && grep -q Signing ok.err"
kz_is "one VERIFY for one authentication" 1 "$(kz_verifies)"
n_verify=$(jq -r '.ins + " " + .cmd' "$apdu_log" | awk '$1 == "20" && length($2) > 8 { print NR; exit }')
n_sign=$(kz_apdu_at 2A)
kz_ok "the phone signed (COMPUTE DIGITAL SIGNATURE at APDU $n_sign)" test -n "$n_sign"

kz_tool json auth "${ca[@]}" --json --pin-fd 3 3<<<1234
kz_is "--json: exit status 0" 0 "$rc"
kz_is "--json: result" authenticated "$(jq -r .result json.out)"
kz_is "--json: holder" Android "$(jq -r .holder json.out)"
kz_is "--json: serial" "$serial" "$(jq -r .serial json.out)"
cn=$(openssl x509 -inform DER -in "$KZ_PKI/auth.der" -noout -subject -nameopt RFC2253 | sed 's/^subject=CN=\([^,]*\),.*/\1/')
kz_is "--json: subject" "C=JP, CN=$cn" "$(jq -r .subject json.out)"

kz_tool pem auth --ca authca.pem --pin-fd 3 3<<<1234
kz_is "a PEM CA certificate works as well" 0 "$rc"

kz_tool crl auth "${ca[@]}" --crl "$KZ_TMP/clean.crl.pem" --json --pin-fd 3 3<<<1234
kz_is "a CRL that does not list it: exit status 0" 0 "$rc"
kz_is "--json says revocation was checked" true "$(jq -r .revocation_checked crl.out)"

# --- certificates the relying party must refuse ------------------------------
kz_tool revoked auth "${ca[@]}" --crl "$KZ_TMP/revoked.crl.pem" --json --pin-fd 3 3<<<1234
kz_is "revoked certificate: exit status 5" 5 "$rc"
kz_ok "revoked: the sentence says so" grep -q "is revoked" revoked.err
kz_is "revoked: --json error" revoked-certificate "$(jq -r .error revoked.out)"
kz_tool foreign auth "${ca[@]}" --crl "$KZ_TMP/foreign.crl.pem" --pin-fd 3 3<<<1234
kz_is "only another CA's CRL: exit status 4 (cannot check)" 4 "$rc"
kz_tool untrusted auth --ca "$KZ_PKI/otherca.der" --json --pin-fd 3 3<<<1234
kz_is "certificate not chaining to the CA given: exit status 4" 4 "$rc"
kz_ok "untrusted: the sentence says so" grep -q "does not chain to the CA certificates given" untrusted.err
kz_is "untrusted: --json error" untrusted-certificate "$(jq -r .error untrusted.out)"
kz_tool wrongca auth --ca "$KZ_PKI/signca.der" --pin-fd 3 3<<<1234
kz_is "the signature CA is not the authentication CA: exit status 4" 4 "$rc"

# --- PINs ----------------------------------------------------------------------
before=$(kz_verifies)
kz_tool form auth "${ca[@]}" --pin-fd 3 3<<<12a4
kz_is "malformed PIN: exit status 1" 1 "$rc"
kz_ok "malformed PIN: the sentence says no try was used" grep -q "no try was used" form.err
kz_tool short auth "${ca[@]}" --pin-fd 3 3<<<123
kz_is "3-digit PIN: exit status 1" 1 "$rc"
kz_is "no VERIFY sent for malformed PINs" "$before" "$(kz_verifies)"

kz_tool wrong auth "${ca[@]}" --json --pin-fd 3 3<<<9999
kz_is "wrong PIN: exit status 2" 2 "$rc"
kz_ok "wrong PIN: the sentence says 2 tries are left" grep -q "wrong user-authentication PIN: 2 tries left" wrong.err
kz_is "wrong PIN: --json tries left" "2 2" "$(jq -r '"\(.tries_left_min) \(.tries_left_max)"' wrong.out)"
kz_is "wrong PIN: exactly one VERIFY sent" $((before + 1)) "$(kz_verifies)"
kz_tool wrong2 auth "${ca[@]}" --pin-fd 3 3<<<9999
kz_is "second wrong PIN: exit status 2" 2 "$rc"
kz_ok "second wrong PIN: warns of the last try" grep -q "1 try left; one more wrong try blocks it" wrong2.err
kz_tool right auth "${ca[@]}" --pin-fd 3 3<<<1234
kz_is "the right PIN on the last try: exit status 0" 0 "$rc"

# --- lockout -------------------------------------------------------------------
kz_fresh_phone --persona android --auth-tries 1
kz_tool lock auth "${ca[@]}" --json --pin-fd 3 3<<<9999
kz_is "wrong PIN on the last try: exit status 3 (blocked)" 3 "$rc"
kz_ok "blocked: the sentence sends the holder to the municipal office" grep -q "only the municipal office" lock.err
kz_is "blocked: --json error" pin-blocked "$(jq -r .error lock.out)"
before=$(kz_verifies)
kz_tool locked auth "${ca[@]}" --pin-fd 3 3<<<1234
kz_is "blocked PIN, right value: exit status 3" 3 "$rc"
kz_is "blocked PIN: no VERIFY sent" "$before" "$(kz_verifies)"

# --- the phone leaves mid-flow, then taps again ------------------------------------
for step in "$n_verify:checking the PIN" "$n_sign:signing"; do
	n=${step%%:*}
	what=${step#*:}
	kz_fresh_phone --persona android --leave-at "$n"
	kz_tool removed auth "${ca[@]}" --json --pin-fd 3 3<<<1234
	kz_is "phone leaves at APDU $n ($what): exit status 6" 6 "$rc"
	kz_ok "phone leaves while $what: the sentence says tap again" grep -q "left the reader while $what: tap it again" removed.err
	kz_is "phone leaves while $what: --json error" removed "$(jq -r .error removed.out)"
	kz_phone_gone
	kz_fresh_phone --persona android
	kz_tool again auth "${ca[@]}" --pin-fd 3 3<<<1234
	kz_is "tapped again after leaving while $what: exit status 0" 0 "$rc"
done

# --- a card shows its certificate before the PIN ----------------------------------
kz_fresh_phone --persona card
kz_tool card auth "${ca[@]}" --pin-fd 3 3<<<1234
kz_is "card: exit status 0" 0 "$rc"
kz_ok "card: the holder is a My Number card" grep -q "holder: *My Number card" card.out
before=$(kz_verifies)
kz_tool carduntrusted auth --ca "$KZ_PKI/otherca.der" --pin-fd 3 3<<<1234
kz_is "card, untrusted certificate: exit status 4" 4 "$rc"
kz_is "card, untrusted certificate: refused before any PIN was sent" "$before" "$(kz_verifies)"
kz_tool cardrevoked auth "${ca[@]}" --crl "$KZ_TMP/revoked.crl.pem" --pin-fd 3 3<<<1234
kz_is "card, revoked certificate: exit status 5" 5 "$rc"
kz_is "card, revoked certificate: refused before any PIN was sent" "$before" "$(kz_verifies)"

# --- no leaks, no invalid accesses -------------------------------------------------
if command -v valgrind >/dev/null 2>&1; then
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
		--error-exitcode=42 "$tool" --module "$module" auth "${ca[@]}" \
		--crl "$KZ_TMP/clean.crl.pem" --pin-fd 3 3<<<1234 >valgrind.out 2>valgrind.err
	kz_is "auth under valgrind: clean, exit status 0" 0 "$?"
fi

kz_done
