#!/bin/bash
# A phone that stops answering in the middle of a signature, without
# leaving the field (vpcd keeps the card present and never times out),
# must hold nothing of another reader. kz-readers --stall 0: the thread
# of reader 0 starts its signature and the phone there freezes on the
# COMPUTE DIGITAL SIGNATURE; meanwhile reader 1 signs three times, the
# main thread lists the slots, looks for a slot event (CKF_DONT_BLOCK) and
# asks reader 1's slot and token info, then C_Finalize. Any of these held longer than kz-readers' deadline (a
# generous 20 s, only a failure detector) is reported as a hang.
set -u
. "${srcdir:-.}/tests/integration/pcscd-env.sh"
. "$srcdir/tests/integration/tap.sh"

module=${KZ_MODULE:-$top_builddir/src/.libs/kazashi-pkcs11.so}
readers_bin=$top_builddir/tests/flow/kz-readers

kz_start_pcscd_readers 2
kz_make_pki
kz_start_phone_on 0 --pki "$KZ_PKI" --freeze-ins 2A
frozen_log=$KZ_TMP/phone-$KZ_PHONE_N.log
kz_start_phone_on 1 --pki "$KZ_PKI"

out=$KZ_TMP/readers.out
"$readers_bin" --module "$module" --readers 2 --stall 0 --count 3 --deadline-ms 20000 \
	>"$out" 2>"$KZ_TMP/readers.err" &
wait $!
rc=$?

kz_ok "the phone in reader 0 froze in its signature" grep -q 'sim: frozen' "$frozen_log"
kz_is "no call was held by the frozen reader (no hang reported)" "" \
	"$(grep '"ev":"hang"' "$out")"
kz_is "kz-readers ended without an error" 0 "$rc"
kz_is "C_GetSlotList answered while reader 0 was frozen" 1 \
	"$(grep -c '"what":"C_GetSlotList".*"rv":"0x0"' "$out")"
kz_is "C_WaitForSlotEvent (CKF_DONT_BLOCK) answered" 1 \
	"$(grep -c '"what":"C_WaitForSlotEvent".*"rv":"0x\(0\|8\)"' "$out")"
kz_is "C_GetSlotInfo of reader 1 answered" 1 "$(grep -c '"what":"C_GetSlotInfo".*"rv":"0x0"' "$out")"
kz_is "C_GetTokenInfo of reader 1 answered" 1 "$(grep -c '"what":"C_GetTokenInfo".*"rv":"0x0"' "$out")"
kz_is "reader 1 signed 3 times, all verified" 3 \
	"$(grep -c '"ev":"sign","reader":1,.*"ok":true' "$out")"
# The order of events: reader 0's signature began before reader 1's, and
# had not ended when reader 1's last one did.
order=$(awk '/"ev":"begin","reader":0,/ { if (!b0) b0 = NR }
	/"ev":"begin","reader":1,/ { if (!b1) b1 = NR }
	/"ev":"sign","reader":1,/ { s1 = NR }
	/"ev":"sign","reader":0,/ { if (!s0) s0 = NR }
	END { print (b0 && b1 && b0 < b1 && s1 && (!s0 || s0 > s1)) ? "frozen-first" : "other" }' "$out")
kz_is "reader 1 signed while reader 0's signature hung" frozen-first "$order"
kz_is "C_Finalize returned (within the deadline) with CKR_OK" 1 \
	"$(grep -c '"ev":"finalize".*"rv":"0x0"' "$out")"

kz_done
