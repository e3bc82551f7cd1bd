# pcscd-env.sh: a private pcscd + vpcd + simulated phone for one integration test.
#
# Source it from a bash test script as the very first thing the script
# does (before any `set --`): it re-executes the script, with the script's
# own arguments, inside private namespaces.
#
#   #!/bin/bash
#   set -eu
#   . "${srcdir:-.}/tests/integration/pcscd-env.sh"
#   kz_start_pcscd                    # this test's pcscd; vpcd's readers appear
#   kz_make_pki                       # test PKI in "$KZ_PKI"
#   kz_start_phone SIM-ARGS...        # a phone is in the field of "$KZ_READER"
#   pkcs11-tool --module ... -L       # the test itself
#   kz_stop_phone                     # the phone leaves the field
#
# Functions, besides test-env.sh's kz_bg, kz_make_pki, kz_phone_leave and
# kz_phone_return (each fails the test, exit 99, with a message, if it
# cannot do what it says):
#   kz_start_pcscd [ARGS]  pcscd -f -a [ARGS] (e.g. `-c EMPTY-FILE` for a
#                          pcscd with no reader); log $KZ_TMP/pcscd.log;
#                          returns once its socket exists (at most 5 s)
#   kz_stop_pcscd          stop it (to test a module that outlives pcscd)
#   kz_start_phone ARGS    $KZ_PHONE_SIM --port 35963 ARGS in the background
#                          (log $KZ_TMP/phone-N.log, pid $KZ_PHONE_PID);
#                          returns once pcscd sees a card in $KZ_READER
#                          (at most 10 s)
#   kz_stop_phone          kill that phone; returns once the card is gone
#   kz_wait_card yes|no [SECONDS] [READER]   until a card is / is not there
#   kz_card_state READER   prints Yes, No, or nothing (no such reader)
# Do not set an EXIT trap of your own: it would replace the cleanup.
#
# What it does (test-env.sh): re-executes the calling script inside
# `unshare -mn` (new mount and network namespaces) with a tmpfs on
# /run/pcscd and its own loopback. pcscd insists on one instance per
# /run/pcscd/pcscd.pid and vpcd listens on fixed TCP ports 35963/35964, so
# without this two tests running at once (make -j check) would fight over
# both. Inside, the test talks to its own pcscd only; the host's pcscd, if
# any, is untouched. KZ_PCSCD_NS=1 in the environment marks "already
# inside". Then $KZ_TMP, and the cleanup at EXIT (see test-env.sh).
#
# Exit codes: 77 (skip) only when namespaces cannot be created at all (not
# root, no unshare); the reason is printed. Anything else that goes wrong is
# a hard error (99): a test must never pass by skipping silently.
#
# Environment it reads:
#   srcdir        source tree (default: found from this file's location)
#   top_builddir  build tree (default: ".")
#   KZ_PHONE_SIM  the simulated phone (default:
#                 "$top_builddir/tests/sim/kazashi-phone-sim")
#   KZ_PCSCD      the pcscd binary (default: pcscd from PATH, then /usr/sbin)
#   KZ_KEEP_TMP   1 = keep $KZ_TMP after the test, for post-mortems

# Bash only: arrays, $BASH_SOURCE, (( )) loops.
if [ -z "${BASH_VERSION:-}" ]; then
	echo "pcscd-env.sh: must be sourced from bash" >&2
	exit 99
fi
kz_env=pcscd-env.sh kz_ns_flags=-mn kz_ns_marker=KZ_PCSCD_NS kz_tmp_prefix=kazashi-test
# shellcheck source=tests/integration/test-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/test-env.sh"

