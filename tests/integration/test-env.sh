# shellcheck shell=bash
# test-env.sh: what pcscd-env.sh and nfc-env.sh share; sourced by them, not
# by a test. Before sourcing it the transport file sets:
#
#   kz_env         its own name, for messages (pcscd-env.sh)
#   kz_ns_flags    unshare(1) flags: -m, or -mn for a private loopback too
#   kz_ns_marker   the variable that marks "already inside" (KZ_PCSCD_NS)
#   kz_tmp_prefix  the temporary directory's name before .XXXXXX
#
# What it does:
#  - Re-executes the calling script (with its own arguments) inside
#    `unshare $kz_ns_flags`, with an empty tmpfs on /run/pcscd (and the
#    loopback up when the network namespace is private): whatever pcscd
#    the host or a parallel test runs, this test cannot reach it, and it
#    may run its own. $kz_ns_marker=1 in the environment marks "already
#    inside".
#  - Makes $srcdir and $top_builddir absolute (tests like to cd into
#    $KZ_TMP) and a per-test temporary directory, $KZ_TMP, holding every
#    log and the PKI ($KZ_PKI).
#  - On EXIT (success, failure, or INT/TERM/HUP) kills every process in
#    KZ_PIDS, newest first, prints the tail of every log if the test
#    failed, and removes $KZ_TMP (kept if KZ_KEEP_TMP=1). The namespaces
#    vanish with their last process, taking the tmpfs with them.
#
# Functions (each fails the test, exit 99, with a message, if it cannot do
# what it says):
#   kz_die MESSAGE         that message, exit 99
#   kz_bg NAME CMD ARGS    any background process, log $KZ_TMP/NAME.log,
#                          killed at exit (pid $KZ_BG_PID)
#   kz_make_pki            tests/sim/make-pki.sh into $KZ_PKI, once per test
#   kz_phone_leave         the phone leaves the field now (SIGUSR1)
#   kz_phone_return        it comes back now (SIGUSR2), if taps remain
# Do not set an EXIT trap of your own: it would replace the cleanup. Bash
# runs a trap only when the foreground command ends, so run anything long
# as `CMD & wait $!` if a TERM from the harness must clean up at once.
#
# Exit codes: 77 (skip) only when the namespaces cannot be created at all
# (not root, no unshare); the reason is printed. Anything else that goes
# wrong is a hard error (99): a test must never pass by skipping silently.

if [ -z "${BASH_VERSION:-}" ]; then
	echo "${kz_env:-test-env.sh}: must be sourced from bash" >&2
	exit 99
fi

kz_die() {
	echo "$kz_env: $*" >&2
	exit 99
}
: "${kz_env:?}" "${kz_ns_flags:?}" "${kz_ns_marker:?}" "${kz_tmp_prefix:?}"

# ---- 1. enter the private namespaces ------------------------------------
if [ "${!kz_ns_marker:-}" != 1 ]; then
	# Probe first: a failed `exec unshare` would exit 1, which the test
	# harness would read as a failure rather than "cannot run here".
	if ! command -v unshare >/dev/null 2>&1; then
		echo "$kz_env: SKIP: unshare(1) is not installed" >&2
		exit 77
	fi
	if ! kz_err=$(unshare "$kz_ns_flags" true 2>&1); then
		echo "$kz_env: SKIP: cannot create namespaces (unshare $kz_ns_flags): $kz_err" >&2
		exit 77
	fi
	export "$kz_ns_marker=1"
	# unshare without --fork execs in place: the test harness keeps
	# waiting on the same pid. Mounts and loopback are set up by the
	# re-executed script (below), where failures are hard errors.
	# shellcheck disable=SC2093 # the line after only runs if exec fails
	exec unshare "$kz_ns_flags" -- "$BASH" "$0" "$@"
	kz_die "exec unshare failed"
fi

