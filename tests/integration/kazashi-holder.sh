#!/bin/bash
# `kazashi holder`: the signature certificate's holder data after the
# signature password, decoded (ISO 8601 date of birth from the era-digit
# form, gender, substitute-character flags), checked against the
# certificate itself; with --ca/--crl only a genuine, unrevoked one; and
# every failure with its exit status: wrong password, lockout, the phone
# leaving mid-flow.
. "${srcdir:-.}/tests/integration/kazashi-common.sh"
kz_make_crl revoked signca sign || kz_bail "no CRL revoking the signature certificate"
kz_make_crl clean signca || kz_bail "no CRL"
# The holder data as the test PKI wrote it, read back by OpenSSL alone.
openssl x509 -inform DER -in "$KZ_PKI/sign.der" -noout -ext subjectAltName >san.txt 2>&1 ||
	kz_bail "cannot read the signature certificate's subjectAltName"
san() { tr ',' '\n' <san.txt | sed -n "s/^ *othername: *1\.2\.392\.200149\.8\.5\.5\.$1::*//p"; }
raw_birth=$(san 4)
[ -n "$raw_birth" ] || kz_bail "no date of birth in the test certificate"

# --- success -------------------------------------------------------------------
kz_fresh_phone --persona android
kz_tool human holder --pin-fd 3 3<<<ABC123
kz_is "android: exit status 0" 0 "$rc"
kz_ok "name" grep -q "name: *$(san 1)\$" human.out
kz_ok "date of birth in ISO 8601, with its era" grep -q "date of birth: *1985-04-12 (Showa era)" human.out
kz_ok "gender" grep -q "gender: *male" human.out
kz_ok "address" grep -q "address: *$(san 5)\$" human.out
kz_ok "substitute characters" grep -q "substitute characters: name: none, address: none" human.out
kz_ok "the certificate's subject follows" grep -q "subject: *C=JP, L=Tokyo-to" human.out

kz_tool json holder --json --pin-fd 3 3<<<abc123
kz_is "--json, lower-case password upper-cased: exit status 0" 0 "$rc"
kz_is "--json: name as in the certificate" "$(san 1)" "$(jq -r .name json.out)"
kz_is "--json: date_of_birth" 1985-04-12 "$(jq -r .date_of_birth json.out)"
kz_is "--json: the raw form kept" "$raw_birth" "$(jq -r .date_of_birth_raw json.out)"
kz_is "--json: era" Showa "$(jq -r .era json.out)"
kz_is "--json: gender and its code" "male 1" "$(jq -r '"\(.gender) \(.gender_code)"' json.out)"
kz_is "--json: address as in the certificate" "$(san 5)" "$(jq -r .address json.out)"
kz_is "--json: substitute-character flags" "0 false 0 false" \
	"$(jq -r '"\(.name_substitutes) \(.name_has_substitutes) \(.address_substitutes) \(.address_has_substitutes)"' json.out)"
kz_is "--json: not verified without --ca" false "$(jq -r .certificate_verified json.out)"
kz_is "--json: certificate serial" \
	"$(openssl x509 -inform DER -in "$KZ_PKI/sign.der" -noout -serial | cut -d= -f2)" \
	"$(jq -r .certificate.serial json.out)"

kz_tool verified holder --ca "$KZ_PKI/signca.der" --crl "$KZ_TMP/clean.crl.pem" --json --pin-fd 3 3<<<ABC123
kz_is "--ca and a clean CRL: exit status 0" 0 "$rc"
kz_is "--ca: certificate_verified" true "$(jq -r .certificate_verified verified.out)"
kz_tool untrusted holder --ca "$KZ_PKI/otherca.der" --pin-fd 3 3<<<ABC123
kz_is "certificate not chaining to the CA given: exit status 4" 4 "$rc"
kz_ok "untrusted: no holder data shown" test ! -s untrusted.out
kz_tool revoked holder --ca "$KZ_PKI/signca.der" --crl "$KZ_TMP/revoked.crl.pem" --pin-fd 3 3<<<ABC123
kz_is "revoked certificate: exit status 5" 5 "$rc"
kz_ok "revoked: no holder data shown" test ! -s revoked.out

# --- the signature password ----------------------------------------------------------
before=$(kz_verifies)
kz_tool form holder --pin-fd 3 3<<<ABC12
kz_is "5-character password: exit status 1" 1 "$rc"
kz_tool form2 holder --pin-fd 3 3<<<ABC-123
kz_is "password with '-': exit status 1" 1 "$rc"
kz_is "no VERIFY sent for malformed passwords" "$before" "$(kz_verifies)"
kz_tool wrong holder --json --pin-fd 3 3<<<XYZ999
kz_is "wrong password: exit status 2" 2 "$rc"
kz_ok "wrong password: the sentence gives the tries left" grep -q "wrong signature password: 2 to 4 tries left" wrong.err
kz_is "wrong password: --json tries left" "2 4" "$(jq -r '"\(.tries_left_min) \(.tries_left_max)"' wrong.out)"
kz_is "wrong password: exactly one VERIFY sent" $((before + 1)) "$(kz_verifies)"
kz_ok "wrong password: no holder data on stdout" bash -c "! grep -q name wrong.out"

