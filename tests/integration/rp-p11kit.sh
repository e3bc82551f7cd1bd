#!/bin/bash
# p11-kit as a relying party (docs/p11-kit.md): the installed kazashi.module
# is picked up (p11-kit list-modules shows the module and the phone's two
# tokens), p11-kit's proxy exposes them, GnuTLS's p11tool lists and exports
# the certificates by pkcs11: URI, and `p11-kit server` exports the tokens on
# a socket that p11-kit-client.so uses from a process that cannot reach
# pcscd at all (the way to use a phone tapped at one host from another host
# or a container). Also: OpenSC's own JPKI driver loaded beside kazashi.
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"
. "$top_srcdir/tests/integration/rp-lib.sh"

rp_start
head -c 300 /dev/urandom >data.bin

# --- the registration, as installed (OpenSC's module file left in place) --
rp_p11kit_config --keep-opensc
if [ "$RP_P11KIT" = installed ]; then
	kz_ok "installed kazashi.module names the module under test" \
		test "$(sed -n 's/^module: *//p' "$p11kit_dir/kazashi.module")" -ef "$module"
else
	kz_skip "installed kazashi.module names the module under test" \
		"module under test is not installed ($module): a private module file stands in"
fi
timeout 30 p11-kit list-modules >list-modules.txt 2>&1
# The "kazashi" section: from its line to the next module's.
awk '/^[^ ]/ { in_kz = ($1 == "kazashi:") } in_kz' list-modules.txt >kazashi-section.txt
kz_ok "p11-kit list-modules shows the module" grep -q "^kazashi: $module\$" list-modules.txt
kz_ok "... with the user-authentication token" grep -q "token: $auth_token" kazashi-section.txt
kz_ok "... and the digital-signature token" grep -q "token: $sign_token" kazashi-section.txt
kz_ok "... whose model is Android" grep -q "model: Android" kazashi-section.txt

# --- OpenSC's JPKI driver and kazashi in one process ----------------------
# Another program on the same card between kazashi's transactions: OpenSC,
# which p11-kit's proxy loads next to kazashi (Debian's default OpenSSL
# engine set-up), selects other EFs and queries PIN tries. kazashi must not
# trust its idea of the selected EF across PC/SC transactions, or its VERIFY
# of the user-authentication PIN lands on the signature password's EF: the
# login fails and the signature password loses a try, every time.
if [ -f "$p11kit_dir/opensc-pkcs11.module" ]; then
	openssl dgst -sha256 -binary data.bin >digest.bin
	rm -f sig.bin
	timeout 30 openssl pkeyutl -engine pkcs11 -keyform engine -inkey "$auth_key_uri;pin-value=$auth_pin" \
		-sign -in digest.bin -pkeyopt digest:sha256 -out sig.bin >opensc-beside.txt 2>&1
	kz_ok "with OpenSC registered too, OpenSSL's engine logs in to kazashi and signs" \
		openssl pkeyutl -verify -pubin -inkey auth.pub -in digest.bin -pkeyopt digest:sha256 -sigfile sig.bin
	timeout 30 pkcs11-tool --module "$module" -L >after-opensc.txt 2>&1
	kz_ok "... and costs the signature password no try" \
		bash -c "! grep -A6 'token label *: $sign_token' after-opensc.txt | grep -qi 'count low'"
	# A right password resets the count: the phone is as new for what follows.
	timeout 30 pkcs11-tool --module "$module" --token-label "$sign_token" --login \
		--pin $sign_pin -O >/dev/null 2>&1

	# The work-around docs/p11-kit.md gives: a module file with an empty
	# "module:" in /etc/pkcs11/modules switches OpenSC off for p11-kit.
	# /etc is overlaid, in this test's mount namespace only.
	mkdir -p etc-upper etc-work
	if mount -t overlay overlay -o "lowerdir=/etc,upperdir=$KZ_TMP/etc-upper,workdir=$KZ_TMP/etc-work" /etc 2>overlay.err; then
		mkdir -p /etc/pkcs11/modules
		echo 'module:' >/etc/pkcs11/modules/opensc-pkcs11.module
		timeout 30 p11-kit list-modules >list-no-opensc.txt 2>&1
		kz_ok "work-around: 'module:' in /etc/pkcs11/modules/opensc-pkcs11.module drops OpenSC" \
			eval '! grep -q "^opensc-pkcs11:" list-no-opensc.txt && grep -q "^kazashi:" list-no-opensc.txt'
		rm -f sig.bin
		timeout 30 openssl pkeyutl -engine pkcs11 -keyform engine -inkey "$auth_key_uri;pin-value=$auth_pin" \
			-sign -in digest.bin -pkeyopt digest:sha256 -out sig.bin >opensc-off.txt 2>&1
		kz_ok "... and then OpenSSL's engine signs through the proxy" \
			openssl pkeyutl -verify -pubin -inkey auth.pub -in digest.bin -pkeyopt digest:sha256 -sigfile sig.bin
		umount /etc
	else
		kz_skip "work-around: 'module:' in /etc/pkcs11/modules/opensc-pkcs11.module drops OpenSC" "no overlayfs: $(head -c 100 overlay.err)"
		kz_skip "... and then OpenSSL's engine signs through the proxy" "no overlayfs"
	fi
