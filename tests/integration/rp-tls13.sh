#!/bin/bash
# TLS 1.3 and the phone (docs/tls13.md). The JPKI application signs with
# PKCS#1 v1.5 only; a TLS 1.3 CertificateVerify must be RSA-PSS, which the
# phone cannot make. What NSS (tstclnt), OpenSSL (s_client with libp11's
# engine) and GnuTLS (gnutls-cli) do against a server that speaks TLS 1.3
# only and one that allows 1.2 and 1.3, both requiring a JPKI client
# certificate: every handshake must end, either in TLS 1.2 with the phone's
# signature or in a clear error, never in a hang (each client runs under
# `timeout 30`; status 124 would mean it hung). No client silently falls
# back from 1.3 to 1.2: the fix is a client (or server) capped at TLS 1.2.
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"
. "$top_srcdir/tests/integration/rp-lib.sh"

rp_start
rp_server_pki
rp_p11kit_config # OpenSSL's engine and gnutls-cli find the module through p11-kit
rp_s_server 4413 -tls1_3 # TLS 1.3 only
rp_s_server 4423         # TLS 1.2 and 1.3

signs_sent() { jq -r 'select(.ins == "2A") | .n' "$KZ_TMP/apdu.jsonl" | wc -l; }
# ended RC: the client finished by itself (not stopped by timeout).
ended() { [ "$1" -ne 124 ]; }

# --- NSS --------------------------------------------------------------------
db=sql:$KZ_TMP/nssdb
mkdir -p nssdb
certutil -N -d "$db" --empty-password
timeout 30 modutil -dbdir "$db" -add kazashi -libfile "$module" -force >/dev/null 2>&1
certutil -A -d "$db" -n "kazashi test server CA" -t "C,," -i srvca.pem
echo "$auth_pin" >auth-pin.txt
nss=(tstclnt -h 127.0.0.1 -d "$db" -n "$auth_token:User Authentication Certificate" -W auth-pin.txt)

before=$(signs_sent)
rp_request nss-13.out "${nss[@]}" -p 4413
rc=$?
kz_ok "NSS, TLS 1.3-only server: the handshake ends" ended $rc
kz_ok "... in an error (exit $rc)" test $rc -ne 0
kz_ok "... SSL_ERROR_RX_CERTIFICATE_REQUIRED_ALERT: NSS sent no certificate" \
	grep -q SSL_ERROR_RX_CERTIFICATE_REQUIRED_ALERT nss-13.out
kz_is "... and asked the phone for no signature (it knows PSS is not there)" "$before" "$(signs_sent)"

rp_request nss-both.out "${nss[@]}" -p 4423
rc=$?
kz_ok "NSS, 1.2+1.3 server, default versions: ends (exit $rc), no fallback" \
	eval 'ended $rc && [ $rc -ne 0 ] && grep -q SSL_ERROR_RX_CERTIFICATE_REQUIRED_ALERT nss-both.out'

rp_request nss-both-12.out "${nss[@]}" -p 4423 -V tls1.0:tls1.2
kz_is "NSS capped at TLS 1.2 (-V tls1.0:tls1.2), 1.2+1.3 server: exit 0" 0 $?
kz_ok "... TLS 1.2 negotiated" grep -q "Protocol  *: TLSv1.2" nss-both-12.out
kz_is "... and the server got the phone's certificate" "C=JP, CN=$auth_cn" "$(rp_client_subject nss-both-12.out)"

rp_request nss-13-12.out "${nss[@]}" -p 4413 -V tls1.0:tls1.2
rc=$?
kz_ok "NSS capped at TLS 1.2, TLS 1.3-only server: ends in SSL_ERROR_PROTOCOL_VERSION_ALERT" \
	eval 'ended $rc && [ $rc -ne 0 ] && grep -q SSL_ERROR_PROTOCOL_VERSION_ALERT nss-13-12.out'

