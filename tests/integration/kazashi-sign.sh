#!/bin/bash
# `kazashi sign`: detached CMS signatures with either key that
# `openssl cms -verify` accepts (DER and PEM, to a file and to stdout), that
# fail to verify over other content, and every failure with its exit status
# and no signature file left behind. The output appears whole or not at
# all: a failed or interrupted sign leaves an existing file as it was and
# no temporary file; a symbolic link at -o is replaced, its target kept; a
# FIFO at -o is written into, not replaced.
. "${srcdir:-.}/tests/integration/kazashi-common.sh"
for ca in authca signca; do
	openssl x509 -inform DER -in "$KZ_PKI/$ca.der" -out "$ca.pem" || kz_bail "no $ca.pem"
done
head -c 20000 /dev/urandom >doc.bin
cp doc.bin other.bin && printf x >>other.bin
verify() { # verify SIG FORM CA CONTENT
	openssl cms -verify -binary -inform "$2" -in "$1" -content "$4" -CAfile "$3.pem" -out /dev/null
}

kz_fresh_phone --persona android

# --- the signature key (always-authenticate: the password again per signature) ---
kz_tool sign sign --key sign --pin-fd 3 doc.bin 3<<<ABC123
kz_is "--key sign: exit status 0" 0 "$rc"
kz_is "--key sign: the file written is named on stdout" "doc.bin.p7s" "$(cat sign.out)"
kz_ok "--key sign: openssl cms -verify accepts it" verify doc.bin.p7s DER signca doc.bin
kz_ok "--key sign: it does not verify over other content" bash -c "! openssl cms -verify -binary -inform DER -in doc.bin.p7s -content other.bin -CAfile signca.pem -out /dev/null"
kz_ok "--key sign: it does not verify under the other CA" bash -c "! openssl cms -verify -binary -inform DER -in doc.bin.p7s -content doc.bin -CAfile authca.pem -out /dev/null"
openssl cms -cmsout -print -inform DER -in doc.bin.p7s >print.txt 2>&1
kz_ok "--key sign: detached (no content inside)" grep -q "eContent: <ABSENT>" print.txt
kz_ok "--key sign: signed attributes carry the digest" grep -q "messageDigest" print.txt
openssl cms -verify -binary -inform DER -in doc.bin.p7s -content doc.bin -CAfile signca.pem \
	-signer signer.pem -out /dev/null 2>/dev/null
kz_is "--key sign: the signer is the signature certificate" \
	"$(openssl x509 -inform DER -in "$KZ_PKI/sign.der" -noout -fingerprint)" \
	"$(openssl x509 -in signer.pem -noout -fingerprint 2>&1)"

# --- the user-authentication key, PEM, to stdout ---------------------------------
kz_tool auth sign --key auth --pem -o auth.p7s.pem --pin-fd 3 doc.bin 3<<<1234
kz_is "--key auth --pem: exit status 0" 0 "$rc"
kz_ok "--key auth --pem: PEM" grep -q -- "-----BEGIN CMS-----" auth.p7s.pem
kz_ok "--key auth: openssl cms -verify accepts it" verify auth.p7s.pem PEM authca doc.bin
kz_tool stdout sign --key auth -o - --pin-fd 3 doc.bin 3<<<1234
kz_is "-o -: exit status 0" 0 "$rc"
kz_ok "-o -: the DER signature is on stdout" verify stdout.out DER authca doc.bin

# --- the output file: replaced whole, only on success ------------------------------
no_temp() { ! ls -A | grep -q '^\.kazashi-'; }
printf 'the link target\n' >target.p7s
ln -s target.p7s link.p7s
kz_tool link sign --key auth -o link.p7s --pin-fd 3 doc.bin 3<<<1234
kz_is "-o SYMLINK: exit status 0" 0 "$rc"
kz_ok "-o SYMLINK: the link is replaced by the signature file" bash -c "test -f link.p7s && test ! -L link.p7s"
kz_ok "-o SYMLINK: the signature verifies" verify link.p7s DER authca doc.bin
kz_is "-o SYMLINK: the link's target is untouched" "the link target" "$(cat target.p7s)"
kz_ok "-o SYMLINK: no temporary file left" no_temp
umask_mode=$(printf '%o' $((0666 & ~$(umask))))
kz_is "a new signature file has the usual mode" "$umask_mode" "$(stat -c %a link.p7s)"

mkfifo out.fifo
cat out.fifo >fifo.der &
kz_tool fifo sign --key auth -o out.fifo --pin-fd 3 doc.bin 3<<<1234
wait $!
kz_is "-o FIFO: exit status 0" 0 "$rc"
kz_ok "-o FIFO: written into, not replaced" test -p out.fifo
kz_ok "-o FIFO: the reader got the signature" verify fifo.der DER authca doc.bin

