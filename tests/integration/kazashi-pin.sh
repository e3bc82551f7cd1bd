#!/bin/bash
# `kazashi change-pin auth|sign`: values form-checked before anything is
# sent, the change made and usable, a wrong current value with its tries,
# lockout, and the phone leaving while the change is made.
. "${srcdir:-.}/tests/integration/kazashi-common.sh"
ca=(--ca "$KZ_PKI/authca.der")

kz_fresh_phone --persona android

# --- form checks: nothing is sent ------------------------------------------
before=$(kz_verifies)
kz_tool f1 change-pin auth --pin-fd 3 3< <(printf '1234\n567\n')
kz_is "new PIN of 3 digits: exit status 1" 1 "$rc"
kz_tool f2 change-pin auth --pin-fd 3 3< <(printf '12a4\n5678\n')
kz_is "current PIN with a letter: exit status 1" 1 "$rc"
kz_tool f3 change-pin sign --pin-fd 3 3< <(printf 'ABC123\nNEWPASS\n')
kz_is "new password without a digit: exit status 1" 1 "$rc"
kz_ok "new password without a digit: the sentence says why" grep -q "must mix letters and digits" f3.err
kz_tool f4 change-pin sign --pin-fd 3 3< <(printf 'ABC123\nA1\n')
kz_is "new password of 2: exit status 1" 1 "$rc"
kz_tool f5 change-pin sign --pin-fd 3 3< <(printf 'ABC123\n')
kz_is "no new value given: exit status 1" 1 "$rc"
kz_tool f6 change-pin both --pin-fd 3 3< <(printf '1234\n5678\n')
kz_is "neither auth nor sign: exit status 1" 1 "$rc"
kz_is "no VERIFY sent for any of these" "$before" "$(kz_verifies)"
kz_is "and no CHANGE REFERENCE DATA" "" "$(kz_apdu_at 24)"

# --- the user-authentication PIN -------------------------------------------
kz_tool auth change-pin auth --pin-fd 3 3< <(printf '1234\n5678\n')
kz_is "change the PIN: exit status 0" 0 "$rc"
kz_ok "change the PIN: said on stdout" grep -q "user-authentication PIN is changed" auth.out
kz_tool newpin auth "${ca[@]}" --pin-fd 3 3<<<5678
kz_is "the new PIN authenticates" 0 "$rc"
kz_tool oldpin auth "${ca[@]}" --pin-fd 3 3<<<1234
kz_is "the old PIN no longer does (exit status 2)" 2 "$rc"
kz_tool back change-pin auth --pin-fd 3 3< <(printf '5678\n1234\n')
kz_is "change it back: exit status 0" 0 "$rc"
kz_tool wrong change-pin auth --pin-fd 3 3< <(printf '9999\n4321\n')
kz_is "wrong current PIN: exit status 2" 2 "$rc"
kz_ok "wrong current PIN: tries left" grep -q "wrong user-authentication PIN: 2 tries left" wrong.err
kz_tool after auth "${ca[@]}" --pin-fd 3 3<<<1234
kz_is "the PIN is unchanged after a wrong current PIN" 0 "$rc"

# --- the signature password ---------------------------------------------------
kz_tool sign change-pin sign --pin-fd 3 3< <(printf 'abc123\nnewpass1\n')
kz_is "change the password (lower case typed): exit status 0" 0 "$rc"
kz_tool newpass holder --pin-fd 3 3<<<NEWPASS1
kz_is "the new password, upper-cased, opens the holder data" 0 "$rc"
kz_tool oldpass holder --pin-fd 3 3<<<ABC123
kz_is "the old password no longer does (exit status 2)" 2 "$rc"

# --- lockout ----------------------------------------------------------------------
kz_fresh_phone --persona android --auth-tries 1
kz_tool lock change-pin auth --pin-fd 3 3< <(printf '9999\n4321\n')
kz_is "wrong current PIN on the last try: exit status 3" 3 "$rc"
kz_ok "blocked: only the municipal office" grep -q "only the municipal office" lock.err
before=$(kz_verifies)
kz_tool locked change-pin auth --pin-fd 3 3< <(printf '1234\n4321\n')
kz_is "blocked: exit status 3 again" 3 "$rc"
kz_is "blocked: nothing sent" "$before" "$(kz_verifies)"

# --- the phone leaves while the change is made ----------------------------------
kz_fresh_phone --persona android
kz_tool probe change-pin auth --pin-fd 3 3< <(printf '1234\n4321\n')
n_change=$(kz_apdu_at 24)
kz_ok "found the CHANGE REFERENCE DATA (APDU ${n_change:-?})" test -n "$n_change"
kz_fresh_phone --persona android --leave-at "${n_change:-1}"
kz_tool removed change-pin auth --pin-fd 3 3< <(printf '1234\n4321\n')
kz_is "phone leaves during the change: exit status 6" 6 "$rc"
kz_ok "phone leaves: tap again" grep -q "left the reader while changing the PIN: tap it again" removed.err
kz_ok "phone leaves: says the change may or may not be made" grep -q "may or may not" removed.err
kz_phone_gone

kz_done