: "${KZ_PHONE_SIM:=$top_builddir/tests/sim/kazashi-phone-sim}"
case $KZ_PHONE_SIM in
/*) ;;
*) KZ_PHONE_SIM=$PWD/$KZ_PHONE_SIM ;;
esac
export KZ_PHONE_SIM

KZ_PCSCD_PID=

# The vpcd reader the phone's port 35963 feeds (35964 feeds "... 00 01").
KZ_READER="Virtual PCD 00 00"
export KZ_READER

# ---- the PC/SC helpers --------------------------------------------------

# kz_card_state READER: prints Yes or No (card in READER), or nothing if the
# reader is not listed. opensc-tool only lists: it does not connect, so it
# does not disturb a phone that counts APDUs. Its lines read
# "0    Yes             Virtual PCD 00 00" (number, card, features, name).
kz_card_state() {
	{ opensc-tool -l 2>/dev/null || true; } | awk -v r="$1" '
		$1 ~ /^[0-9]+$/ && length($0) >= length(r) &&
		substr($0, length($0) - length(r) + 1) == r { print $2; exit }'
}

# kz_wait_card yes|no [SECONDS] [READER]: until a card is (or is not) in
# READER (default $KZ_READER), at most SECONDS (default 10). Fails the test
# (exit 99) on timeout.
kz_wait_card() {
	local want=$1 secs=${2:-10} reader=${3:-$KZ_READER} i state
	case $want in
	yes) want=Yes ;;
	no) want=No ;;
	*) kz_die "kz_wait_card: want yes or no, not '$want'" ;;
	esac
	for ((i = 0; i < secs * 10; i++)); do
		state=$(kz_card_state "$reader")
		[ "$state" = "$want" ] && return 0
		sleep 0.1
	done
	kz_die "card in '$reader' still not '$want' after ${secs}s (last: '${state:-no reader}')"
}

# kz_start_pcscd [EXTRA-ARGS...]: start this test's pcscd in the foreground
# (-f) with APDU logging (-a) into $KZ_TMP/pcscd.log, and wait (at most 5 s)
# for its socket.
kz_start_pcscd() {
	local pcscd=${KZ_PCSCD:-} i
	[ -z "$KZ_PCSCD_PID" ] || kz_die "kz_start_pcscd: already running (pid $KZ_PCSCD_PID)"
	if [ -z "$pcscd" ]; then
		pcscd=$(command -v pcscd || true)
		[ -n "$pcscd" ] || pcscd=/usr/sbin/pcscd
	fi
	[ -x "$pcscd" ] || kz_die "pcscd not found ($pcscd); install the pcscd package"
	# Left-overs of an earlier pcscd in this namespace (kz_stop_pcscd then
	# start again) would make it refuse to start.
	rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid
	kz_bg pcscd "$pcscd" -f -a "$@"
	KZ_PCSCD_PID=$KZ_BG_PID
	for ((i = 0; i < 50; i++)); do
		[ -S /run/pcscd/pcscd.comm ] && return 0
		kill -0 "$KZ_PCSCD_PID" 2>/dev/null || kz_die "pcscd exited at start (see pcscd.log below)"
		sleep 0.1
	done
	kz_die "pcscd did not create /run/pcscd/pcscd.comm within 5 s"
}

# kz_stop_pcscd: stop this test's pcscd (to test a module that outlives it).
kz_stop_pcscd() {
	[ -n "$KZ_PCSCD_PID" ] || kz_die "kz_stop_pcscd: pcscd is not running"
	kill "$KZ_PCSCD_PID" 2>/dev/null || true
	wait "$KZ_PCSCD_PID" 2>/dev/null || true
	KZ_PCSCD_PID=
}

# kz_start_phone [ARGS...]: start the simulated phone against vpcd's first
# reader (port 35963) with ARGS, log to $KZ_TMP/phone-N.log, and wait (at
# most 10 s) until pcscd sees the card. Sets KZ_PHONE_PID.
kz_start_phone() {
	local i
	[ -n "$KZ_PCSCD_PID" ] || kz_die "kz_start_phone: start pcscd first (kz_start_pcscd)"
	[ -x "$KZ_PHONE_SIM" ] || kz_die "no simulated phone at $KZ_PHONE_SIM (build it, or set KZ_PHONE_SIM)"
	KZ_PHONE_N=$((KZ_PHONE_N + 1))
	kz_bg "phone-$KZ_PHONE_N" "$KZ_PHONE_SIM" --port 35963 "$@"
	KZ_PHONE_PID=$KZ_BG_PID
	for ((i = 0; i < 100; i++)); do
		[ "$(kz_card_state "$KZ_READER")" = Yes ] && return 0
		kill -0 "$KZ_PHONE_PID" 2>/dev/null ||
			kz_die "the phone exited at start (see phone-$KZ_PHONE_N.log below)"
		sleep 0.1
	done
	kz_die "no card in '$KZ_READER' 10 s after starting the phone"
}

# kz_stop_phone: the phone leaves the field (its process ends, vpcd sees
# the socket close) and pcscd notices, at most 10 s.
kz_stop_phone() {
	[ -n "$KZ_PHONE_PID" ] || kz_die "kz_stop_phone: no phone running"
	kill "$KZ_PHONE_PID" 2>/dev/null || true
	wait "$KZ_PHONE_PID" 2>/dev/null || true
	KZ_PHONE_PID=
	kz_wait_card no 10
}

# ---- several readers ------------------------------------------------------
#
#   kz_start_pcscd_readers N [ARGS]  this test's pcscd with at least N vpcd
#                          readers (instead of kz_start_pcscd): their names
#                          in KZ_READERS[0..N-1], the phones' ports in
#                          KZ_PORTS[0..N-1]
#   kz_start_phone_on I ARGS  a phone in reader I (KZ_PHONE_PIDS[I], log
#                          $KZ_TMP/phone-N.log); returns once pcscd sees it
#   kz_stop_phone_on I     that phone leaves; returns once the card is gone
#
# One vpcd instance serves two readers ("... 00 00" and "... 00 01", ports
# P and P+1) and tells pcscd that they may be used at the same time
# (TAG_IFD_SLOT_THREAD_SAFE). Two instances loaded from one library file
# would share vpcd's global state, and pcscd would serialise them (vpcd
# is not TAG_IFD_THREAD_SAFE): every further pair of readers is therefore
# a copy of the driver under $KZ_TMP, listening on the next two ports.
KZ_READERS=()
KZ_PORTS=()
KZ_PHONE_PIDS=()

kz_vpcd_library() {
	local f
	for f in /etc/reader.conf.d/*vpcd*; do
		[ -r "$f" ] || continue
		awk '$1 == "LIBPATH" { print $2; exit }' "$f"
		return 0
	done
	for f in /usr/lib/pcsc/drivers/serial/libifdvpcd.so /usr/lib/*/pcsc/drivers/serial/libifdvpcd.so; do
		[ -r "$f" ] && echo "$f" && return 0
	done
	return 1
}

