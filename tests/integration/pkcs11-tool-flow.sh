#!/bin/bash
# A relying party's whole flow through OpenSC's pkcs11-tool against the real
# pcscd + vpcd and a simulated phone of the persona given as $1 (card or
# android): slots, objects before and after login, every mechanism on both
# keys verified by OpenSSL, PIN form checks that cost no try, a wrong PIN
# that costs exactly one. KZ_TRANSPORT=nfc runs the same through the real
# libnfc and an emulated PN532 instead, with no pcscd (nfc-env.sh).
persona=${1:?persona}
. "${srcdir:-.}/tests/integration/transport-env.sh"

apdu_log=$KZ_TMP/apdu.jsonl
auth=(--token-label "JPKI User Authentication")
sign=(--token-label "JPKI Digital Signature")
auth_pin=1234
sign_pin=ABC123

kz_start_phone --persona "$persona" --pki "$KZ_PKI" --log "$apdu_log" || kz_bail "no phone"

p11() { pkcs11-tool --module "$module" "$@" 2>&1; }
# VERIFY commands that carried a PIN (not the tries query, which has no data).
verifies_sent() { jq -r 'select(.ins == "20") | .cmd' "$apdu_log" | awk 'length($0) > 8' | wc -l; }
count() { grep -c "$1" "$2"; }

# --- slots and tokens -----------------------------------------------------
p11 -L >slots.txt
kz_is "two tokens on the tapped reader" 2 "$(count 'token label' slots.txt)"
kz_ok "user-authentication token listed" grep -q "JPKI User Authentication" slots.txt
kz_ok "digital-signature token listed" grep -q "JPKI Digital Signature" slots.txt
model=$([ "$persona" = card ] && echo "My Number card" || echo "Android")
kz_ok "token model names the $persona" grep -q "token model *: $model" slots.txt

# --- objects before and after login ---------------------------------------
p11 "${auth[@]}" -O >objects-public.txt
if [ "$persona" = card ]; then
	# No CA certificate: ca_certificates is off (docs/openssh.md).
	kz_is "card: the auth certificate public, no CA certificate" 1 "$(count 'Certificate Object' objects-public.txt)"
	kz_is "card: public key public" 1 "$(count 'Public Key Object' objects-public.txt)"
else
	kz_is "phone: no certificate before login" 0 "$(count 'Certificate Object' objects-public.txt)"
	kz_is "phone: no public key before login" 0 "$(count 'Public Key Object' objects-public.txt)"
fi
kz_is "no private key before login" 0 "$(count 'Private Key Object' objects-public.txt)"

p11 "${auth[@]}" --login --pin $auth_pin -O >objects-user.txt
kz_is "auth: one certificate after login, the user's" 1 "$(count 'Certificate Object' objects-user.txt)"
kz_is "auth: private key after login" 1 "$(count 'Private Key Object' objects-user.txt)"
kz_ok "auth: private key is sign-only and never extractable" \
	grep -A12 'Private Key Object' objects-user.txt
p11 "${sign[@]}" -O >sign-public.txt
kz_is "sign: no certificate before login" 0 "$(count 'Certificate Object' sign-public.txt)"
p11 "${sign[@]}" --login --pin $sign_pin -O >sign-user.txt
kz_is "sign: one certificate after login, the user's" 1 "$(count 'Certificate Object' sign-user.txt)"
kz_ok "sign: key marked always-authenticate" grep -qi "always.*auth" sign-user.txt

# --- certificates as the module returns them -------------------------------
p11 "${auth[@]}" --login --pin $auth_pin --read-object --type cert --id 01 -o auth.der >/dev/null
p11 "${sign[@]}" --login --pin $sign_pin --read-object --type cert --id 02 -o sign.der >/dev/null
kz_ok "auth certificate equals the phone's" cmp auth.der "$KZ_PKI/auth.der"
kz_ok "sign certificate equals the phone's" cmp sign.der "$KZ_PKI/sign.der"
openssl x509 -inform DER -in auth.der -pubkey -noout >auth.pub 2>/dev/null
openssl x509 -inform DER -in sign.der -pubkey -noout >sign.pub 2>/dev/null

