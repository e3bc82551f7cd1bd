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
# Functions (each fails the test, exit 99, with a message, if it cannot do
# what it says):
#   kz_make_pki            tests/sim/make-pki.sh into $KZ_PKI, once per test
#   kz_start_phone ARGS    $KZ_PN532_SIM --pty-link $KZ_PN532 ARGS in the
#                          background (log $KZ_TMP/phone-N.log, pid
#                          $KZ_PHONE_PID); returns once the pty is there
#   kz_stop_phone          end that emulator: reader and phone are gone
#   kz_phone_leave         the phone leaves the field (SIGUSR1)
#   kz_phone_return        it comes back now (SIGUSR2), if taps remain
#   kz_bg NAME CMD ARGS    any other background process, log $KZ_TMP/NAME.log,
#                          killed at exit (pid $KZ_BG_PID)
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
# What it does:
#  - Re-executes the calling script inside `unshare -m` with an empty tmpfs
#    on /run/pcscd: whatever pcscd the host (or a parallel test) runs, this
#    test's module cannot reach it. KZ_NFC_NS=1 marks "already inside".
#  - Makes $KZ_TMP (logs, PKI, the pty link $KZ_PN532); on EXIT kills every
#    process it started, prints the tail of every log if the test failed,
#    removes $KZ_TMP (kept if KZ_KEEP_TMP=1).
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

kz_die() {
	echo "nfc-env.sh: $*" >&2
	exit 99
}

# ---- 1. a mount namespace where pcscd is nowhere -------------------------------
if [ "${KZ_NFC_NS:-}" != 1 ]; then
	if ! command -v unshare >/dev/null 2>&1; then
		echo "nfc-env.sh: SKIP: unshare(1) is not installed" >&2
		exit 77
	fi
	if ! kz_err=$(unshare -m true 2>&1); then
		echo "nfc-env.sh: SKIP: cannot create a mount namespace: $kz_err" >&2
		exit 77
	fi
	export KZ_NFC_NS=1
	# shellcheck disable=SC2093 # the line after only runs if exec fails
	exec unshare -m -- "$BASH" "$0" "$@"
	kz_die "exec unshare failed"
fi
if [ "${KZ_NFC_NS_READY:-}" != 1 ]; then
	mkdir -p /run/pcscd || kz_die "cannot create /run/pcscd"
	mount -t tmpfs -o mode=0755 tmpfs /run/pcscd || kz_die "cannot mount a tmpfs on /run/pcscd"
	export KZ_NFC_NS_READY=1
fi

# ---- 2. per-test state ----------------------------------------------------------
if [ -z "${srcdir:-}" ]; then
	srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || kz_die "cannot find srcdir"
fi
: "${top_builddir:=.}"
: "${KZ_PN532_SIM:=$top_builddir/tests/sim/kazashi-pn532-sim}"
export srcdir top_builddir KZ_PN532_SIM

KZ_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kazashi-nfc.XXXXXX") || kz_die "cannot make a temporary directory"
KZ_PKI=$KZ_TMP/pki
KZ_PN532=$KZ_TMP/pn532
KZ_CONNSTRING=pn532_uart:$KZ_PN532
# The reader as the module names it (slot descriptions, kazashi list).
KZ_READER="libnfc $KZ_CONNSTRING"
export KZ_TMP KZ_PKI KZ_PN532 KZ_CONNSTRING KZ_READER

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

KZ_PIDS=()
KZ_PHONE_PID=
KZ_PHONE_N=0

kz_cleanup() {
	local rc=$? pid i f
	set +e
	trap - EXIT INT TERM HUP
	for ((i = ${#KZ_PIDS[@]} - 1; i >= 0; i--)); do
		kill "${KZ_PIDS[i]}" 2>/dev/null
	done
	for pid in "${KZ_PIDS[@]}"; do
		for ((i = 0; i < 20; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$KZ_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $(basename "$f") (last 40 lines) ----" >&2
			tail -n 40 "$f" >&2
		done
	fi
	if [ "${KZ_KEEP_TMP:-}" = 1 ]; then
		echo "nfc-env.sh: kept $KZ_TMP" >&2
	else
		rm -rf "$KZ_TMP"
	fi
	exit "$rc"
}
trap kz_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- 3. helpers for the tests -----------------------------------------------------

kz_bg() {
	local name=$1
	shift
	"$@" >>"$KZ_TMP/$name.log" 2>&1 </dev/null &
	KZ_BG_PID=$!
	KZ_PIDS+=("$KZ_BG_PID")
}

kz_make_pki() {
	[ -f "$KZ_PKI/sign.der" ] && return 0
	sh "$srcdir/tests/sim/make-pki.sh" "$KZ_PKI" >"$KZ_TMP/make-pki.log" 2>&1 ||
		kz_die "make-pki.sh failed: $(tail -n 5 "$KZ_TMP/make-pki.log")"
}

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

kz_phone_leave() {
	kill -USR1 "$KZ_PHONE_PID" || kz_die "kz_phone_leave: the emulator is gone"
}

kz_phone_return() {
	kill -USR2 "$KZ_PHONE_PID" || kz_die "kz_phone_return: the emulator is gone"
}
