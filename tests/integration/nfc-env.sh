# nfc-env.sh: the libnfc path for one integration test: an emulated PN532 on
# a pseudo-terminal with the simulated phone in its field, the real libnfc
# driving it, and no pcscd anywhere the module could find one.
#
# Source it from a bash test script as the very first thing the script
# does (before any `set --`): it re-executes the script, with the script's
# own arguments, inside a private mount namespace.
#
#   #!/bin/bash
#   . "${srcdir:-.}/tests/integration/nfc-env.sh"
#   kz_make_pki                       # test PKI in "$KZ_PKI"
#   kz_start_phone SIM-ARGS...        # reader up, a phone in its field
#   pkcs11-tool --module ... -L       # the test itself
#   kz_stop_phone                     # the reader (and phone) go away
#
# Functions, besides test-env.sh's kz_bg and kz_make_pki (each fails the
# test, exit 99, with a message, if it cannot do what it says):
#   kz_start_phone ARGS    $KZ_PN532_SIM --pty-link $KZ_PN532 ARGS in the
#                          background (log $KZ_TMP/phone-N.log, pid
#                          $KZ_PHONE_PID); returns once the pty is there
#   kz_stop_phone          end that emulator: reader and phone are gone
#   kz_phone_leave         the phone leaves the field (SIGUSR1)
#   kz_phone_return        it comes back now (SIGUSR2), if taps remain
# Do not set an EXIT trap of your own: it would replace the cleanup.
#
# How the module finds the reader: $KZ_NFC_CONFIG
#   kazashi (default)  KAZASHI_CONF names it: nfc_device = $KZ_CONNSTRING
#   libnfc             LIBNFC_DEVICE=$KZ_CONNSTRING, kazashi's file names none
#                      (the module then asks libnfc's own configuration)
# Either way KAZASHI_CONF points at $KZ_TMP/kazashi.conf, so that no
# system-wide kazashi.conf changes what a test sees; PC/SC stays on (its
# default) and finds nothing, which is part of what is tested.
#
# What it does (test-env.sh): re-executes the calling script inside
# `unshare -m` with an empty tmpfs on /run/pcscd: whatever pcscd the host
# (or a parallel test) runs, this test's module cannot reach it.
# KZ_NFC_NS=1 marks "already inside". Then $KZ_TMP (logs, PKI, the pty
# link $KZ_PN532) and the cleanup at EXIT (see test-env.sh).
#
# Exit codes: 77 (skip) only when the namespace cannot be made at all; the
# reason is printed. Anything else that goes wrong is a hard error (99).
#
# Environment it reads: srcdir, top_builddir, KZ_PN532_SIM (default
# "$top_builddir/tests/sim/kazashi-pn532-sim"), KZ_NFC_CONFIG, KZ_KEEP_TMP.

if [ -z "${BASH_VERSION:-}" ]; then
	echo "nfc-env.sh: must be sourced from bash" >&2
	exit 99
fi
kz_env=nfc-env.sh kz_ns_flags=-m kz_ns_marker=KZ_NFC_NS kz_tmp_prefix=kazashi-nfc
# shellcheck source=tests/integration/test-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/test-env.sh"

: "${KZ_PN532_SIM:=$top_builddir/tests/sim/kazashi-pn532-sim}"
export KZ_PN532_SIM

KZ_PN532=$KZ_TMP/pn532
KZ_CONNSTRING=pn532_uart:$KZ_PN532
# The reader as the module names it (slot descriptions, kazashi list).
KZ_READER="libnfc $KZ_CONNSTRING"
export KZ_PN532 KZ_CONNSTRING KZ_READER

export KAZASHI_CONF=$KZ_TMP/kazashi.conf
case ${KZ_NFC_CONFIG:-kazashi} in
kazashi)
	echo "nfc_device = $KZ_CONNSTRING" >"$KAZASHI_CONF"
	unset LIBNFC_DEVICE LIBNFC_DEFAULT_DEVICE
	;;
libnfc)
	: >"$KAZASHI_CONF"
	export LIBNFC_DEVICE=$KZ_CONNSTRING
	;;
*) kz_die "KZ_NFC_CONFIG is kazashi or libnfc, not '$KZ_NFC_CONFIG'" ;;
esac

# ---- the libnfc helpers ---------------------------------------------------------

# kz_start_phone [ARGS...]: the emulated PN532 on a new pty, linked at
# $KZ_PN532, with the simulated phone (ARGS) in its field unless --absent.
kz_start_phone() {
	local i
	[ -x "$KZ_PN532_SIM" ] || kz_die "no PN532 emulator at $KZ_PN532_SIM (build it, or set KZ_PN532_SIM)"
	[ -z "$KZ_PHONE_PID" ] || kz_die "kz_start_phone: one is running already (pid $KZ_PHONE_PID)"
	rm -f "$KZ_PN532"
	KZ_PHONE_N=$((KZ_PHONE_N + 1))
	kz_bg "phone-$KZ_PHONE_N" "$KZ_PN532_SIM" --pty-link "$KZ_PN532" "$@"
	KZ_PHONE_PID=$KZ_BG_PID
	for ((i = 0; i < 100; i++)); do
		[ -L "$KZ_PN532" ] && return 0
		kill -0 "$KZ_PHONE_PID" 2>/dev/null ||
			kz_die "the emulator exited at start (see phone-$KZ_PHONE_N.log below)"
		sleep 0.05
	done
	kz_die "no pty at $KZ_PN532 5 s after starting the emulator"
}

# kz_stop_phone: the emulator ends; its pty and link go with it.
kz_stop_phone() {
	[ -n "$KZ_PHONE_PID" ] || kz_die "kz_stop_phone: no emulator running"
	kill "$KZ_PHONE_PID" 2>/dev/null || true
	wait "$KZ_PHONE_PID" 2>/dev/null || true
	KZ_PHONE_PID=
}
