#!/bin/bash
# PINs never leave the module in the clear, with the real module behind the
# real pcscd: a simulated Android phone with distinctive PINs (4826 and
# QZ7X9K2M, so that no accidental match is possible), the most verbose
# logging and the APDU trace into a file (KAZASHI_CONF), and KAZASHI_DEBUG=1
# to stderr; pkcs11-tool logs in (right, wrong, malformed, lower-case PINs),
# signs with both keys and changes both PINs and back. Then the PINs must
# appear, as text or as the hex the trace prints, in no file the process
# opened for writing (strace lists them: the log, pkcs11-tool's outputs,
# anything else) and not on its stderr; and its home, temporary and
# working directory hold only what pkcs11-tool was told to write.
# The in-process twin of this test is tests/unit/test-p11-secrets.c.
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"

module=${KZ_MODULE:-${top_builddir:-.}/src/.libs/kazashi-pkcs11.so}
[ -r "$module" ] || kz_bail "no module at $module"
command -v strace >/dev/null || kz_bail "strace is not installed (scripts/deps.sh)"
auth_pin=4826
sign_pin=QZ7X9K2M
# Everything typed: right, wrong, malformed, lower-cased and new PINs.
secrets=("$auth_pin" "$sign_pin" qz7x9k2m 7391 48A6 5173 W4R8T2KJ)

kz_start_pcscd || kz_bail "pcscd did not start"
kz_make_pki || kz_bail "no test PKI"
kz_start_phone --persona android --pki "$KZ_PKI" --auth-pin "$auth_pin" \
	--sign-pin "$sign_pin" || kz_bail "no phone"

world=$KZ_TMP/world # cwd, $HOME and $TMPDIR of pkcs11-tool
mkdir -p "$world" "$KZ_TMP/out"
cat >"$KZ_TMP/kazashi.conf" <<EOF
log_level = debug
apdu_trace = yes
log_file = $KZ_TMP/out/kazashi.log
certificate_cache = no
EOF
head -c 64 /dev/urandom >"$KZ_TMP/out/data.bin"

# p11 NAME ARGS...: pkcs11-tool in its world, under strace; the files it
# opened for writing are appended to $KZ_TMP/written. Output in out/NAME.
n=0
p11() {
	local name=$1
	shift
	n=$((n + 1))
	(cd "$world" && HOME=$world TMPDIR=$world KAZASHI_CONF=$KZ_TMP/kazashi.conf \
		strace -f -qq -o "$KZ_TMP/strace.$n" -e trace=open,openat,creat \
		pkcs11-tool --module "$module" "$@" >"$KZ_TMP/out/$name" 2>&1)
	# openat(AT_FDCWD, "path", O_WRONLY|O_CREAT|..., 0600) = 3
	grep -E 'O_(WRONLY|RDWR)|creat\(' "$KZ_TMP/strace.$n" | grep -v '= -1 ' |
		sed -n 's/^[0-9]* *[a-z]*([^"]*"\([^"]*\)".*/\1/p' >>"$KZ_TMP/written"
}

auth=(--token-label "JPKI User Authentication")
sign=(--token-label "JPKI Digital Signature")
p11 malformed "${auth[@]}" --login --pin 48A6 -O
p11 wrong "${auth[@]}" --login --pin 7391 -O
p11 auth-sign "${auth[@]}" --login --pin "$auth_pin" --sign --id 01 -m SHA256-RSA-PKCS \
	-i "$KZ_TMP/out/data.bin" -o "$KZ_TMP/out/auth.sig"
p11 sign-sign "${sign[@]}" --login --pin qz7x9k2m --sign --id 02 -m SHA256-RSA-PKCS \
	-i "$KZ_TMP/out/data.bin" -o "$KZ_TMP/out/sign.sig"
p11 auth-change "${auth[@]}" --login --pin "$auth_pin" --change-pin --new-pin 5173
p11 auth-back "${auth[@]}" --login --pin 5173 --change-pin --new-pin "$auth_pin"
p11 sign-change "${sign[@]}" --login --pin "$sign_pin" --change-pin --new-pin W4R8T2KJ
p11 sign-back "${sign[@]}" --login --pin W4R8T2KJ --change-pin --new-pin "$sign_pin"
KAZASHI_DEBUG=1 p11 debug "${auth[@]}" --login --pin "$auth_pin" -O

# The flow did what it says, so that the searches below mean something.
kz_ok "malformed PIN refused before sending" grep -q CKR_PIN_INVALID "$KZ_TMP/out/malformed"
kz_ok "wrong PIN refused" grep -q CKR_PIN_INCORRECT "$KZ_TMP/out/wrong"
kz_ok "auth: signed" test -s "$KZ_TMP/out/auth.sig"
kz_ok "sign: signed with a lower-case password" test -s "$KZ_TMP/out/sign.sig"
kz_ok "auth: PIN changed and back" grep -qi "PIN successfully changed" "$KZ_TMP/out/auth-back"
kz_ok "sign: password changed and back" grep -qi "PIN successfully changed" "$KZ_TMP/out/sign-back"
log=$KZ_TMP/out/kazashi.log
kz_ok "the log holds the APDU trace" grep -q "apdu > 00 A4 04 0C" "$log"
kz_ok "VERIFY traced with its PIN as asterisks" grep -q "apdu > 00 20 00 80 04 \*\* \*\* \*\* \*\*" "$log"
kz_ok "CHANGE traced with its PIN as asterisks" grep -q "apdu > 00 24 01 80 08 \*\*" "$log"
kz_ok "KAZASHI_DEBUG traced to stderr" grep -q "apdu > 00 20 00 80 04 \*\*" "$KZ_TMP/out/debug"
kz_ok "the module wrote its log file" grep -qx "$log" "$KZ_TMP/written"

# found FILE: the secrets (as text, and as hex the way the trace prints
# it, or packed) that FILE holds, by index. The "kazashi[PID]:" prefix of
# log lines is left out: a process id is not a PIN.
hex() { printf %s "$1" | od -An -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }
found() {
	local i s h text
	text=$(sed 's/^kazashi\[[0-9]*\]//' "$1" | tr -d '\0')
	for i in "${!secrets[@]}"; do
		s=${secrets[i]}
		h=$(hex "$s")
		if grep -qiF -e "$s" -e "$h" -e "${h// /}" <<<"$text"; then
			printf '%s ' "$i"
		fi
	done
}

written=$(sort -u "$KZ_TMP/written" | grep -v '^/dev/')
for f in $written; do
	[ -f "$f" ] || continue
	kz_is "no PIN in $(basename "$f"), written by the process" "" "$(found "$f")"
done
for f in "$KZ_TMP"/out/*; do
	kz_is "no PIN in pkcs11-tool's output $(basename "$f")" "" "$(found "$f")"
done
kz_is "nothing left in HOME, TMPDIR or the working directory" "" "$(ls -A "$world")"
kz_done