# --- failures --------------------------------------------------------------------
before=$(kz_verifies)
kz_tool nokey sign --pin-fd 3 doc.bin 3<<<ABC123
kz_is "no --key: exit status 1" 1 "$rc"
kz_tool nofile sign --key sign --pin-fd 3 missing.bin 3<<<ABC123
kz_is "no such file: exit status 1" 1 "$rc"
kz_ok "no such file: the sentence names it" grep -q "cannot read missing.bin" nofile.err
kz_tool badout sign --key sign -o /nonexistent/dir/x.p7s --pin-fd 3 doc.bin 3<<<ABC123
kz_is "unwritable output: exit status 1" 1 "$rc"
kz_is "no VERIFY sent for any of these" "$before" "$(kz_verifies)"

rm -f doc.bin.p7s
kz_tool wrong sign --key sign --pin-fd 3 doc.bin 3<<<XYZ999
kz_is "wrong password: exit status 2" 2 "$rc"
kz_ok "wrong password: no signature file left" test ! -e doc.bin.p7s
kz_ok "wrong password: no temporary file left" no_temp

# An earlier signature survives a failed one, as a file and through a link.
printf 'an earlier signature\n' >keep.p7s
cp keep.p7s keep.orig
ln -s target.p7s keeplink.p7s
kz_tool keepwrong sign --key sign -o keep.p7s --pin-fd 3 doc.bin 3<<<XYZ999
kz_is "wrong password, existing -o FILE: exit status 2" 2 "$rc"
kz_ok "wrong password: the existing file is untouched" cmp -s keep.p7s keep.orig
kz_tool keepnofile sign --key sign -o keep.p7s --pin-fd 3 missing.bin 3<<<ABC123
kz_is "no such input, existing -o FILE: exit status 1" 1 "$rc"
kz_ok "no such input: the existing file is untouched" cmp -s keep.p7s keep.orig
kz_tool linkwrong sign --key sign -o keeplink.p7s --pin-fd 3 doc.bin 3<<<XYZ999
kz_is "wrong password, -o SYMLINK: exit status 2" 2 "$rc"
kz_ok "wrong password: the link is still a link" test -L keeplink.p7s
kz_is "wrong password: its target is untouched" "the link target" "$(cat target.p7s)"
kz_ok "failures with an existing file: no temporary file left" no_temp

kz_fresh_phone --persona android --auth-tries 1
kz_tool lock sign --key auth --pin-fd 3 doc.bin 3<<<9999
kz_is "wrong PIN on the last try: exit status 3" 3 "$rc"
kz_ok "lockout: no signature file left" test ! -e doc.bin.p7s

kz_fresh_phone --persona android
kz_tool probe sign --key sign --pin-fd 3 -o probe.p7s doc.bin 3<<<ABC123
n_sign=$(kz_apdu_at 2A)
kz_ok "found the signature's APDU (${n_sign:-?})" test -n "$n_sign"
kz_fresh_phone --persona android --leave-at "${n_sign:-1}"
kz_tool removed sign --key sign --pin-fd 3 doc.bin 3<<<ABC123
kz_is "phone leaves while signing: exit status 6" 6 "$rc"
kz_ok "phone leaves while signing: tap again" grep -q "left the reader while signing: tap it again" removed.err
kz_ok "phone leaves while signing: no signature file left" test ! -e doc.bin.p7s
kz_fresh_phone --persona android --leave-at "${n_sign:-1}"
kz_tool removedkeep sign --key sign -o keep.p7s --pin-fd 3 doc.bin 3<<<ABC123
kz_is "phone leaves while signing, existing -o FILE: exit status 6" 6 "$rc"
kz_ok "phone leaves while signing: the existing file is untouched" cmp -s keep.p7s keep.orig
kz_ok "phone leaves while signing: no temporary file left" no_temp
kz_phone_gone

# Interrupted while waiting for a tap (no phone): the temporary file goes
# with the command, the existing file stays.
"$tool" --module "$module" sign --key auth -o keep.p7s --pin-fd 3 doc.bin \
	3<<<1234 >term.out 2>term.err &
pid=$!
for _ in $(seq 50); do
	ls -A | grep -q '^\.kazashi-' && break
	sleep 0.1
done
kz_ok "waiting for a tap: the temporary file exists" bash -c "ls -A | grep -q '^\.kazashi-'"
kill -TERM "$pid"
wait "$pid"
kz_is "SIGTERM while waiting: killed by it" 143 "$?"
kz_ok "SIGTERM while waiting: the existing file is untouched" cmp -s keep.p7s keep.orig
kz_ok "SIGTERM while waiting: no temporary file left" no_temp

kz_fresh_phone --persona card
kz_tool card sign --key sign --pin-fd 3 doc.bin 3<<<ABC123
kz_is "card, --key sign: exit status 0" 0 "$rc"
kz_ok "card, --key sign: openssl cms -verify accepts it" verify doc.bin.p7s DER signca doc.bin

kz_done
