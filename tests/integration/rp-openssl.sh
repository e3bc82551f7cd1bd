#!/bin/bash
# OpenSSL and curl as relying parties (docs/openssl-curl.md), through libp11's
# PKCS#11 engine (Debian's libengine-pkcs11-openssl) and pkcs11: URIs:
#  - with no configuration at all: the engine's default module is p11-kit's
#    proxy, which loads the registered kazashi.module;
#  - with an OpenSSL configuration naming the module directly;
#  - signing (dgst, pkeyutl) with both keys, checked against the
#    certificates;
#  - TLS 1.2 client authentication (s_client, curl) with the key in the
#    token. OpenSSL picks RSA-PSS for it whenever the server offers PSS, and
#    the phone cannot sign PSS: out of the box the handshake fails (cleanly),
#    with PKCS#1 client signature algorithms (one line of configuration) it
#    works.
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"
. "$top_srcdir/tests/integration/rp-lib.sh"

rp_start
rp_server_pki
rp_p11kit_config
export OPENSSL_CONF=/dev/null # nothing but the engine's defaults, to start with
head -c 1000 /dev/urandom >data.bin
openssl dgst -sha256 -binary data.bin >digest.bin

# --- the engine, zero configuration (p11-kit's proxy) ----------------------
openssl engine pkcs11 -t >engine.txt 2>&1
kz_ok "libp11's engine is there" grep -q "\[ available \]" engine.txt
timeout 30 openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "$auth_key_uri" \
	-passin pass:$auth_pin -out sig.bin data.bin >dgst.txt 2>&1
kz_ok "dgst -sign with the auth key (PIN from -passin) verifies" \
	openssl dgst -sha256 -verify auth.pub -signature sig.bin data.bin
rm -f sig.bin
timeout 30 openssl pkeyutl -engine pkcs11 -keyform engine -inkey "$auth_key_uri;pin-value=$auth_pin" \
	-sign -in digest.bin -pkeyopt digest:sha256 -out sig.bin >pkeyutl.txt 2>&1
kz_ok "pkeyutl -sign of a SHA-256 digest (PIN in the URI) verifies" \
	openssl pkeyutl -verify -pubin -inkey auth.pub -in digest.bin -pkeyopt digest:sha256 -sigfile sig.bin
rm -f sig.bin
# The key is always-authenticate: libp11 logs in again for each signature
# (CKU_CONTEXT_SPECIFIC) and asks for the password on the terminal then
# ("Enter PKCS#11 key PIN for Digital Signature Key:"); -passin and
# pin-value do not reach that prompt. script(1) gives it a terminal and
# types the password, as a person would.
echo "$sign_pin" >sign-pin.txt
timeout 30 script -qec "openssl dgst -sha512 -engine pkcs11 -keyform engine \
	-sign '$sign_key_uri;pin-value=$sign_pin' -out sig.bin data.bin" /dev/null \
	<sign-pin.txt >dgst-sign.txt 2>&1
kz_ok "the signature key asks for its password at signing time" \
	grep -q "Enter PKCS#11 key PIN for Digital Signature Key" dgst-sign.txt
kz_ok "dgst -sha512 with the signature key (always-authenticate) verifies" \
	openssl dgst -sha512 -verify sign.pub -signature sig.bin data.bin

# --- the engine with its module named in an OpenSSL configuration ---------
cat >engine.cnf <<EOF
openssl_conf = jpki_init
[jpki_init]
engines = jpki_engines
[jpki_engines]
pkcs11 = jpki_pkcs11
[jpki_pkcs11]
engine_id = pkcs11
MODULE_PATH = $module
EOF
rm -f sig.bin
OPENSSL_CONF=$KZ_TMP/engine.cnf timeout 30 openssl dgst -sha256 -engine pkcs11 -keyform engine \
	-sign "$auth_key_uri" -passin pass:$auth_pin -out sig.bin data.bin >dgst-conf.txt 2>&1
kz_ok "MODULE_PATH in openssl.cnf: dgst -sign verifies" \
	openssl dgst -sha256 -verify auth.pub -signature sig.bin data.bin

# --- s_client: TLS 1.2 client authentication ------------------------------
rp_s_server 4412 -tls1_2
rp_s_server 4423 # 1.2 and 1.3
sc=(openssl s_client -engine pkcs11 -keyform engine -key "$auth_key_uri;pin-value=$auth_pin"
	-cert auth.pem -CAfile srvca.pem -verify_return_error -ign_eof -connect)
rp_request sc-default.out "${sc[@]}" 127.0.0.1:4412
rc=$?
kz_ok "s_client, default signature algorithms: fails, without hanging (exit $rc)" \
	test $rc -ne 0 -a $rc -ne 124
