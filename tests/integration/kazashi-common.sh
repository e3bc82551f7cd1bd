# kazashi-common.sh: what the kazashi command's integration tests share;
# not a test itself. Source it first thing, as pcscd-env.sh (which it
# sources, with tap.sh) must be:
#
#   #!/bin/bash
#   . "${srcdir:-.}/tests/integration/kazashi-common.sh"
#
# The test then runs in $KZ_TMP, with this test's pcscd up and the test
# PKI made, and has:
#
#   kz_tool NAME ARGS...   run `kazashi --module $module ARGS`; stdout in
#                          $KZ_TMP/NAME.out, stderr in NAME.err, status in $rc
#                          (124: still running after $KZ_TOOL_LIMIT seconds)
#   kz_verifies            VERIFY commands that carried a PIN, so far
#   kz_apdu_at INS         line of the first APDU with instruction INS in the
#                          phone's log (the APDU number --leave-at takes)
#   kz_make_crl NAME CA [CERT]  a CRL by CA (from $KZ_PKI), revoking CERT
#                          when given, as $KZ_TMP/NAME.crl.pem

. "${srcdir:-.}/tests/integration/pcscd-env.sh"
. "$srcdir/tests/integration/tap.sh"

module=${KZ_MODULE:-${top_builddir:-.}/src/.libs/kazashi-pkcs11.so}
tool=${KZ_TOOL:-${top_builddir:-.}/src/tools/kazashi}
[ -r "$module" ] || kz_bail "no module at $module"
[ -x "$tool" ] || kz_bail "no kazashi command at $tool"
apdu_log=$KZ_TMP/apdu.jsonl
kz_start_pcscd || kz_bail "pcscd did not start"
kz_make_pki || kz_bail "no test PKI"
cd "$KZ_TMP" || kz_bail "no temp dir"

# A command that waits for a tap that never comes must fail the test, not
# hang it.
: "${KZ_TOOL_LIMIT:=60}"
kz_tool() {
	local name=$1
	shift
	timeout -k 5 "$KZ_TOOL_LIMIT" "$tool" --module "$module" "$@" \
		>"$KZ_TMP/$name.out" 2>"$KZ_TMP/$name.err"
	rc=$?
}

kz_verifies() {
	[ -f "$apdu_log" ] || {
		echo 0
		return
	}
	jq -r 'select(.ins == "20") | .cmd' "$apdu_log" | awk 'length($0) > 8' | wc -l
}

kz_apdu_at() {
	jq -r '.ins' "$apdu_log" | grep -n -m1 -x "$1" | cut -d: -f1
}

kz_make_crl() {
	local name=$1 ca=$2 revoke=${3:-} d=$KZ_TMP/crl-$1
	mkdir -p "$d" || return 1
	: >"$d/index.txt"
	echo 01 >"$d/crlnumber"
	openssl x509 -inform DER -in "$KZ_PKI/$ca.der" -out "$d/ca.pem" || return 1
	cat >"$d/ca.cnf" <<CNF
[ ca ]
default_ca = kz
[ kz ]
database = $d/index.txt
crlnumber = $d/crlnumber
certificate = $d/ca.pem
private_key = $KZ_PKI/$ca.key.pem
default_md = sha256
default_crl_days = 30
CNF
	if [ -n "$revoke" ]; then
		openssl x509 -inform DER -in "$KZ_PKI/$revoke.der" -out "$d/revoke.pem" &&
			openssl ca -config "$d/ca.cnf" -revoke "$d/revoke.pem" \
				-crl_reason keyCompromise >>"$d/log" 2>&1 || return 1
	fi
	openssl ca -config "$d/ca.cnf" -gencrl -out "$KZ_TMP/$name.crl.pem" >>"$d/log" 2>&1
}

# A fresh phone: the one before leaves first, and the APDU log starts anew
# (kz_apdu_at counts from the phone's first APDU, as --leave-at does).
kz_fresh_phone() {
	if [ -n "$KZ_PHONE_PID" ]; then
		kz_stop_phone
	fi
	rm -f "$apdu_log"
	kz_start_phone --pki "$KZ_PKI" --log "$apdu_log" "$@" || kz_bail "no phone"
}

# A phone that left on its own (--leave-at) is gone from the reader but
# its process may still run: end it the same way.
kz_phone_gone() {
	if [ -n "$KZ_PHONE_PID" ]; then
		kz_stop_phone
	fi
}
