#!/bin/bash
# valgrind-flow.sh PERSONA: one relying party's flow through OpenSC's
# pkcs11-tool, the real pcscd + vpcd and a simulated phone of PERSONA (card
# or android), with every pkcs11-tool run under valgrind memcheck: slots,
# objects before and after login, a certificate read, a signature with
# each key, a wrong PIN, the phone leaving in the middle of a signature.
# Any invalid read or write, use of uninitialised memory or definite leak
# fails the run; what valgrind saw of the module's own code is kept in
# $KZ_TMP/vg-*.log and printed on failure.
#
# Not part of `make check` (a minute per persona): scripts/ci-sanitizers.sh
# runs it against a build without sanitizers (valgrind and AddressSanitizer
# do not mix). The module is found as the other integration tests find it.
persona=${1:?persona}
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"

module=${KZ_MODULE:-${top_builddir:-.}/src/.libs/kazashi-pkcs11.so}
[ -r "$module" ] || kz_bail "no module at $module"
command -v valgrind >/dev/null || kz_bail "valgrind is not installed"
auth=(--token-label "JPKI User Authentication" --login --pin 1234)
sign=(--token-label "JPKI Digital Signature" --login --pin ABC123)

kz_start_pcscd || kz_bail "pcscd did not start"
kz_make_pki || kz_bail "no test PKI"
kz_start_phone --persona "$persona" --pki "$KZ_PKI" || kz_bail "no phone"
cd "$KZ_TMP" || kz_bail "no temp dir"
head -c 100 /dev/urandom >data.bin

# vg NAME ARGS...: pkcs11-tool ARGS under memcheck; prints "clean", or
# how many of valgrind's reports go through the module. Reports about
# pkcs11-tool's or OpenSSL's own memory (pkcs11-tool leaks what it parses)
# are not the module's; a report counts when the module is on its stack.
# Leaks: definite ones only, as OpenSSL and p11-kit keep what they load
# until the process ends.
vg() {
	local name=$1
	shift
	valgrind --error-exitcode=101 --leak-check=full --show-leak-kinds=definite \
		--errors-for-leak-kinds=definite --track-origins=yes --num-callers=40 \
		--log-file="vg-$name.log" pkcs11-tool --module "$module" "$@" >"$name.out" 2>&1
	# One report: the lines between two "==PID== " blank lines; it is the
	# module's when a frame of its stack is (C_*, kz_*, jpki_*, or the
	# library itself without symbols).
	local ours
	ours=$(awk -v mod="$(basename "$module")" '
		function done() { if (block) n++; block = 0 }
		/^==[0-9]+== $/ { done(); next }
		/ (at|by) 0x[0-9A-F]+: / && ($0 ~ /: (C_|kz_|jpki_)/ || index($0, "(in ") && index($0, mod)) { block = 1 }
		END { done(); print n + 0 }' "vg-$name.log")
	if [ "$ours" -eq 0 ]; then
		echo clean
	else
		echo "$ours report(s) through the module (vg-$name.log)"
		sed 's/^/# /' "vg-$name.log" | grep -v '^# ==[0-9]*== *$' | head -n 80
	fi
}

kz_is "list slots" clean "$(vg list -L)"
kz_ok "list: both tokens" grep -q "JPKI Digital Signature" list.out
kz_is "objects before login" clean "$(vg public --token-label "JPKI User Authentication" -O)"
kz_is "auth: objects after login" clean "$(vg auth-objects "${auth[@]}" -O)"
kz_ok "auth: private key listed" grep -q "Private Key Object" auth-objects.out
kz_is "auth: read the certificate" clean \
	"$(vg auth-cert "${auth[@]}" --read-object --type cert --id 01 -o auth.der)"
kz_ok "auth: the phone's certificate" cmp auth.der "$KZ_PKI/auth.der"
kz_is "auth: sign" clean "$(vg auth-sign "${auth[@]}" --sign --id 01 -m SHA256-RSA-PKCS \
	-i data.bin -o auth.sig)"
kz_ok "auth: signature made" test -s auth.sig
kz_is "sign: sign (context login)" clean "$(vg sign-sign "${sign[@]}" --sign --id 02 \
	-m SHA256-RSA-PKCS -i data.bin -o sign.sig)"
kz_ok "sign: signature made" test -s sign.sig
kz_is "a wrong PIN" clean "$(vg wrong --token-label "JPKI User Authentication" --login \
	--pin 9999 -O)"
kz_ok "wrong PIN refused" grep -q CKR_PIN_INCORRECT wrong.out

# The phone leaves at the signature: the module drops the token while
# pkcs11-tool still holds a session.
kz_stop_phone
kz_start_phone --persona "$persona" --pki "$KZ_PKI" --leave-at 9 || kz_bail "no phone"
kz_is "the phone leaves during a call" clean "$(vg leave "${auth[@]}" --sign --id 01 \
	-m SHA256-RSA-PKCS -i data.bin -o leave.sig)"
kz_done