kz_start_pcscd_readers() {
	local want=$1 lib conf=$KZ_TMP/reader.conf i copy port names
	shift
	lib=$(kz_vpcd_library) && [ -r "$lib" ] || kz_die "vsmartcard's vpcd driver not found"
	: >"$conf"
	for ((i = 0; i * 2 < want; i++)); do
		port=$((35963 + 2 * i))
		copy=$lib
		if ((i > 0)); then
			mkdir -p "$KZ_TMP/vpcd-$i"
			copy=$KZ_TMP/vpcd-$i/$(basename "$lib")
			cp "$lib" "$copy" || kz_die "cannot copy $lib"
		fi
		printf 'FRIENDLYNAME "Virtual PCD %s"\nDEVICENAME /dev/null:%d\nLIBPATH %s\nCHANNELID %d\n\n' \
			"$((i + 1))" "$port" "$copy" "$port" >>"$conf"
		KZ_PORTS+=("$port" "$((port + 1))")
	done
	kz_start_pcscd -c "$conf" "$@"
	# The names pcscd gave them, in port order (reader list order).
	for ((i = 0; i < 50; i++)); do
		mapfile -t names < <({ opensc-tool -l 2>/dev/null || true; } |
			grep -o 'Virtual PCD .*$' || true)
		((${#names[@]} >= want)) && break
		sleep 0.1
	done
	((${#names[@]} >= want)) || kz_die "pcscd shows ${#names[@]} of $want readers"
	KZ_READERS=("${names[@]}")
}

kz_start_phone_on() {
	local n=$1 i
	shift
	[ -n "${KZ_READERS[$n]:-}" ] || kz_die "kz_start_phone_on: no reader $n (kz_start_pcscd_readers)"
	KZ_PHONE_N=$((KZ_PHONE_N + 1))
	kz_bg "phone-$KZ_PHONE_N" "$KZ_PHONE_SIM" --port "${KZ_PORTS[$n]}" "$@"
	KZ_PHONE_PIDS[n]=$KZ_BG_PID
	for ((i = 0; i < 100; i++)); do
		[ "$(kz_card_state "${KZ_READERS[$n]}")" = Yes ] && return 0
		kill -0 "$KZ_BG_PID" 2>/dev/null ||
			kz_die "the phone of reader $n exited at start (see phone-$KZ_PHONE_N.log below)"
		sleep 0.1
	done
	kz_die "no card in '${KZ_READERS[$n]}' 10 s after starting its phone"
}

kz_stop_phone_on() {
	local pid=${KZ_PHONE_PIDS[$1]:-}
	[ -n "$pid" ] || kz_die "kz_stop_phone_on: no phone in reader $1"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	KZ_PHONE_PIDS[$1]=
	kz_wait_card no 10 "${KZ_READERS[$1]}"
}
