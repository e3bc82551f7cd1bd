#!/bin/bash
# `kazashi sign`: detached CMS signatures with either key that
# `openssl cms -verify` accepts (DER and PEM, to a file and to stdout), that
# fail to verify over other content, and every failure with its exit status
# and no signature file left behind.
. "${srcdir:-.}/tests/integration/kazashi-common.sh"
for ca in authca signca; do
	openssl x509 -inform DER -in "$KZ_PKI/$ca.der" -out "$ca.pem" || kz_bail "no $ca.pem"
done
head -c 20000 /dev/urandom >doc.bin
cp doc.bin other.bin && printf x >>other.bin
verify() { # verify SIG FORM CA CONTENT
	openssl cms -verify -binary -inform "$2" -in "$1" -content "$4" -CAfile "$3.pem" -out /dev/null
}

kz_fresh_phone --persona android

# --- the signature key (always-authenticate: the password again per signature) ---
kz_tool sign sign --key sign --pin-fd 3 doc.bin 3<<<ABC123
kz_is "--key sign: exit status 0" 0 "$rc"
kz_is "--key sign: the file written is named on stdout" "doc.bin.p7s" "$(cat sign.out)"
kz_ok "--key sign: openssl cms -verify accepts it" verify doc.bin.p7s DER signca doc.bin
kz_ok "--key sign: it does not verify over other content" bash -c "! openssl cms -verify -binary -inform DER -in doc.bin.p7s -content other.bin -CAfile signca.pem -out /dev/null"
kz_ok "--key sign: it does not verify under the other CA" bash -c "! openssl cms -verify -binary -inform DER -in doc.bin.p7s -content doc.bin -CAfile authca.pem -out /dev/null"
openssl cms -cmsout -print -inform DER -in doc.bin.p7s >print.txt 2>&1
kz_ok "--key sign: detached (no content inside)" grep -q "eContent: <ABSENT>" print.txt
kz_ok "--key sign: signed attributes carry the digest" grep -q "messageDigest" print.txt
openssl cms -verify -binary -inform DER -in doc.bin.p7s -content doc.bin -CAfile signca.pem \
	-signer signer.pem -out /dev/null 2>/dev/null
kz_is "--key sign: the signer is the signature certificate" \
	"$(openssl x509 -inform DER -in "$KZ_PKI/sign.der" -noout -fingerprint)" \
	"$(openssl x509 -in signer.pem -noout -fingerprint 2>&1)"

# --- the user-authentication key, PEM, to stdout ---------------------------------
kz_tool auth sign --key auth --pem -o auth.p7s.pem --pin-fd 3 doc.bin 3<<<1234
kz_is "--key auth --pem: exit status 0" 0 "$rc"
kz_ok "--key auth --pem: PEM" grep -q -- "-----BEGIN CMS-----" auth.p7s.pem
kz_ok "--key auth: openssl cms -verify accepts it" verify auth.p7s.pem PEM authca doc.bin
kz_tool stdout sign --key auth -o - --pin-fd 3 doc.bin 3<<<1234
kz_is "-o -: exit status 0" 0 "$rc"
kz_ok "-o -: the DER signature is on stdout" verify stdout.out DER authca doc.bin

# --- failures --------------------------------------------------------------------
before=$(kz_verifies)
kz_tool nokey sign --pin-fd 3 doc.bin 3<<<ABC123
kz_is "no --key: exit status 1" 1 "$rc"
kz_tool nofile sign --key sign --pin-fd 3 missing.bin 3<<<ABC123
kz_is "no such file: exit status 1" 1 "$rc"
kz_ok "no such file: the sentence names it" grep -q "cannot read missing.bin" nofile.err
kz_tool badout sign --key sign -o /nonexistent/dir/x.p7s --pin-fd 3 doc.bin 3<<<ABC123
kz_is "unwritable output: exit status 1" 1 "$rc"
kz_is "no VERIFY sent for any of these" "$before" "$(kz_verifies)"

rm -f doc.bin.p7s
kz_tool wrong sign --key sign --pin-fd 3 doc.bin 3<<<XYZ999
kz_is "wrong password: exit status 2" 2 "$rc"
kz_ok "wrong password: no signature file left" test ! -e doc.bin.p7s

kz_fresh_phone --persona android --auth-tries 1
kz_tool lock sign --key auth --pin-fd 3 doc.bin 3<<<9999
kz_is "wrong PIN on the last try: exit status 3" 3 "$rc"
kz_ok "lockout: no signature file left" test ! -e doc.bin.p7s

kz_fresh_phone --persona android
kz_tool probe sign --key sign --pin-fd 3 -o probe.p7s doc.bin 3<<<ABC123
n_sign=$(kz_apdu_at 2A)
kz_ok "found the signature's APDU (${n_sign:-?})" test -n "$n_sign"
kz_fresh_phone --persona android --leave-at "${n_sign:-1}"
kz_tool removed sign --key sign --pin-fd 3 doc.bin 3<<<ABC123
kz_is "phone leaves while signing: exit status 6" 6 "$rc"
kz_ok "phone leaves while signing: tap again" grep -q "left the reader while signing: tap it again" removed.err
kz_ok "phone leaves while signing: no signature file left" test ! -e doc.bin.p7s
kz_phone_gone

kz_fresh_phone --persona card
kz_tool card sign --key sign --pin-fd 3 doc.bin 3<<<ABC123
kz_is "card, --key sign: exit status 0" 0 "$rc"
kz_ok "card, --key sign: openssl cms -verify accepts it" verify doc.bin.p7s DER signca doc.bin

kz_done