# --- OpenSSL (libp11's engine, through p11-kit's proxy) --------------------
ossl=(openssl s_client -engine pkcs11 -keyform engine -key "$auth_key_uri;pin-value=$auth_pin"
	-cert auth.pem -CAfile srvca.pem -verify_return_error -ign_eof -connect)
pkcs1=(-client_sigalgs "RSA+SHA256:RSA+SHA384:RSA+SHA512")

before=$(signs_sent)
rp_request ossl-13.out "${ossl[@]}" 127.0.0.1:4413
rc=$?
kz_ok "OpenSSL, TLS 1.3-only server: the handshake ends" ended $rc
kz_ok "... in an error (exit $rc)" test $rc -ne 0
kz_ok "... the module refused RSA-PSS: CKR_MECHANISM_INVALID (\"Mechanism invalid\")" \
	grep -q "Mechanism invalid" ossl-13.out
kz_is "... without a word to the phone" "$before" "$(signs_sent)"

rp_request ossl-both.out "${ossl[@]}" 127.0.0.1:4423
rc=$?
kz_ok "OpenSSL, 1.2+1.3 server, defaults: ends (exit $rc) in the same error, no fallback" \
	eval 'ended $rc && [ $rc -ne 0 ] && grep -q "Mechanism invalid" ossl-both.out'

rp_request ossl-13-pkcs1.out "${ossl[@]}" 127.0.0.1:4413 "${pkcs1[@]}"
rc=$?
kz_ok "OpenSSL with PKCS#1 client sigalgs, TLS 1.3-only server: ends in \"certificate required\"" \
	eval 'ended $rc && [ $rc -ne 0 ] && grep -q "alert certificate required" ossl-13-pkcs1.out'

rp_request ossl-both-12.out "${ossl[@]}" 127.0.0.1:4423 "${pkcs1[@]}" -no_tls1_3
kz_is "OpenSSL with PKCS#1 sigalgs and -no_tls1_3, 1.2+1.3 server: exit 0" 0 $?
kz_ok "... TLS 1.2 negotiated" grep -q "Protocol  *: TLSv1.2" ossl-both-12.out
kz_is "... and the server got the phone's certificate" "C=JP, CN=$auth_cn" "$(rp_client_subject ossl-both-12.out)"

# --- GnuTLS (gnutls-cli through p11-kit) ------------------------------------
gnutls=(env "GNUTLS_PIN=$auth_pin" gnutls-cli --x509cafile srvca.pem
	--x509certfile "$auth_cert_uri" --x509keyfile "$auth_key_uri" 127.0.0.1 -p)

rp_request gnutls-13.out "${gnutls[@]}" 4413
rc=$?
kz_ok "GnuTLS, TLS 1.3-only server: ends (exit $rc) in alert 116, certificate required" \
	eval 'ended $rc && [ $rc -ne 0 ] && grep -q "Received alert \[116\]" gnutls-13.out'

rp_request gnutls-both.out "${gnutls[@]}" 4423
rc=$?
kz_ok "GnuTLS, 1.2+1.3 server, defaults: ends (exit $rc) the same way, no fallback" \
	eval 'ended $rc && [ $rc -ne 0 ] && grep -q "Received alert \[116\]" gnutls-both.out'

rp_request gnutls-both-12.out "${gnutls[@]}" 4423 --priority NORMAL:-VERS-TLS1.3
kz_is "GnuTLS with NORMAL:-VERS-TLS1.3, 1.2+1.3 server: exit 0" 0 $?
kz_ok "... TLS 1.2 negotiated" grep -q "Protocol  *: TLSv1.2" gnutls-both-12.out
kz_is "... and the server got the phone's certificate" "C=JP, CN=$auth_cn" "$(rp_client_subject gnutls-both-12.out)"

# --- the server's side --------------------------------------------------------
kz_ok "the TLS 1.3 server logged the missing certificate, not a bad signature" \
	grep -q "peer did not return a certificate" s_server-4413.log

kz_done