kz_ok "... because OpenSSL chose RSA-PSS: \"Mechanism invalid\"" grep -q "Mechanism invalid" sc-default.out
rp_request sc-pkcs1.out "${sc[@]}" 127.0.0.1:4412 -client_sigalgs RSA+SHA256:RSA+SHA384:RSA+SHA512
kz_is "s_client -client_sigalgs RSA+SHA256:...: exit 0" 0 $?
kz_ok "... TLS 1.2" grep -q "Protocol  *: TLSv1.2" sc-pkcs1.out
kz_is "... the server got the phone's certificate" "C=JP, CN=$auth_cn" "$(rp_client_subject sc-pkcs1.out)"

# The same as configuration (docs/openssl-curl.md): PKCS#1 for client
# certificates, TLS 1.2 at most, the engine and its module.
cat >jpki-client.cnf <<EOF
openssl_conf = jpki_init
[jpki_init]
engines = jpki_engines
ssl_conf = jpki_ssl
[jpki_engines]
pkcs11 = jpki_pkcs11
[jpki_pkcs11]
engine_id = pkcs11
MODULE_PATH = $module
[jpki_ssl]
system_default = jpki_tls
[jpki_tls]
ClientSignatureAlgorithms = RSA+SHA256:RSA+SHA384:RSA+SHA512
MaxProtocol = TLSv1.2
EOF
OPENSSL_CONF=$KZ_TMP/jpki-client.cnf rp_request sc-conf.out "${sc[@]}" 127.0.0.1:4423
kz_is "s_client with jpki-client.cnf, 1.2+1.3 server: exit 0" 0 $?
kz_is "... the server got the phone's certificate over TLS 1.2" \
	"TLSv1.2 C=JP, CN=$auth_cn" \
	"$(sed -n 's/^ *Protocol *: *//p' sc-conf.out | head -n 1) $(rp_client_subject sc-conf.out)"

# --- curl -----------------------------------------------------------------
curl_eng=(curl -sS --engine pkcs11 --key-type ENG --key "$auth_key_uri;pin-value=$auth_pin"
	--cert-type ENG --cert "$auth_cert_uri;pin-value=$auth_pin" --cacert srvca.pem)
timeout 30 "${curl_eng[@]}" -o curl-default.out https://127.0.0.1:4412/ >curl-default.err 2>&1
rc=$?
kz_ok "curl, key and certificate in the token, no configuration: fails cleanly (exit $rc)" \
	eval '[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "Mechanism invalid" curl-default.err'
OPENSSL_CONF=$KZ_TMP/jpki-client.cnf timeout 30 "${curl_eng[@]}" -o curl.out https://127.0.0.1:4412/ \
	>curl.err 2>&1
kz_is "curl with jpki-client.cnf: exit 0" 0 $?
kz_is "... the server got the phone's certificate" "C=JP, CN=$auth_cn" "$(rp_client_subject curl.out)"
# curl sets the highest TLS version itself, over MaxProtocol: --tls-max.
OPENSSL_CONF=$KZ_TMP/jpki-client.cnf timeout 30 "${curl_eng[@]}" -o curl-both.out \
	https://127.0.0.1:4423/ >curl-both.err 2>&1
rc=$?
kz_ok "curl, 1.2+1.3 server: TLS 1.3, no certificate sent, clean failure (exit $rc)" \
	eval '[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "alert certificate required" curl-both.err'
OPENSSL_CONF=$KZ_TMP/jpki-client.cnf timeout 30 "${curl_eng[@]}" --tls-max 1.2 -o curl-both12.out \
	https://127.0.0.1:4423/ >curl-both12.err 2>&1
kz_ok "curl --tls-max 1.2, 1.2+1.3 server: TLS 1.2 with the phone's certificate" \
	eval 'grep -q "Protocol  *: TLSv1.2" curl-both12.out && [ "$(rp_client_subject curl-both12.out)" = "C=JP, CN=$auth_cn" ]' 
# The certificate as a file, the PIN as the key's pass phrase.
OPENSSL_CONF=$KZ_TMP/jpki-client.cnf timeout 30 curl -sS --engine pkcs11 --key-type ENG \
	--key "$auth_key_uri" --pass "$auth_pin" --cert auth.pem --cacert srvca.pem \
	-o curl-file.out https://127.0.0.1:4412/ >curl-file.err 2>&1
kz_is "curl --cert auth.pem --key pkcs11:... --pass PIN: the server got the certificate" \
	"C=JP, CN=$auth_cn" "$(rp_client_subject curl-file.out)"

kz_done