kz_fresh_phone --persona android --sign-tries 1
kz_tool lock holder --pin-fd 3 3<<<XYZ999
kz_is "wrong password on the last try: exit status 3" 3 "$rc"
kz_ok "blocked: the municipal office" grep -q "signature password is blocked.*municipal office" lock.err
before=$(kz_verifies)
kz_tool locked holder --pin-fd 3 3<<<ABC123
kz_is "blocked password, right value: exit status 3" 3 "$rc"
kz_is "blocked password: no VERIFY sent" "$before" "$(kz_verifies)"

# --- the phone leaves while the certificate is read --------------------------------------
kz_fresh_phone --persona android
kz_tool probe holder --pin-fd 3 3<<<ABC123
n_read=$(jq -r '.ins + " " + .cmd' "$apdu_log" | awk '$1 == "A4" && $2 == "00A4020C020001" { print NR + 1; exit }')
kz_ok "found where the certificate is read (APDU ${n_read:-?})" test -n "$n_read"
kz_fresh_phone --persona android --leave-at "${n_read:-1}"
kz_tool removed holder --pin-fd 3 3<<<ABC123
kz_is "phone leaves mid-read: exit status 6" 6 "$rc"
# The signature certificate is read inside the login's transaction (the
# password is verified on the card only there): the phone may leave in
# either step.
kz_ok "phone leaves mid-read: tap again" grep -qE "left the reader while (reading the certificate|checking the PIN): tap it again" removed.err
kz_phone_gone

# --- other holder data: a Reiwa birth date, female, substitute characters --------------
# The same keys, the signature certificate issued again with other values.
pki2=$KZ_TMP/pki2
cp -r "$KZ_PKI" "$pki2" || kz_bail "cannot copy the PKI"
cat >"$pki2/other.cnf" <<'CNF'
[ v3_sign ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectAltName = @san
[ san ]
otherName.1 = 1.2.392.200149.8.5.5.1;FORMAT:UTF8,UTF8:令和　花子
otherName.2 = 1.2.392.200149.8.5.5.2;FORMAT:UTF8,UTF8:00100
otherName.3 = 1.2.392.200149.8.5.5.3;FORMAT:UTF8,UTF8:2
otherName.4 = 1.2.392.200149.8.5.5.4;FORMAT:UTF8,UTF8:520190501
otherName.5 = 1.2.392.200149.8.5.5.5;FORMAT:UTF8,UTF8:大阪府大阪市北区
otherName.6 = 1.2.392.200149.8.5.5.6;FORMAT:UTF8,UTF8:0000000000000000000001
CNF
openssl req -new -key "$pki2/sign.key.pem" -subj "/C=JP/CN=2" -out "$pki2/sign.csr" 2>/dev/null &&
	openssl x509 -req -in "$pki2/sign.csr" -CA "$pki2/signca.der" -CAform DER \
		-CAkey "$pki2/signca.key.pem" -set_serial 7 -days 30 -sha256 \
		-extfile "$pki2/other.cnf" -extensions v3_sign -outform DER -out "$pki2/sign.der" \
		2>/dev/null || kz_bail "cannot issue the other signature certificate"
kz_phone_gone
kz_start_phone --pki "$pki2" --persona android || kz_bail "no phone"
kz_tool other holder --json --pin-fd 3 3<<<ABC123
kz_is "other holder: exit status 0" 0 "$rc"
kz_is "other holder: Reiwa birth date" "2019-05-01 Reiwa" "$(jq -r '"\(.date_of_birth) \(.era)"' other.out)"
kz_is "other holder: female" "female 2" "$(jq -r '"\(.gender) \(.gender_code)"' other.out)"
kz_is "other holder: substitute characters in both" "true true" \
	"$(jq -r '"\(.name_has_substitutes) \(.address_has_substitutes)"' other.out)"
kz_tool otherhuman holder --pin-fd 3 3<<<ABC123
kz_ok "other holder: substitute characters shown as used" grep -q "name: used, address: used" otherhuman.out
kz_ok "other holder: date of birth line" grep -q "date of birth: *2019-05-01 (Reiwa era)" otherhuman.out

# --- a card -------------------------------------------------------------------------------
kz_fresh_phone --persona card
kz_tool card holder --pin-fd 3 3<<<ABC123
kz_is "card: exit status 0" 0 "$rc"
kz_ok "card: named as a My Number card" grep -q "My Number card on $KZ_READER" card.out

kz_done
