#!/bin/bash
# The main job on a fresh Debian 12 machine: install what is missing (the
# demo's packages only: scripts/deps.sh demo, no browser, no test tools), build
# and install kazashi, start pcscd with vpcd and a simulated Android phone,
# and authenticate its holder as a kiosk does, with `kazashi auth`: a PKCS#11
# client of the installed module that reads the certificate, logs in with
# the PIN, has the phone sign a fresh challenge, and verifies the signature
# and the certificate's chain to the JPKI CA certificate.
set -euo pipefail
trap 'echo "== FAILED (line $LINENO): see the messages above" >&2' ERR
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	exec sudo -E "$0" "$@" # pcscd, namespaces and `make install` need root
fi
# The start, kept across the sudo and the namespaces' re-execution.
export KZ_DEMO_START=${KZ_DEMO_START:-$(date +%s)}
if [ "${KZ_PCSCD_NS:-}" != 1 ]; then
	scripts/deps.sh demo
	echo "== building and installing kazashi"
	scripts/build.sh
fi
export srcdir=$PWD top_builddir=$PWD
. tests/integration/pcscd-env.sh

pin=1234
echo "== a private pcscd with vpcd, and a simulated Android phone in the field"
kz_start_pcscd
kz_make_pki
kz_start_phone --persona android --pki "$KZ_PKI" --log "$KZ_TMP/apdu.jsonl"
cd "$KZ_TMP"

echo "== kazashi list"
kazashi list
echo "== kazashi auth --ca authca.der (the PIN on file descriptor 3)"
before=$(wc -l <apdu.jsonl)
kazashi auth --ca "$KZ_PKI/authca.der" --pin-fd 3 3<<<"$pin"
tail -n +"$((before + 1))" apdu.jsonl >auth.jsonl
air=$(jq -s 'map(.air_ms // 0) | add | . * 10 | round / 10' auth.jsonl)
echo "== user authenticated: $(wc -l <auth.jsonl) APDUs, ${air} ms modeled air time at 106 kbit/s"
echo "== done in $(($(date +%s) - KZ_DEMO_START)) s, installing and building included"