# --- signatures with every mechanism, verified by OpenSSL ------------------
head -c 100 /dev/urandom >data.bin
head -c 5000 /dev/urandom >big.bin # pkcs11-tool signs this multi-part
for key in auth sign; do
	if [ $key = auth ]; then tok=("${auth[@]}") pin=$auth_pin id=01; else tok=("${sign[@]}") pin=$sign_pin id=02; fi
	for hash in sha1 sha224 sha256 sha384 sha512; do
		mech=$(echo "$hash" | tr a-z A-Z)-RSA-PKCS
		for input in data.bin big.bin; do
			rm -f sig.bin
			p11 "${tok[@]}" --login --pin $pin --sign --id $id -m "$mech" -i $input -o sig.bin >sign.out
			kz_ok "$key: $mech over $input verifies" \
				openssl dgst -"$hash" -verify $key.pub -signature sig.bin $input
		done
	done
	# CKM_RSA_PKCS over a DigestInfo made by OpenSSL.
	openssl dgst -sha256 -binary data.bin >digest.bin
	printf '\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20' >di.bin
	cat digest.bin >>di.bin
	rm -f sig.bin
	p11 "${tok[@]}" --login --pin $pin --sign --id $id -m RSA-PKCS -i di.bin -o sig.bin >sign.out
	kz_ok "$key: RSA-PKCS over a DigestInfo verifies" \
		openssl pkeyutl -verify -pubin -inkey $key.pub -in di.bin -sigfile sig.bin
done

# --- PIN form checks: refused before anything is sent ----------------------
before=$(verifies_sent)
out=$(p11 "${auth[@]}" --login --pin 12 -O)
kz_ok "auth PIN of 2 digits: CKR_PIN_LEN_RANGE" grep -q CKR_PIN_LEN_RANGE <<<"$out"
out=$(p11 "${auth[@]}" --login --pin 12a4 -O)
kz_ok "auth PIN with a letter: CKR_PIN_INVALID" grep -q CKR_PIN_INVALID <<<"$out"
out=$(p11 "${sign[@]}" --login --pin ABC12 -O)
kz_ok "signature password of 5: CKR_PIN_LEN_RANGE" grep -q CKR_PIN_LEN_RANGE <<<"$out"
out=$(p11 "${sign[@]}" --login --pin ABC-123 -O)
kz_ok "signature password with '-': CKR_PIN_INVALID" grep -q CKR_PIN_INVALID <<<"$out"
kz_is "no VERIFY sent for malformed PINs" "$before" "$(verifies_sent)"

out=$(p11 "${sign[@]}" --login --pin abc123 -O)
kz_ok "lower-case signature password is upper-cased and accepted" grep -q "Private Key Object" <<<"$out"

# --- a wrong PIN costs exactly one try -------------------------------------
before=$(verifies_sent)
out=$(p11 "${auth[@]}" --login --pin 9999 -O)
kz_ok "wrong auth PIN: CKR_PIN_INCORRECT" grep -q CKR_PIN_INCORRECT <<<"$out"
kz_is "one VERIFY sent for one wrong PIN" $((before + 1)) "$(verifies_sent)"
p11 -L >slots-after.txt
kz_ok "token flags say the count is low" grep -qi "user PIN count low" slots-after.txt
out=$(p11 "${auth[@]}" --login --pin $auth_pin -O)
kz_ok "right PIN after a wrong one logs in" grep -q "Private Key Object" <<<"$out"
p11 -L >slots-reset.txt
kz_ok "a right PIN resets the count" bash -c "! grep -qi 'count low' slots-reset.txt"

kz_done
