#!/bin/bash
# Slot events and threads against the real pcscd + vpcd, or with
# KZ_TRANSPORT=nfc through the real libnfc and an emulated PN532 with no
# pcscd (nfc-env.sh): C_WaitForSlotEvent reports a tap and a departure per
# slot while blocked, without spinning; C_Finalize releases a blocked
# waiter; signatures go on while a thread waits (over libnfc the back end
# polls the same device meanwhile). Then the reader's side goes away under
# a loaded module and comes back with the same slot ids: a pcscd restart,
# or over libnfc the reader unplugged and plugged in again.
. "${srcdir:-.}/tests/integration/transport-env.sh"

events=$top_builddir/tests/flow/kz-events
[ -x "$events" ] || kz_bail "no kz-events at $events"
phone=(--persona android --pki "$KZ_PKI")
field() { jq -r "$1" <<<"$2"; }

# What differs: how a phone comes and goes while a waiter blocks (vpcd's
# reader stays while the phone process comes and goes; the PN532 emulator
# is the reader, so the phone in its field leaves and returns by signal),
# and what goes away under a loaded module (pcscd; the reader).
if [ "$transport" = nfc ]; then
	before_wait() { kz_start_phone "${phone[@]}" --absent; }
	tap_in() { kz_phone_return; }
	tap_out() { kz_phone_leave; }
	after_wait() { kz_stop_phone; }
	gone="the reader went" back="the reader came back"
	restart() {
		kz_stop_phone
		kz_start_phone "${phone[@]}" --taps 0 --tap-gap-ms 200
		sleep 0.5
	}
else
	before_wait() { :; }
	tap_in() { kz_start_phone "${phone[@]}"; }
	tap_out() { kz_stop_phone; }
	after_wait() { :; }
	gone="the restart" back="the restart"
	restart() {
		kz_stop_pcscd
		kz_start_pcscd
	}
fi

# --- a tap and a departure, reported per slot, while blocked ---------------
before_wait
"$events" --module "$module" wait 4 >wait.out 2>wait.err &
waiter=$!
KZ_PIDS+=("$waiter")
sleep 1.5
tap_in
sleep 1.5
tap_out
for _ in $(seq 100); do kill -0 $waiter 2>/dev/null || break; sleep 0.1; done
kz_ok "waiter returned after four events" bash -c "! kill -0 $waiter 2>/dev/null"
kz_is "four events, all CKR_OK" "0x0 0x0 0x0 0x0" "$(jq -r 'select(.event != null) | .rv' wait.out | xargs)"
kz_is "the tap: both slots present" "true true" "$(jq -r 'select(.event != null) | .present' wait.out | head -n 2 | xargs)"
kz_is "the departure: both slots empty" "false false" "$(jq -r 'select(.event != null) | .present' wait.out | tail -n 2 | xargs)"
kz_is "the tap reported slots 0 and 1" "0 1" "$(jq -r 'select(.event != null) | .slot' wait.out | head -n 2 | sort | xargs)"
kz_is "CKF_DONT_BLOCK with nothing new: CKR_NO_EVENT" "0x8" "$(jq -r 'select(.dont_block) | .dont_block' wait.out)"
line=$(jq -c 'select(.cpu_ms)' wait.out)
kz_ok "waiting costs next to no CPU ($line)" \
	test "$(jq '(.cpu_ms < 0.1 * .wall_ms)' <<<"$line")" = true
after_wait

# --- C_Finalize from another thread releases a blocked waiter --------------
kz_start_phone "${phone[@]}"
out=$("$events" --module "$module" finalize 2>finalize.err)
kz_is "C_Finalize succeeds while a thread waits" "0x0" "$(field .finalize "$out")"
kz_is "the waiter gets CKR_CRYPTOKI_NOT_INITIALIZED" "0x190" "$(field .waiter "$out")"
kz_ok "the waiter is released within a second ($(field .released_ms "$out") ms)" \
	test "$(field .released_ms "$out")" -lt 1000

# --- signatures while another thread waits -------------------------------
out=$("$events" --module "$module" sign-while-waiting 5 2>sign.err)
kz_is "five signatures while a thread waits" 5 "$(field .ok "$out")"
kz_is "and the waiter released at the end" "0x190" "$(field .waiter "$out")"
kz_stop_phone

# --- pcscd or the reader goes away under a loaded module and comes back ----
kz_start_phone "${phone[@]}" --taps 0 --tap-gap-ms 200
mkfifo go
"$events" --module "$module" restart <go >restart.out 2>restart.err &
client=$!
KZ_PIDS+=("$client")
exec 3>go
for _ in $(seq 100); do [ -s restart.out ] && break; sleep 0.1; done
restart
echo go >&3
exec 3>&-
for _ in $(seq 200); do kill -0 $client 2>/dev/null || break; sleep 0.1; done
before=$(head -n 1 restart.out)
after=$(tail -n 1 restart.out)
kz_is "signature before $gone" "0x0" "$(field .sign "$before")"
kz_ok "the phone is back after $back" test "$(field '.after | length' "$after")" -gt 0
kz_is "same slot ids after $back" "$(field .before "$before" | jq -c .)" "$(field .after "$after" | jq -c .)"
kz_is "the slot list did not shrink" "$(field .slots "$before")" "$(field .slots "$after")"
kz_is "signature after $back" "0x0" "$(field .sign "$after")"

kz_done
