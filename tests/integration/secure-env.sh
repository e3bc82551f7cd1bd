#!/bin/bash
# secure-env.sh: a privileged process is not configured by its caller. A
# small program that loads the module (tests/flow/kz-p11load) is installed
# setuid root and run by an unprivileged user, as a PAM module is under su
# or sudo; the kernel then marks the process AT_SECURE. There the module
# ignores KAZASHI_CONF, KAZASHI_DEBUG and log_file in the initialisation
# words (and does not report the lines of a file the user could not read),
# while the system file still applies. The same runs without the setuid bit
# show that each of them does take effect otherwise: the test cannot pass
# by measuring nothing.
. "${srcdir:-.}/tests/integration/pcscd-env.sh"
. "$srcdir/tests/integration/tap.sh"

module=${KZ_MODULE:-${top_builddir:-.}/src/.libs/kazashi-pkcs11.so}
loader=$top_builddir/tests/flow/kz-p11load
[ -r "$module" ] || kz_bail "no module at $module"
[ -x "$loader" ] || kz_bail "no kz-p11load at $loader"
# The mounts made here go before test-env.sh's cleanup removes $KZ_TMP,
# whatever the way out.
mounts=()
unmount_all() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}"
	done
	mounts=()
}
kz_bail() {
	unmount_all
	echo "Bail out! $*"
	exit 99
}
skip_all() {
	unmount_all
	echo "1..0 # SKIP $*"
	exit 0
}
[ "$(id -u)" = 0 ] || skip_all "only root can install a setuid-root program"
command -v setpriv >/dev/null || skip_all "no setpriv(1)"
uid=$(id -u nobody 2>/dev/null || echo 65534)
gid=$(id -g nobody 2>/dev/null || echo 65534)

# A place the unprivileged user can reach: a tmpfs of this test's mount
# namespace, so that a host /tmp mounted nosuid cannot void the setuid bit.
w=$KZ_TMP/world
mkdir -p "$w" && chmod 0711 "$KZ_TMP" && mount -t tmpfs -o mode=1777 tmpfs "$w" ||
	kz_bail "no tmpfs at $w"
mounts+=("$w")
cp "$module" "$w/kazashi-pkcs11.so" && chmod 0755 "$w/kazashi-pkcs11.so" || kz_bail "cp module"
cp "$loader" "$w/plain" && chmod 0755 "$w/plain" || kz_bail "cp loader"
cp "$loader" "$w/setuid" && chown 0:0 "$w/setuid" && chmod 4755 "$w/setuid" || kz_bail "setuid"

# as NAME PROGRAM [WORDS]: $w/PROGRAM as the unprivileged user, with the
# environment the caller set; stdout in $KZ_TMP/NAME.out, stderr NAME.err.
# nfc=no: no libnfc device scan in the way of what is looked at.
as() {
	local name=$1 prog=$2
	shift 2
	(cd "$w" && setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
		"$w/$prog" "$w/kazashi-pkcs11.so" "nfc=no $*") >"$KZ_TMP/$name.out" 2>"$KZ_TMP/$name.err"
}

as probe setuid
grep -q "^secure=1 ruid=$uid euid=0 init=0x0 " "$KZ_TMP/probe.out" ||
	skip_all "a setuid program is not privileged here ($(cat "$KZ_TMP/probe.out" "$KZ_TMP/probe.err"); $(grep NoNewPrivs /proc/self/status))"
as probe plain
kz_ok "without the setuid bit: not AT_SECURE" grep -q "^secure=0 ruid=$uid euid=$uid init=0x0 " "$KZ_TMP/probe.out"

# The system file, which a privileged process does read: this namespace's
# own. Its directory gets a tmpfs over it; if it has none, an overlay on
# its parent makes one that the host never sees.
sysconf=$(grep -ao '/[[:graph:]]*/kazashi/kazashi\.conf' "$module" | head -n 1)
sysdir=$(dirname "${sysconf:-/nonexistent/x}")
have_sys=0
if [ -d "$sysdir" ]; then
	mount -t tmpfs -o mode=0755 tmpfs "$sysdir" || kz_bail "cannot hide $sysdir"
	mounts+=("$sysdir")
	have_sys=1
elif [ -d "$(dirname "$sysdir")" ]; then
	ov=$KZ_TMP/overlay parent=$(dirname "$sysdir")
	mkdir -p "$ov" && mount -t tmpfs tmpfs "$ov" || kz_bail "no tmpfs at $ov"
	mounts+=("$ov")
	mkdir "$ov/up" "$ov/work" || kz_bail "mkdir in $ov"
	if mount -t overlay overlay -o "lowerdir=$parent,upperdir=$ov/up,workdir=$ov/work" \
		"$parent" 2>"$KZ_TMP/overlay.err"; then
		mounts+=("$parent")
		mkdir "$sysdir" && have_sys=1
	fi