else
	kz_skip "with OpenSC registered too, OpenSSL's engine logs in to kazashi and signs" "OpenSC not registered with p11-kit"
	kz_skip "... and costs the signature password no try" "OpenSC not registered with p11-kit"
	kz_skip "work-around: 'module:' in /etc/pkcs11/modules/opensc-pkcs11.module drops OpenSC" "OpenSC not registered"
	kz_skip "... and then OpenSSL's engine signs through the proxy" "OpenSC not registered"
fi

# From here on, kazashi alone (as docs/p11-kit.md advises).
rp_p11kit_config

# --- p11-kit's proxy -----------------------------------------------------
timeout 30 pkcs11-tool --module "$p11kit_proxy" -L >proxy-slots.txt 2>&1
kz_ok "the proxy lists the user-authentication token" grep -q "token label *: $auth_token" proxy-slots.txt
kz_ok "the proxy lists the digital-signature token" grep -q "token label *: $sign_token" proxy-slots.txt
rm -f sig.bin
timeout 30 pkcs11-tool --module "$p11kit_proxy" --token-label "$auth_token" --login --pin $auth_pin \
	--sign --id 01 -m SHA256-RSA-PKCS -i data.bin -o sig.bin >proxy-sign.txt 2>&1
kz_ok "a signature through the proxy verifies against the auth certificate" \
	openssl dgst -sha256 -verify auth.pub -signature sig.bin data.bin

# --- p11tool (GnuTLS) with pkcs11: URIs -----------------------------------
timeout 30 p11tool --list-all-certs "$auth_uri" >p11tool-public.txt 2>&1
kz_is "p11tool: no certificate before login (a phone keeps the user's behind the PIN)" 0 \
	"$(grep -c '^Object' p11tool-public.txt)"
GNUTLS_PIN=$auth_pin timeout 30 p11tool --login --list-all-certs "$auth_uri" >p11tool-login.txt 2>&1
kz_is "p11tool: one certificate after login (no CA's: ca_certificates is off)" 1 "$(grep -c '^Object' p11tool-login.txt)"
kz_ok "... the user's, with its pkcs11: URI" grep -q "URL: pkcs11:.*token=JPKI%20User%20Authentication;id=%01;object=User%20Authentication%20Certificate;type=cert" p11tool-login.txt
GNUTLS_PIN=$auth_pin timeout 30 p11tool --login --list-all "$auth_uri" >p11tool-all-objects.txt 2>&1
kz_is "p11tool --login --list-all: key pair and certificate" "3" "$(grep -c '^Object' p11tool-all-objects.txt)"
kz_ok "... the private key's URI (id 01, type=private)" grep -q "URL: pkcs11:.*token=JPKI%20User%20Authentication;id=%01;object=User%20Authentication%20Key;type=private" p11tool-all-objects.txt
GNUTLS_PIN=$auth_pin timeout 30 p11tool --login --export "$auth_cert_uri" >exported.pem 2>p11tool-export.err
kz_ok "p11tool --export of the auth certificate equals the phone's" \
	cmp <(openssl x509 -in exported.pem -outform DER) "$KZ_PKI/auth.der"
