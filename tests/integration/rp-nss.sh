#!/bin/bash
# NSS as a relying party (docs/chrome-nss.md): what Firefox and Chrome on
# Linux are built on, driven with NSS's own tools. modutil adds the module
# to a fresh NSS database, certutil lists the phone's certificates and key
# (the user's only after login: on a phone the auth certificate is private),
# and tstclnt does TLS 1.2 client authentication to `openssl s_server` that
# trusts the test JPKI user-authentication CA only; the server reports the
# phone's certificate. A server trusting another CA turns the phone away.
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"
. "$top_srcdir/tests/integration/rp-lib.sh"

rp_start
rp_server_pki

db=sql:$KZ_TMP/nssdb
mkdir -p nssdb
echo "$auth_pin" >auth-pin.txt
echo "$sign_pin" >sign-pin.txt
nick="$auth_token:User Authentication Certificate"

# --- modutil: the module in a fresh database -------------------------------
kz_ok "certutil makes a fresh NSS database" certutil -N -d "$db" --empty-password
# modutil asks for confirmation on a terminal; -force skips it.
timeout 30 modutil -dbdir "$db" -add kazashi -libfile "$module" -force >modutil-add.txt 2>&1
kz_ok "modutil adds the module" grep -q 'Module "kazashi" added to database' modutil-add.txt
timeout 30 modutil -dbdir "$db" -list kazashi >modutil-list.txt 2>&1
kz_ok "modutil lists the module's library" grep -q "$module" modutil-list.txt
kz_ok "... the user-authentication token" grep -q "Token Name: $auth_token" modutil-list.txt
kz_ok "... and the digital-signature token" grep -q "Token Name: $sign_token" modutil-list.txt
kz_ok "the module is recorded in the database (pkcs11.txt)" grep -q "library=$module" nssdb/pkcs11.txt

# --- certutil: certificates before and after login ------------------------
# -h all: every token, logging in to none (certutil cannot prompt here).
timeout 30 certutil -L -d "$db" -h all </dev/null >certs-public.txt 2>&1
# The CA certificates are not objects by default (ca_certificates, for
# OpenSSH: docs/openssh.md); a phone shows nothing before login.
kz_is "before login: no JPKI certificate listed (CA certificates off)" 0 \
	"$(grep -c "^JPKI " certs-public.txt)"
kz_is "before login: not the user's certificate (private on a phone)" 0 \
	"$(grep -c "^$nick " certs-public.txt)"
timeout 30 certutil -L -d "$db" -h "$auth_token" -f auth-pin.txt >certs-login.txt 2>&1
kz_ok "after login: the user's certificate, marked as the user's (u,u,u)" \
	grep -q "^$nick  *u,u,u" certs-login.txt
timeout 30 certutil -L -d "$db" -h "$auth_token" -f auth-pin.txt -n "$nick" -a >auth-nss.pem 2>certutil-export.err
kz_ok "certutil exports it, equal to the phone's" \
	cmp <(openssl x509 -in auth-nss.pem -outform DER) "$KZ_PKI/auth.der"
timeout 30 certutil -K -d "$db" -h "$auth_token" -f auth-pin.txt >keys.txt 2>&1
kz_ok "certutil -K: the RSA key, with the certificate's id 01" \
	grep -q "rsa  *01  *User Authentication Key" keys.txt
timeout 30 certutil -L -d "$db" -h "$sign_token" -f sign-pin.txt >sign-certs.txt 2>&1
kz_ok "digital-signature token: its certificate after the password" \
	grep -q "^$sign_token:Digital Signature Certificate " sign-certs.txt

# --- ca_certificates=yes as NSS's module parameter (modutil -string) ------
# For the browser alone: the signature CA certificate is public, the
# user-authentication CA's shows with the user's certificate.
db2=sql:$KZ_TMP/nssdb-ca
mkdir -p nssdb-ca
certutil -N -d "$db2" --empty-password
timeout 30 modutil -dbdir "$db2" -add kazashi -libfile "$module" -string "ca_certificates=yes" \
	-force >modutil-add-ca.txt 2>&1
kz_ok "modutil adds the module with ca_certificates=yes" \
	grep -q "parameters=ca_certificates=yes" nssdb-ca/pkcs11.txt
timeout 30 certutil -L -d "$db2" -h all </dev/null >certs-public-ca.txt 2>&1
kz_ok "ca_certificates=yes, before login: the signature CA is listed" \
	grep -q "^$sign_token:Digital Signature CA " certs-public-ca.txt
timeout 30 certutil -L -d "$db2" -h "$auth_token" -f auth-pin.txt >certs-login-ca.txt 2>&1
kz_ok "ca_certificates=yes, after login: the user-authentication CA beside the user's" \
	grep -q "^$auth_token:User Authentication CA " certs-login-ca.txt
kz_is "... and no CA certificate without the setting, after login" 0 \
	"$(grep -c ":User Authentication CA\|:Digital Signature CA" certs-login.txt)"

# --- tstclnt: TLS 1.2 client authentication -------------------------------
# tstclnt checks the server against the database: trust the server's CA.
certutil -A -d "$db" -n "kazashi test server CA" -t "C,," -i srvca.pem
rp_s_server 4412 -tls1_2
rp_request tstclnt.out tstclnt -h 127.0.0.1 -p 4412 -d "$db" -n "$nick" -W auth-pin.txt
kz_is "tstclnt: exit status 0" 0 $?
kz_ok "the server's page reports TLS 1.2" grep -q "Protocol  *: TLSv1.2" tstclnt.out
kz_is "the server received the phone's certificate" "C=JP, CN=$auth_cn" "$(rp_client_subject tstclnt.out)"
kz_ok "the server verified it against the JPKI CA" grep -q "depth=0 C = JP, CN = $auth_cn" s_server-4412.log

# A server that trusts some other CA only must refuse the phone.
openssl s_server -accept 127.0.0.1:4419 -cert srv.pem -key srv.key -CAfile otherca.pem \
	-Verify 1 -verify_return_error -www -tls1_2 >s_server-4419.log 2>&1 </dev/null &
KZ_PIDS+=($!)
rp_wait_port 4419
rp_request tstclnt-other.out tstclnt -h 127.0.0.1 -p 4419 -d "$db" -n "$nick" -W auth-pin.txt
rc=$?
kz_ok "a server trusting another CA refuses the phone (tstclnt fails, no hang)" \
	test $rc -ne 0 -a $rc -ne 124
kz_ok "... on the server's side: the chain did not verify" \
	grep -q "unable to get local issuer certificate\|certificate verify failed" s_server-4419.log

kz_done