kz_ns_ready=${kz_ns_marker}_READY
if [ "${!kz_ns_ready:-}" != 1 ]; then
	mkdir -p /run/pcscd || kz_die "cannot create /run/pcscd"
	# unshare(1) makes the new mount namespace private, so this tmpfs is
	# seen by this test's processes only.
	mount -t tmpfs -o mode=0755 tmpfs /run/pcscd || kz_die "cannot mount a tmpfs on /run/pcscd"
	case $kz_ns_flags in
	*n*) ip link set lo up || kz_die "cannot bring up the loopback interface" ;;
	esac
	export "$kz_ns_ready=1"
fi

# ---- 2. per-test state ----------------------------------------------------
# Absolute paths: tests like to cd into $KZ_TMP.
if [ -z "${srcdir:-}" ]; then
	srcdir=$(dirname "${BASH_SOURCE[0]}")/../..
fi
srcdir=$(cd "$srcdir" && pwd) || kz_die "cannot find srcdir"
top_builddir=$(cd "${top_builddir:-.}" && pwd) || kz_die "cannot find top_builddir"
export srcdir top_builddir

KZ_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$kz_tmp_prefix.XXXXXX") || kz_die "cannot make a temporary directory"
KZ_PKI=$KZ_TMP/pki
export KZ_TMP KZ_PKI

KZ_PIDS=()    # every background process started here, oldest first
KZ_PHONE_PID= # the most recently started phone
# shellcheck disable=SC2034 # the transport's kz_start_phone counts
KZ_PHONE_N=0  # phones started so far (names their logs)

kz_cleanup() {
	local rc=$? pid i f
	# The test may run under set -e: nothing here may end the cleanup early.
	set +e
	trap - EXIT INT TERM HUP
	# Newest first: phones before pcscd, so that pcscd sees the card
	# leave rather than its reader vanish under a connected card.
	for ((i = ${#KZ_PIDS[@]} - 1; i >= 0; i--)); do
		kill "${KZ_PIDS[i]}" 2>/dev/null
	done
	for pid in "${KZ_PIDS[@]}"; do
		# Give each 2 s to go, then insist: a wedged child must not
		# keep the harness waiting on its inherited stdout.
		for ((i = 0; i < 20; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		# Show what the daemons said: the harness keeps only our output.
		for f in "$KZ_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $(basename "$f") (last 40 lines) ----" >&2
			# kz_card_state's opensc-tool asks vpcd for reader
			# features on every look; vpcd has none and pcscd logs
			# that each time. Keep it out of the way.
			grep -v 'IFDControl() Card not transacted' "$f" | tail -n 40 >&2
		done
	fi
	if [ "${KZ_KEEP_TMP:-}" = 1 ]; then
		echo "$kz_env: kept $KZ_TMP" >&2
	else
		rm -rf "$KZ_TMP"
	fi
	exit "$rc"
}
trap kz_cleanup EXIT
# A signal must still run the EXIT trap (bash does not on its own).
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- 3. helpers for the tests ----------------------------------------------

# kz_bg NAME CMD [ARGS...]: run CMD in the background, output to
# $KZ_TMP/NAME.log, killed at exit. Sets KZ_BG_PID.
kz_bg() {
	local name=$1
	shift
	"$@" >>"$KZ_TMP/$name.log" 2>&1 </dev/null &
	KZ_BG_PID=$!
	KZ_PIDS+=("$KZ_BG_PID")
}

# kz_make_pki: the test PKI in $KZ_PKI, made once per test.
kz_make_pki() {
	[ -f "$KZ_PKI/sign.der" ] && return 0
	sh "$srcdir/tests/sim/make-pki.sh" "$KZ_PKI" >"$KZ_TMP/make-pki.log" 2>&1 ||
		kz_die "make-pki.sh failed: $(tail -n 5 "$KZ_TMP/make-pki.log")"
}

# kz_phone_leave, kz_phone_return: both simulators take SIGUSR1 as "leave
# the field now" and SIGUSR2 as "come back now" (if taps remain).
kz_phone_leave() {
	kill -USR1 "$KZ_PHONE_PID" || kz_die "kz_phone_leave: the phone is gone"
}

kz_phone_return() {
	kill -USR2 "$KZ_PHONE_PID" || kz_die "kz_phone_return: the phone is gone"
}