timeout 30 p11tool --list-all-certs "pkcs11:manufacturer=J-LIS" >p11tool-all.txt 2>&1
kz_is "p11tool: no certificate public across the phone's tokens (no CA's)" 0 \
	"$(grep -c '^Object' p11tool-all.txt)"
GNUTLS_PIN=$sign_pin timeout 30 p11tool --login --list-all-certs "$sign_uri" >p11tool-sign.txt 2>&1
kz_ok "p11tool: the signature certificate after the password" \
	grep -q "Label: Digital Signature Certificate" p11tool-sign.txt
GNUTLS_PIN=$auth_pin timeout 30 p11tool --login --test-sign "$auth_key_uri" >p11tool-test-sign.txt 2>&1
kz_ok "p11tool --test-sign with the auth key (signs and verifies)" \
	grep -q "Verifying against public key in the token... ok" p11tool-test-sign.txt

# --- p11-kit server and p11-kit-client.so --------------------------------
sock=$KZ_TMP/p11-kit.sock
p11-kit server --foreground --name "$sock" "$auth_uri" "$sign_uri" >p11-kit-server.txt 2>&1 &
KZ_PIDS+=($!)
for ((i = 0; i < 50; i++)); do
	[ -S "$sock" ] && break
	sleep 0.1
done
kz_ok "p11-kit server exports the tokens on a socket" test -S "$sock"
kz_ok "... and prints the address for clients" grep -q "P11_KIT_SERVER_ADDRESS=unix:path=$sock" p11-kit-server.txt
# The client runs where pcscd cannot be reached (its socket directory hidden
# under an empty tmpfs, as in a container): everything goes through the socket.
remote() {
	P11_KIT_SERVER_ADDRESS=unix:path=$sock unshare -m -- sh -c \
		'mount -t tmpfs tmpfs /run/pcscd && exec timeout 30 "$@"' remote "$@"
}
remote ls -A /run/pcscd >remote-pcscd.txt 2>&1
kz_is "the remote side sees no pcscd" "" "$(cat remote-pcscd.txt)"
remote pkcs11-tool --module "$p11kit_client" -L >remote-slots.txt 2>&1
kz_ok "p11-kit-client.so lists the user-authentication token" grep -q "token label *: $auth_token" remote-slots.txt
kz_ok "p11-kit-client.so lists the digital-signature token" grep -q "token label *: $sign_token" remote-slots.txt
rm -f sig.bin
remote pkcs11-tool --module "$p11kit_client" --token-label "$auth_token" --login --pin $auth_pin \
	--sign --id 01 -m SHA256-RSA-PKCS -i data.bin -o sig.bin >remote-sign.txt 2>&1
kz_ok "auth key: a signature through the socket verifies" \
	openssl dgst -sha256 -verify auth.pub -signature sig.bin data.bin
rm -f sig.bin
remote pkcs11-tool --module "$p11kit_client" --token-label "$sign_token" --login --pin $sign_pin \
	--sign --id 02 -m SHA256-RSA-PKCS -i data.bin -o sig.bin >remote-sign2.txt 2>&1
kz_ok "signature key (always-authenticate): a signature through the socket verifies" \
	openssl dgst -sha256 -verify sign.pub -signature sig.bin data.bin
GNUTLS_PIN=$auth_pin remote p11tool --provider "$p11kit_client" --login --export "$auth_cert_uri" \
	>remote-exported.pem 2>remote-export.err
kz_ok "p11tool through the socket exports the auth certificate" \
	cmp <(openssl x509 -in remote-exported.pem -outform DER) "$KZ_PKI/auth.der"
if grep -q "ALLOWED_MECHANISMS" remote-slots.txt remote-sign.txt 2>/dev/null; then
	kz_note "p11-kit 0.24 RPC does not carry CKA_ALLOWED_MECHANISMS (pkcs11-tool warns; harmless)"
fi

kz_done
