#!/bin/bash
# A kiosk's day (issue 13, part 1): pcscd restarts, and the reader goes
# away and comes back, while a phone stays in the field and one
# relying-party process (kz-kiosk) stays alive with the module loaded.
# The real pcscd + vpcd in this test's own namespaces; the phone is the
# reader's first card since pcscd started, as after a boot.
#
# Asserted: while pcscd is away every call returns at once with a clean
# answer and the slot list keeps its ids; once it is back the token
# returns by itself within about two seconds, with at most one clean error
# on the way; the same process logs in and signs; the session kept from
# before is cleanly invalid; and the phone never saw a VERIFY the relying
# party did not ask for.
. "${srcdir:-.}/tests/integration/pcscd-env.sh"
. "$srcdir/tests/integration/tap.sh"

module=${KZ_MODULE:-$top_builddir/src/.libs/kazashi-pkcs11.so}
kiosk=$top_builddir/tests/flow/kz-kiosk
[ -r "$module" ] || kz_bail "no module at $module"
[ -x "$kiosk" ] || kz_bail "no kz-kiosk at $kiosk"
kz_start_pcscd || kz_bail "pcscd did not start"
kz_make_pki || kz_bail "no test PKI"
cd "$KZ_TMP" || kz_bail "no temp dir"

# Clean answers while the token is gone (PKCS#11 2.40, 5.1): OK, device
# removed, token not present, session handle invalid, session closed, no
# event.
clean="0x0 0x32 0xe0 0xb3 0xb0 0x8"
# What a first operation after the restart may meet, at most once.
recovery="0x32 0xb3 0xe0"
all_in() { # all_in "ALLOWED" VALUES...
	local v
	for v in "${@:2}"; do
		case " $1 " in *" $v "*) ;; *) return 1 ;; esac
	done
}
verifies_sent() { jq -r 'select(.ins == "20") | .cmd' apdu.jsonl | awk 'length($0) > 8' | wc -l; }

# The phone stays in the field: when pcscd (and with it vpcd) goes, it
# reconnects as soon as vpcd listens again, as a phone kept on a reader
# is powered up again by the restarted pcscd.
kz_start_phone --persona android --pki "$KZ_PKI" --taps 0 --tap-gap-ms 100 --log apdu.jsonl

coproc KIOSK { "$kiosk" --module "$module" 2>kiosk.err; }
KZ_PIDS+=("$KIOSK_PID")
read -r -t 40 -u "${KIOSK[0]}" init || kz_bail "kz-kiosk did not start: $(tail -n 5 kiosk.err)"
kz_is "C_GetSlotInfo(0) right after C_Initialize ($(jq -r .description <<<"$init"))" 0x0 \
	"$(jq -r .slot0 <<<"$init")"
# ask CMD: one command to the relying party, its JSON answer on stdout.
ask() {
	local line
	echo "$1" >&"${KIOSK[1]}"
	read -r -t 40 -u "${KIOSK[0]}" line || kz_bail "kz-kiosk did not answer '$1': $(tail -n 5 kiosk.err)"
	echo "$line" | tee -a kiosk.out
}

# check_probe WHAT: pcscd (or the reader) away: every call returns at once
# and cleanly, no token, the slots keep their ids.
check_probe() {
	local out
	out=$(ask probe)
	kz_ok "$1: every call returns cleanly ($(jq -c .calls <<<"$out"))" \
		all_in "$clean" $(jq -r '.calls[]' <<<"$out")
	kz_ok "$1: every call returns within a second ($(jq .max_ms <<<"$out") ms)" \
		test "$(jq '.max_ms < 1000' <<<"$out")" = true
	kz_is "$1: no token present" 0 "$(jq .present <<<"$out")"
	kz_is "$1: the slot list keeps its slots (two readers, two each)" 4 "$(jq .slots <<<"$out")"
	kz_is "$1: the kept session cannot sign" true \
		"$(jq '.calls["C_Sign(held)"] != "0x0"' <<<"$out")"
}

# check_back WHAT: the token is back by itself; the same process signs.
check_back() {
	local out
	out=$(ask tap)
	kz_is "$1: the same process logs in and signs again" true "$(jq .ok <<<"$out")"
	kz_ok "$1: back and signed within 2.5 s ($(jq .ms <<<"$out") ms)" \
		test "$(jq '.ms < 2500' <<<"$out")" = true
	kz_ok "$1: at most one error on the way ($(jq -c .errors <<<"$out"))" \
		test "$(jq .failures <<<"$out")" -le 1
	kz_ok "$1: and a clean one" \
		all_in "$recovery" $(jq -r '.errors[] | sub(".*:"; "")' <<<"$out")
	out=$(ask old)
	kz_ok "$1: the session from before is cleanly gone ($(jq -r .rv <<<"$out"))" \
		all_in "0x32 0xb3 0xb0 0xe0" "$(jq -r .rv <<<"$out")"
	kz_ok "$1: no VERIFY the relying party did not ask for ($(verifies_sent) sent, $(jq .logins <<<"$out") C_Login)" \
		test "$(verifies_sent)" -le "$(jq .logins <<<"$out")"
}

# --- the first tap since pcscd started ----------------------------------------
out=$(ask tap)
kz_is "first tap: logged in and signed" true "$(jq .ok <<<"$out")"
kz_is "first tap: no error" 0 "$(jq .failures <<<"$out")"
kz_is "first tap: one VERIFY" 1 "$(verifies_sent)"

# --- pcscd restarts, the phone left in the field ------------------------------
# The relying party calls nothing until the phone is back: the restarted
# pcscd then shows the same card present, with its per-reader event
# counter at the same value as before the restart.
kz_stop_pcscd
kz_start_pcscd
kz_wait_card yes
sleep 0.5
check_back "pcscd restarted"

# --- again, the first call after the restart on the kept session: it meets
# the dead card handle first, and that must not hide the phone either.
kz_stop_pcscd
kz_start_pcscd
kz_wait_card yes
sleep 0.5
out=$(ask held)
kz_ok "kept session after a restart: a clean error ($(jq -r .rv <<<"$out"))" \
	all_in "0x32 0xb3 0xb0 0xe0" "$(jq -r .rv <<<"$out")"
check_back "pcscd restarted, kept session first"

# --- again, with calls while pcscd is away and as soon as it is back ----------
kz_stop_pcscd
check_probe "pcscd stopped"
kz_start_pcscd
check_back "pcscd restarted again"

# --- the reader goes away (pcscd comes back without it) and returns ----------
: >no-readers.conf
kz_stop_pcscd
kz_start_pcscd -c "$KZ_TMP/no-readers.conf"
sleep 0.3
check_probe "reader gone"
kz_stop_pcscd
kz_start_pcscd
kz_wait_card yes
sleep 0.5
check_back "reader back"

out=$(ask logout)
kz_is "logout" 0x0 "$(jq -r .rv <<<"$out")"
out=$(ask quit)
kz_is "C_Finalize at the end" 0x0 "$(jq -r .finalize <<<"$out")"

kz_done
