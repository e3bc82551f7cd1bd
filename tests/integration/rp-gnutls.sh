#!/bin/bash
# GnuTLS as a relying party (docs/gnutls.md): gnutls-cli authenticates
# with the phone's key and certificate named by pkcs11: URIs (found through
# p11-kit), over TLS 1.2, to `openssl s_server` that trusts the test JPKI
# CA only. GnuTLS sees that the token has no RSA-PSS and signs PKCS#1 v1.5
# without being told. A wrong PIN costs one try and ends the attempt.
# certtool signs a detached PKCS#7 (CMS) with the key in the phone.
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"
. "$top_srcdir/tests/integration/rp-lib.sh"

rp_start
rp_server_pki
rp_p11kit_config
rp_s_server 4412 -tls1_2

# --- the tokens as GnuTLS sees them ---------------------------------------
timeout 30 p11tool --list-tokens >tokens.txt 2>&1
kz_ok "p11tool --list-tokens: the user-authentication token's URI" \
	grep -q "URL: pkcs11:model=Android;manufacturer=J-LIS;serial=.*;token=JPKI%20User%20Authentication" tokens.txt
kz_ok "... and the digital-signature token's" grep -q "token=JPKI%20Digital%20Signature" tokens.txt

# --- gnutls-cli: TLS 1.2 client authentication ------------------------------
cli=(gnutls-cli --x509cafile srvca.pem --x509certfile "$auth_cert_uri" --x509keyfile "$auth_key_uri"
	127.0.0.1 -p 4412)
GNUTLS_PIN=$auth_pin rp_request gnutls.out "${cli[@]}"
kz_is "gnutls-cli with pkcs11: URIs for key and certificate: exit 0" 0 $?
kz_ok "... TLS 1.2" grep -q "Protocol  *: TLSv1.2" gnutls.out
kz_is "... the server got the phone's certificate" "C=JP, CN=$auth_cn" "$(rp_client_subject gnutls.out)"
kz_ok "... and verified it against the JPKI CA" grep -q "depth=0 C = JP, CN = $auth_cn" s_server-4412.log
kz_ok "... with a signature the phone made (COMPUTE DIGITAL SIGNATURE sent)" \
	eval '[ "$(jq -r "select(.ins == \"2A\") | .cmd" apdu.jsonl | wc -l)" -ge 1 ]'

before=$(rp_verifies_sent)
GNUTLS_PIN=9999 rp_request gnutls-badpin.out "${cli[@]}"
rc=$?
kz_ok "a wrong PIN: gnutls-cli fails, without hanging (exit $rc)" test $rc -ne 0 -a $rc -ne 124
kz_ok "... saying so" grep -q "Wrong PIN" gnutls-badpin.out
kz_is "... after one VERIFY: one try, not all three" $((before + 1)) "$(rp_verifies_sent)"
# The right PIN resets the count.
GNUTLS_PIN=$auth_pin rp_request gnutls-again.out "${cli[@]}"
kz_is "the right PIN afterwards: the server gets the certificate" "C=JP, CN=$auth_cn" \
	"$(rp_client_subject gnutls-again.out)"

# --- certtool: a detached PKCS#7 signature made by the phone ---------------
GNUTLS_PIN=$auth_pin timeout 30 p11tool --login --export "$auth_cert_uri" >auth-exported.pem 2>export.err
echo "kazashi: a document signed with the phone" >doc.txt
GNUTLS_PIN=$auth_pin timeout 30 certtool --p7-detached-sign --load-privkey "$auth_key_uri" \
	--load-certificate auth-exported.pem --infile doc.txt --outfile doc.p7s >certtool.txt 2>&1
kz_ok "certtool --p7-detached-sign with the key in the phone; OpenSSL verifies the CMS" \
	openssl cms -verify -binary -inform PEM -in doc.p7s -content doc.txt -CAfile authca.pem \
	-purpose any -out /dev/null

kz_done
