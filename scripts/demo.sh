#!/bin/bash
# The main job on a fresh Debian 12 machine: install what is missing, build
# and install kazashi, start pcscd with vpcd and a simulated Android phone,
# and authenticate its holder as a relying party would, through the module:
# list the tokens, log in, read the certificate, sign a fresh challenge,
# verify the signature against that certificate.
set -euo pipefail
trap 'echo "== FAILED (line $LINENO): see the messages above" >&2' ERR
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	exec sudo -E "$0" "$@" # pcscd, namespaces and `make install` need root
fi
if [ "${KZ_PCSCD_NS:-}" != 1 ]; then
	scripts/deps.sh
	echo "== building and installing kazashi"
	scripts/build.sh
fi
export srcdir=$PWD top_builddir=$PWD
. tests/integration/pcscd-env.sh

module="/usr/lib/$(gcc -print-multiarch)/pkcs11/kazashi-pkcs11.so"
pin=1234
echo "== a private pcscd with vpcd, and a simulated Android phone in the field"
kz_start_pcscd
kz_make_pki
kz_start_phone --persona android --pki "$KZ_PKI" --log "$KZ_TMP/apdu.jsonl"
p11() { pkcs11-tool --module "$module" --token-label "JPKI User Authentication" "$@"; }
cd "$KZ_TMP"

echo "== the tokens the module shows"
pkcs11-tool --module "$module" -L 2>/dev/null | grep -E "Slot|token (label|model)"
echo "== log in with the user-authentication PIN and read the certificate"
p11 --login --pin "$pin" --read-object --type cert --id 01 -o auth.der 2>/dev/null
openssl x509 -inform DER -in auth.der -noout -subject -issuer -serial -enddate
openssl x509 -inform DER -in auth.der -pubkey -noout >auth.pub
echo "== sign a fresh 32-byte challenge (SHA256-RSA-PKCS) on the phone"
head -c 32 /dev/urandom >challenge.bin
p11 --login --pin "$pin" --sign --id 01 -m SHA256-RSA-PKCS -i challenge.bin -o signature.bin 2>/dev/null
echo "== verify the signature against the certificate"
if openssl dgst -sha256 -verify auth.pub -signature signature.bin challenge.bin; then
	apdus=$(wc -l <apdu.jsonl)
	air=$(jq -s 'map(.air_ms // 0) | add | . * 10 | round / 10' apdu.jsonl)
	echo "== user authenticated: $apdus APDUs on the air, ${air} ms modeled air time at 106 kbit/s"
else
	echo "== FAILED: the signature does not verify" >&2
	exit 1
fi
