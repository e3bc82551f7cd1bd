#!/bin/bash
# `kazashi list` and `kazashi wait`, the command's manners (--help for
# every subcommand, a sentence and an exit status for every misuse), and
# `auth` waiting for a tap that comes after it started.
. "${srcdir:-.}/tests/integration/kazashi-common.sh"

# --- manners ------------------------------------------------------------------
kz_tool help --help
kz_is "kazashi --help: exit status 0" 0 "$rc"
for c in list wait auth holder change-pin sign; do
	kz_tool "help-$c" "$c" --help
	kz_ok "kazashi $c --help: usage on stdout, exit 0" \
		bash -c "[ $rc = 0 ] && grep -q '^usage: kazashi .*$c' help-$c.out && grep -q 'Exit status' help-$c.out"
	kz_ok "kazashi --help lists $c" grep -q "^  $c " help.out
done
kz_tool nocmd bogus
kz_is "unknown command: exit status 1" 1 "$rc"
kz_ok "unknown command: a sentence" grep -q "no command 'bogus'" nocmd.err
kz_tool badopt list --timeout 3
kz_is "an option the command does not take: exit status 1" 1 "$rc"
kz_ok "... and the sentence names it" grep -q "list takes no --timeout option" badopt.err
kz_tool badtime wait --timeout soon
kz_is "a timeout that is not a number: exit status 1" 1 "$rc"
kz_tool badfd auth --ca "$KZ_PKI/authca.der" --pin-fd 77
kz_is "--pin-fd not open: exit status 1" 1 "$rc"
"$tool" --module "$KZ_TMP/no-such-module.so" list >nomod.out 2>nomod.err
kz_is "a module that cannot be loaded: exit status 8" 8 "$?"
kz_ok "... and the sentence names it" grep -q "cannot load the PKCS#11 module" nomod.err
KAZASHI_MODULE=$module "$tool" list >env.out 2>&1
kz_is "\$KAZASHI_MODULE chooses the module" 0 "$?"

# --- nothing tapped ---------------------------------------------------------------
kz_tool empty list
kz_is "list, no phone: exit status 0" 0 "$rc"
kz_ok "list, no phone: says so for the reader" grep -q "^$KZ_READER: no phone or card" empty.out
kz_tool emptyjson list --json
kz_is "list --json, no phone: present false" false \
	"$(jq -r --arg r "$KZ_READER" '.readers[] | select(.reader == $r) | .present' emptyjson.out)"
kz_tool waitnone wait --timeout 0.5 --json
kz_is "wait, nobody taps: exit status 7" 7 "$rc"
kz_is "wait --json, nobody taps: error" timeout "$(jq -r .error waitnone.out)"

# --- a tap while waiting -------------------------------------------------------------
"$tool" --module "$module" wait --timeout 30 >waited.out 2>waited.err &
waiter=$!
sleep 1
kz_fresh_phone --persona android
wait "$waiter"
kz_is "wait, then a tap: exit status 0" 0 "$?"
kz_is "wait says what arrived" "$KZ_READER: Android" "$(cat waited.out)"
kz_tool waitnow wait --timeout 1 --json
kz_is "wait, phone already there: at once" 0 "$rc"
kz_is "wait --json: holder" Android "$(jq -r .holder waitnow.out)"

kz_phone_gone
"$tool" --module "$module" auth --ca "$KZ_PKI/authca.der" --timeout 30 --pin-fd 3 \
	>authwait.out 2>authwait.err 3<<<1234 &
waiter=$!
sleep 1
kz_fresh_phone --persona android
wait "$waiter"
kz_is "auth started before the tap: exit status 0" 0 "$?"
kz_ok "auth started before the tap: it said it was waiting" grep -q "Waiting for a phone or card" authwait.err

# --- list with a phone: holder kind and tries, using none ----------------------------
before=$(kz_verifies)
kz_tool android list
kz_is "list, android: exit status 0" 0 "$rc"
kz_ok "list, android: holder kind" grep -q "^$KZ_READER: Android\$" android.out
kz_ok "list, android: PIN tries" grep -q "user-authentication PIN: *3 tries left" android.out
kz_ok "list, android: password tries" grep -q "signature password: *5 tries left" android.out
kz_tool androidjson list --json
kz_is "list --json: holder" Android "$(jq -r --arg r "$KZ_READER" '.readers[] | select(.reader == $r) | .holder' androidjson.out)"
kz_is "list --json: tries" "3 3 5 5" "$(jq -r --arg r "$KZ_READER" '.readers[] | select(.reader == $r) | "\(.auth.tries_left_min) \(.auth.tries_left_max) \(.sign.tries_left_min) \(.sign.tries_left_max)"' androidjson.out)"
kz_is "list uses no try" "$before" "$(kz_verifies)"

kz_tool wrongpin auth --ca "$KZ_PKI/authca.der" --pin-fd 3 3<<<9999
kz_tool wrongpass holder --pin-fd 3 3<<<XYZ999
kz_tool after list
kz_ok "list after a wrong PIN: 2 tries left" grep -q "user-authentication PIN: *2 tries left" after.out
kz_ok "list after a wrong password: a range" grep -q "signature password: *2 to 4 tries left" after.out
kz_tool wrongpin2 auth --ca "$KZ_PKI/authca.der" --pin-fd 3 3<<<9999
kz_tool wrongpin3 auth --ca "$KZ_PKI/authca.der" --pin-fd 3 3<<<9999
kz_tool blocked list --json
kz_is "list --json after three wrong PINs: blocked" true \
	"$(jq -r --arg r "$KZ_READER" '.readers[] | select(.reader == $r) | .auth.blocked' blocked.out)"

# --- other holders ------------------------------------------------------------------
kz_fresh_phone --persona card
kz_tool card list
kz_ok "list, card: My Number card" grep -q "^$KZ_READER: My Number card\$" card.out
kz_fresh_phone --persona iphone
kz_tool iphone list
kz_ok "list, iPhone: iPhone" grep -q "^$KZ_READER: iPhone\$" iphone.out
kz_phone_gone
kz_tool gone list
kz_ok "list after the phone left: nothing there" grep -q "^$KZ_READER: no phone or card" gone.out

kz_done
