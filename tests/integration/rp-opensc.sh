#!/bin/bash
# OpenSC's pkcs11-tool as a relying party (docs/opensc-tools.md): listing,
# mechanisms, login, signing with both keys, and pkcs11-tool's own
# self-test (--test) on both tokens. The exhaustive per-mechanism flow is
# pkcs11-tool-flow.sh; this is the short tour the documentation shows.
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"
. "$top_srcdir/tests/integration/rp-lib.sh"

rp_start
p11() { timeout 60 pkcs11-tool --module "$module" "$@" 2>&1; }
auth=(--token-label "$auth_token")
sign=(--token-label "$sign_token")
head -c 500 /dev/urandom >data.bin

# --- listing ----------------------------------------------------------------
p11 -L >slots.txt
kz_ok "-L: the user-authentication token" grep -q "token label *: $auth_token" slots.txt
kz_ok "-L: the digital-signature token" grep -q "token label *: $sign_token" slots.txt
kz_is "-L: both tokens made by an Android phone" 2 "$(grep -c 'token model *: Android' slots.txt)"
kz_ok "-L: 4-digit PIN on one, 6-16 character password on the other" \
	eval 'grep -q "pin min/max *: 4/4" slots.txt && grep -q "pin min/max *: 6/16" slots.txt'
p11 "${auth[@]}" -M >mechs.txt
for m in RSA-PKCS SHA1-RSA-PKCS SHA224-RSA-PKCS SHA256-RSA-PKCS SHA384-RSA-PKCS SHA512-RSA-PKCS; do
	kz_ok "-M: $m" grep -q "^ *${m}[ ,]" mechs.txt
done
kz_is "-M: no RSA-PSS (the phone pads PKCS#1 v1.5 itself)" 0 "$(grep -c 'PSS' mechs.txt)"

# --- login and objects --------------------------------------------------------
p11 "${auth[@]}" -O >objects.txt
kz_is "-O before login: no certificate (a phone keeps the user's behind the PIN)" 0 \
	"$(grep -c 'Certificate Object' objects.txt)"
p11 "${auth[@]}" --login --pin $auth_pin -O >objects-login.txt
kz_is "-O after login: the user's certificate, no CA's" 1 "$(grep -c 'Certificate Object' objects-login.txt)"
kz_is "-O after login: the private key" 1 "$(grep -c 'Private Key Object' objects-login.txt)"

# --- signing ------------------------------------------------------------------
rm -f sig.bin
p11 "${auth[@]}" --login --pin $auth_pin --sign --id 01 -m SHA256-RSA-PKCS -i data.bin -o sig.bin >sign.txt
kz_ok "--sign with the auth key (SHA256-RSA-PKCS) verifies" \
	openssl dgst -sha256 -verify auth.pub -signature sig.bin data.bin
rm -f sig.bin
p11 "${sign[@]}" --login --pin $sign_pin --sign --id 02 -m SHA384-RSA-PKCS -i data.bin -o sig.bin >sign2.txt
kz_ok "--sign with the signature key (SHA384-RSA-PKCS) verifies" \
	openssl dgst -sha384 -verify sign.pub -signature sig.bin data.bin

# --- pkcs11-tool --test ---------------------------------------------------------
for t in auth sign; do
	if [ $t = auth ]; then tok=("${auth[@]}") pin=$auth_pin; else tok=("${sign[@]}") pin=$sign_pin; fi
	p11 "${tok[@]}" --login --pin "$pin" --test >test-$t.txt
	kz_is "--test on the $t token: exit 0" 0 $?
	kz_ok "... \"No errors\"" grep -q "^No errors" test-$t.txt
	kz_ok "... all 4 signature functions work" grep -q "all 4 signature functions seem to work" test-$t.txt
	kz_ok "... RSA-PKCS, SHA1-RSA-PKCS and SHA256-RSA-PKCS: OK" \
		eval "[ \"\$(grep -cE '^ *(RSA-PKCS|SHA1-RSA-PKCS|SHA256-RSA-PKCS): OK' test-$t.txt)\" -eq 3 ]"
done

kz_done
