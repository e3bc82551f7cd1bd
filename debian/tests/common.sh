# Sourced by the tests here, as their first command: a private pcscd with
# vpcd and the installed simulated phone, through the source tree's
# tests/integration/pcscd-env.sh (which re-executes the test in new mount and
# network namespaces), and TAP helpers. The test PKI comes from the installed
# make-pki.sh, so that the kazashi-phone-sim package is what is tested.
export KZ_PHONE_SIM=/usr/bin/kazashi-phone-sim
srcdir=$PWD top_builddir=$PWD
export srcdir top_builddir
# shellcheck source=tests/integration/pcscd-env.sh
. tests/integration/pcscd-env.sh

kz_n=0 kz_failed=0
ok() { # ok DESCRIPTION COMMAND...: one TAP test point; output kept in the log.
	local what=$1
	shift
	kz_n=$((kz_n + 1))
	if "$@" >"$KZ_TMP/step-$kz_n.log" 2>&1; then
		echo "ok $kz_n - $what"
	else
		echo "not ok $kz_n - $what"
		sed 's/^/# /' "$KZ_TMP/step-$kz_n.log"
		kz_failed=$((kz_failed + 1))
	fi
}
done_testing() {
	echo "1..$kz_n"
	[ "$kz_failed" -eq 0 ]
}

start_phone() { # start_phone PERSONA
	sh /usr/share/kazashi-phone-sim/make-pki.sh "$KZ_PKI" >"$KZ_TMP/make-pki.log" 2>&1 ||
		kz_die "make-pki.sh failed: $(tail -n 5 "$KZ_TMP/make-pki.log")"
	kz_start_pcscd
	kz_start_phone --persona "$1" --pki "$KZ_PKI" --taps 0
}
