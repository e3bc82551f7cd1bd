#!/bin/bash
# Java as a relying party (docs/java.md): OpenJDK's SunPKCS11 provider, with
# the configuration a user writes (name, library, and slotListIndex or
# slot), KeyStore "PKCS11" loaded with the PIN, SHA256withRSA signed once by
# the token and verified by the JDK's own RSA code, then by OpenSSL against
# the certificate the test PKI issued. Both tokens (the user-authentication
# key and the signature key, which is always-authenticate: SunPKCS11 never
# does the context-specific login, the password given at login authorises
# the first signature), on a simulated Android phone and then on a card.
# The Java program (KzJavaSign.java) is compiled here with javac.
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"
. "$top_srcdir/tests/integration/rp-lib.sh"

for p in java javac; do
	command -v $p >/dev/null ||
		{ echo "1..0 # SKIP $p not installed (openjdk-17-jdk-headless)"; exit 0; }
done

rp_start
mkdir -p classes
javac -d classes "$srcdir/tests/integration/KzJavaSign.java" >javac.log 2>&1 ||
	kz_bail "javac failed: $(head -n 5 javac.log)"

# The slots as the module lists them, before Java starts: index and id of
# each token (pkcs11-tool -L prints "Slot N (0xID): ...").
slot_of() { # TOKEN-LABEL -> "INDEX ID"
	local idx hex
	read -r idx hex <<<"$(pkcs11-tool --module "$module" -L 2>/dev/null | awk -v want="$1" '
		/^Slot [0-9]+ \(0x[0-9a-fA-F]+\)/ { idx = $2; hex = $3; gsub(/[():]/, "", hex) }
		/token label/ { sub(/^ *token label *: */, ""); if ($0 == want) { print idx, hex; exit } }')"
	[ -n "$hex" ] && echo "$idx $((hex))"
}

# java_sign NAME TOKEN-LABEL PIN CERT-PEM SLOT-SETTING: one run of the
# program with its own configuration file; TAP points for what it did.
java_sign() {
	local name=$1 label=$2 pin=$3 pem=$4 setting=$5 dir=$KZ_TMP/java-$1
	mkdir -p "$dir"
	printf 'name = kz\nlibrary = %s\n%s\n' "$module" "$setting" >"$dir/pkcs11.cfg"
	local v0
	v0=$(rp_verifies_sent)
	KZ_PIN=$pin timeout 120 java -cp classes KzJavaSign "$dir/pkcs11.cfg" "$dir" \
		>"$dir/out.txt" 2>&1
	local rc=$?
	kz_is "$name ($setting): the program ends well" "0" \
		"$rc$(grep -m1 '^ERROR' "$dir/out.txt" | sed 's/^/ /')"
	kz_ok "$name: ... verified by the JDK" grep -qx "verified: true" "$dir/out.txt"
	kz_ok "$name: ... the key store's certificate is the token's ($label)" \
		cmp "$dir/cert.der" <(openssl x509 -in "$pem" -outform DER)
	kz_ok "$name: ... OpenSSL verifies the signature with the issued certificate" \
		openssl dgst -sha256 -verify <(openssl x509 -in "$pem" -pubkey -noout) \
		-signature "$dir/sig.bin" "$dir/data.bin"
	java_verifies=$(($(rp_verifies_sent) - v0))
}

run_persona() {
	local persona=$1
	read -r auth_idx auth_id <<<"$(slot_of "$auth_token")"
	read -r sign_idx sign_id <<<"$(slot_of "$sign_token")"
	[ -n "$auth_idx" ] && [ -n "$sign_idx" ] || kz_bail "$persona: the tokens are not listed"
	# The public keys' usages, as SunPKCS11 and conformance suites pair
	# keys by them: the private key signs, so its public key verifies,
	# and nothing else (no encryption, wrapping or recovery).
	local t pin u
	for t in "$auth_token:$auth_pin" "$sign_token:$sign_pin"; do
		pin=${t##*:}
		t=${t%:*}
		timeout 60 pkcs11-tool --module "$module" --token-label "$t" --login --pin "$pin" -O \
			>"objects-$persona.txt" 2>&1
		u=$(awk '/^Public Key Object/ { p = 1 } p && /Usage:/ { sub(/.*Usage: */, ""); print; exit }' \
			"objects-$persona.txt")
		kz_is "$persona, $t: the public key's usage is verify, nothing else" "verify" "$u"
		u=$(awk '/^Private Key Object/ { p = 1 } p && /Usage:/ { sub(/.*Usage: */, ""); print; exit }' \
			"objects-$persona.txt")
		kz_is "$persona, $t: ... its private key's is sign" "sign" "$u"
	done
	java_sign "$persona-auth-index" "$auth_token" "$auth_pin" auth.pem "slotListIndex = $auth_idx"
	kz_is "$persona: ... the PIN went to the $persona once" 1 "$java_verifies"
	java_sign "$persona-sign-index" "$sign_token" "$sign_pin" sign.pem "slotListIndex = $sign_idx"
	kz_note "$persona: VERIFYs with the signature password for one Java signature: $java_verifies"
	# Slot ids named in the configuration: SunPKCS11 asks for the slot's
	# information right after C_Initialize, before any C_GetSlotList.
	java_sign "$persona-auth-slot" "$auth_token" "$auth_pin" auth.pem "slot = $auth_id"
	java_sign "$persona-sign-slot" "$sign_token" "$sign_pin" sign.pem "slot = $sign_id"
}

run_persona android
kz_stop_phone
kz_start_phone --persona card --pki "$KZ_PKI" --log "$KZ_TMP/apdu.jsonl" || kz_bail "no card"
run_persona card

# A wrong PIN: a clean failure that names the PKCS#11 error, no hang.
printf 'name = kz\nlibrary = %s\nslotListIndex = %s\n' "$module" "$auth_idx" >wrong.cfg
mkdir -p java-wrong
KZ_PIN=9999 timeout 120 java -cp classes KzJavaSign wrong.cfg java-wrong >java-wrong/out.txt 2>&1
kz_ok "a wrong PIN: KeyStore.load fails with CKR_PIN_INCORRECT" \
	grep -q "CKR_PIN_INCORRECT" java-wrong/out.txt

kz_done
