#!/bin/sh
# make-pki.sh DIR: a throw-away JPKI-like PKI for the simulated phone.
#
# Writes into DIR (created if missing; files already there are replaced):
#   authca.der authca.key.pem   user-authentication CA
#   signca.der signca.key.pem   digital-signature CA
#   auth.der auth.key.pem       user-authentication end entity (opaque CN)
#   sign.der sign.key.pem       signature end entity (name, address, ... in SAN)
#   otherca.der otherca.key.pem an unrelated CA, for untrusted-chain tests
#   pki.cnf                     the extension config used (kept for reference)
# Everything is RSA-2048 with sha256WithRSAEncryption, as on the real cards.
# Only the openssl command (3.0 or later) is needed.
set -eu

die() {
	echo "make-pki.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: make-pki.sh DIR"
dir=$1
command -v openssl >/dev/null 2>&1 || die "the openssl command is not installed"
mkdir -p "$dir" || die "cannot create $dir"
[ -d "$dir" ] && [ -w "$dir" ] || die "$dir is not a writable directory"

# Start clean so that a half-made PKI from an earlier failed run is never
# mistaken for a good one.
for f in authca signca auth sign otherca; do
	rm -f "$dir/$f.der" "$dir/$f.key.pem" "$dir/$f.csr"
done

# Opaque identifiers like the real ones: the auth certificate's CN carries no
# personal data, the signature certificate's CN looks like a serial.
hexid() { openssl rand -hex "$1" | tr 'a-f' 'A-F'; }
auth_cn="$(hexid 6)A"
sign_cn="$(od -An -N8 -tu8 /dev/urandom | tr -d ' \n')"
[ -n "$sign_cn" ] || die "cannot read /dev/urandom"

cnf="$dir/pki.cnf"
# The file is UTF-8. "UTF8:" makes each otherName value an ASN.1 UTF8String;
# "FORMAT:UTF8" tells openssl the text is UTF-8 already (without it the
# bytes are taken as Latin-1 and encoded twice).
# 公的　太郎 has U+3000 (IDEOGRAPHIC SPACE) between surname and given name.
cat >"$cnf" <<'EOF'
[ req ]
distinguished_name = req_dn
string_mask = utf8only
utf8 = yes
prompt = no

[ req_dn ]
C = JP

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_auth ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
certificatePolicies = 1.2.392.200149.8.5.1.3.30
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ v3_sign ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
certificatePolicies = 1.2.392.200149.8.5.1.1.20
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = @sign_san

[ sign_san ]
otherName.1 = 1.2.392.200149.8.5.5.1;FORMAT:UTF8,UTF8:公的　太郎
otherName.2 = 1.2.392.200149.8.5.5.2;FORMAT:UTF8,UTF8:0
otherName.3 = 1.2.392.200149.8.5.5.3;FORMAT:UTF8,UTF8:1
otherName.4 = 1.2.392.200149.8.5.5.4;FORMAT:UTF8,UTF8:319850412
otherName.5 = 1.2.392.200149.8.5.5.5;FORMAT:UTF8,UTF8:東京都千代田区霞が関２－１－２
otherName.6 = 1.2.392.200149.8.5.5.6;FORMAT:UTF8,UTF8:0
EOF

genkey() {
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-pkeyopt rsa_keygen_pubexp:65537 -out "$dir/$1.key.pem" 2>/dev/null ||
		die "RSA key generation failed for $1"
}

serial() { echo "0x$(openssl rand -hex 8)"; }

# make_ca NAME SUBJECT
make_ca() {
	openssl req -new -x509 -config "$cnf" -utf8 -key "$dir/$1.key.pem" \
		-subj "$2" -days 7300 -sha256 -set_serial "$(serial)" \
		-extensions v3_ca -outform DER -out "$dir/$1.der" ||
		die "cannot make CA certificate $1"
}

# make_ee NAME SUBJECT CA EXTENSIONS
make_ee() {
	openssl req -new -config "$cnf" -utf8 -key "$dir/$1.key.pem" \
		-subj "$2" -out "$dir/$1.csr" || die "cannot make request for $1"
	openssl x509 -req -in "$dir/$1.csr" -CA "$dir/$3.der" -CAform DER \
		-CAkey "$dir/$3.key.pem" -set_serial "$(serial)" -days 1825 \
		-sha256 -extfile "$cnf" -extensions "$4" -outform DER \
		-out "$dir/$1.der" 2>/dev/null || die "cannot issue certificate $1"
	rm -f "$dir/$1.csr"
}

# RSA key generation is most of the run time and varies a lot: run the five
# in parallel and wait for each, so that a failure is still reported.
pids=""
for k in authca signca otherca auth sign; do
	genkey "$k" &
	pids="$pids $!"
done
for pid in $pids; do
	wait "$pid" || die "RSA key generation failed"
done

lis="OU=Japan Agency for Local Authority Information Systems"
make_ca authca "/C=JP/O=JPKI/OU=JPKI for user authentication/$lis"
make_ca signca "/C=JP/O=JPKI/OU=JPKI for digital signature/$lis"
make_ca otherca "/C=JP/O=Not JPKI/OU=Untrusted test CA"
make_ee auth "/C=JP/CN=$auth_cn" authca v3_auth
make_ee sign "/C=JP/L=Tokyo-to/L=Chiyoda-ku/CN=$sign_cn" signca v3_sign

# Check the chains: a broken PKI must fail here, not deep inside a test.
for pair in auth:authca sign:signca; do
	ee=${pair%%:*}
	ca=${pair#*:}
	openssl x509 -inform DER -in "$dir/$ca.der" -out "$dir/$ca.tmp.pem"
	openssl x509 -inform DER -in "$dir/$ee.der" -out "$dir/$ee.tmp.pem"
	if ! openssl verify -CAfile "$dir/$ca.tmp.pem" "$dir/$ee.tmp.pem" >/dev/null; then
		rm -f "$dir"/*.tmp.pem
		die "$ee.der does not verify against $ca.der"
	fi
	rm -f "$dir/$ca.tmp.pem" "$dir/$ee.tmp.pem"
done