fi
if [ "$have_sys" = 1 ]; then
	printf 'log_file = %s\nlog_level = info\n' "$w/system.log" >"$sysconf"
fi

# --- KAZASHI_CONF --------------------------------------------------------------
printf 'log_file = %s\nlog_level = debug\nthis line is no setting\n' "$w/conf.log" >"$w/user.conf"
chmod 0644 "$w/user.conf"
rm -f "$w/system.log"
KAZASHI_CONF=$w/user.conf as conf-setuid setuid
kz_ok "setuid, KAZASHI_CONF: initialised" grep -q "init=0x0 " "$KZ_TMP/conf-setuid.out"
kz_ok "setuid, KAZASHI_CONF: its log_file is not created" test ! -e "$w/conf.log"
kz_ok "setuid, KAZASHI_CONF: its lines are not reported" bash -c "! grep -q user.conf '$KZ_TMP/conf-setuid.err'"
if [ "$have_sys" = 1 ]; then
	kz_ok "setuid: the system file applies (its log_file)" grep -q "INFO: initialised" "$w/system.log"
	kz_is "setuid: the system file's log is root's" "0 600" "$(stat -c '%u %a' "$w/system.log")"
	kz_ok "setuid, KAZASHI_CONF: its log_level is not applied" bash -c "! grep -q DEBUG: '$w/system.log'"
else
	kz_tap_n=$((kz_tap_n + 1))
	echo "ok $kz_tap_n - setuid: the system file applies # SKIP no $sysdir here ($(cat "$KZ_TMP/overlay.err" 2>/dev/null))"
fi
KAZASHI_CONF=$w/user.conf as conf-plain plain
kz_ok "plain, KAZASHI_CONF: its log_file is created" grep -q "DEBUG:" "$w/conf.log"
kz_ok "plain, KAZASHI_CONF: its bad line is reported" grep -q "user.conf:3:" "$KZ_TMP/conf-plain.err"

# A file only root may read: a privileged process does not report its
# lines (KAZASHI_CONF is not read), and root itself, trusted with it, gets
# one warning for the file, not one a line.
printf 'root:x:0:0\ndaemon:x:1:1\nbin:x:2:2\nsys:x:3:3\n' >"$w/secret.conf"
chmod 0600 "$w/secret.conf"
KAZASHI_CONF=$w/secret.conf as secret-setuid setuid
kz_ok "setuid, KAZASHI_CONF unreadable to the user: nothing reported" bash -c "! grep -q secret.conf '$KZ_TMP/secret-setuid.err'"
(cd "$w" && KAZASHI_CONF=$w/secret.conf "$w/plain" "$w/kazashi-pkcs11.so" nfc=no) \
	>"$KZ_TMP/secret-root.out" 2>"$KZ_TMP/secret-root.err"
kz_is "root, the same file: one warning for it" 1 "$(grep -c secret.conf "$KZ_TMP/secret-root.err")"

# --- KAZASHI_DEBUG -------------------------------------------------------------
rm -f "$w/system.log"
KAZASHI_DEBUG=1 as debug-setuid setuid
kz_ok "setuid, KAZASHI_DEBUG: initialised" grep -q "init=0x0 " "$KZ_TMP/debug-setuid.out"
kz_ok "setuid, KAZASHI_DEBUG: no debug lines" bash -c "! cat '$KZ_TMP/debug-setuid.err' '$w/system.log' 2>/dev/null | grep -q DEBUG:"
KAZASHI_DEBUG=1 as debug-plain plain
kz_ok "plain, KAZASHI_DEBUG: debug lines on stderr" grep -q "DEBUG:" "$KZ_TMP/debug-plain.err"

# --- log_file in the initialisation words --------------------------------------
rm -f "$w/system.log"
as words-setuid setuid "log_level=debug log_file=$w/words.log"
kz_ok "setuid, words: initialised" grep -q "init=0x0 " "$KZ_TMP/words-setuid.out"
kz_ok "setuid, words: their log_file is not created" test ! -e "$w/words.log"
kz_ok "setuid, words: says their log_file is ignored" grep -q "log_file from the initialisation words ignored in a privileged process" "$KZ_TMP/words-setuid.err"
kz_ok "setuid, words: their log_level still applies" bash -c "cat '$KZ_TMP/words-setuid.err' '$w/system.log' 2>/dev/null | grep -q DEBUG:"
as words-plain plain "log_level=debug log_file=$w/words.log"
kz_ok "plain, words: their log_file is created" grep -q "DEBUG:" "$w/words.log"

unmount_all
kz_done
