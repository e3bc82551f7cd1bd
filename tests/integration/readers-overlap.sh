#!/bin/bash
# Two readers sign at the same time: a phone in each of two vpcd readers
# (answering after the modeled air + card time), one relying-party thread
# per reader (kz-readers: own session, login, signatures in a loop), with
# the OS's locking and with the application's mutex callbacks. Every
# signature must verify under the token's certificate, and the readers'
# signatures must overlap: at least one COMPUTE DIGITAL SIGNATURE reached
# one phone while the other phone was still working on one. That is read
# from the order of the phones' own arrival and answer times (--times),
# never from how long anything took: under one lock held across a card
# exchange a command reaches a phone only after the other phone answered.
set -u
. "${srcdir:-.}/tests/integration/pcscd-env.sh"
. "$srcdir/tests/integration/tap.sh"

module=${KZ_MODULE:-$top_builddir/src/.libs/kazashi-pkcs11.so}
readers_bin=$top_builddir/tests/flow/kz-readers

kz_start_pcscd_readers 2
kz_make_pki
kz_start_phone_on 0 --pki "$KZ_PKI" --realtime --times
log0=$KZ_TMP/phone-$KZ_PHONE_N.log
kz_start_phone_on 1 --pki "$KZ_PKI" --realtime --times
log1=$KZ_TMP/phone-$KZ_PHONE_N.log

# sign_times LOG FROM: the phone's COMPUTE DIGITAL SIGNATURE exchanges
# ("in out" times) from its FROM-th on.
sign_times() { awk '$2 == "apdu" && $5 == "2A" { print $7, $9 }' "$1" | tail -n +"$2"; }

# overlaps A B: pairs of exchanges, one from each file, where each came
# before the other was answered.
overlaps() {
	awk 'NR == FNR { a_in[NR] = $1; a_out[NR] = $2; n = NR; next }
		{ for (i = 1; i <= n; i++) if (a_in[i] < $2 && $1 < a_out[i]) c++ }
		END { print c + 0 }' "$1" "$2"
}

# Once with the OS's locking, once with the application's mutexes.
from=1
for mode in os mutexes; do
	out=$KZ_TMP/readers-$mode.out
	opt=()
	[ "$mode" = mutexes ] && opt=(--mutexes)
	"$readers_bin" --module "$module" --readers 2 --count 6 --deadline-ms 60000 "${opt[@]}" \
		>"$out" 2>"$KZ_TMP/readers-$mode.err" &
	wait $! # (as a separate command: a TERM from the harness still cleans up)
	rc=$?

	kz_is "$mode locking: kz-readers ended without a hang or an error" 0 "$rc"
	kz_is "$mode locking: both readers logged in" 2 "$(grep -c '"ev":"ready".*"ok":true' "$out")"
	kz_is "$mode locking: 12 signatures, all verified under the certificate" 12 \
		"$(grep -c '"ev":"sign".*"ok":true' "$out")"
	kz_is "$mode locking: no signature failed" 0 "$(grep -c '"ev":"sign".*"ok":false' "$out")"

	sign_times "$log0" "$from" >"$KZ_TMP/sign0"
	sign_times "$log1" "$from" >"$KZ_TMP/sign1"
	kz_is "$mode locking: the phone in reader 0 signed 6 times" 6 "$(wc -l <"$KZ_TMP/sign0")"
	kz_is "$mode locking: the phone in reader 1 signed 6 times" 6 "$(wc -l <"$KZ_TMP/sign1")"
	n=$(overlaps "$KZ_TMP/sign0" "$KZ_TMP/sign1")
	kz_ok "$mode locking: the readers signed at the same time ($n overlapping signatures)" \
		test "$n" -ge 1
	from=$((from + 6))
done

kz_done
