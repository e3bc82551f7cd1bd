#!/bin/bash
# CI: the Debian packages, from a copy of the tree (the build tree of the
# main run stays untouched) in _build-deb/kazashi, the .debs beside it:
#  1. dpkg-buildpackage -us -uc -b (the unit tests run in it, dh_auto_test);
#  2. lintian on the result: an error fails, warnings are printed;
#  3. the packages hold what they promise (module, p11-kit module file,
#     command, man pages, header, kazashi.pc, simulated phone);
#  4. apt-get install ./*.deb on this machine (after the other steps, so
#     that they test the build tree's module, not the package's);
#  5. autopkgtest (debian/tests) with the null runner against the installed
#     packages: the simulated phone behind a private pcscd, pkcs11-tool
#     through p11-kit, `kazashi auth`, and the example built against
#     kazashi.pc.
# Prints "N passed, N failed" last (each check and each autopkgtest TAP
# point counts once); exits 1 on any failure. Needs root (step 4 and 5).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=$top/_build-deb
pass=0 fail=0
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
		pass=$((pass + 1))
	else
		echo "not ok - $what"
		fail=$((fail + 1))
	fi
}
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

# A clean copy: the files git knows and new ones it does not ignore, as a
# clean checkout with the work in progress would have them.
rm -rf "$out" && mkdir -p "$out/kazashi" || exit 1
git ls-files -z --cached --others --exclude-standard | grep -zv '^_build-' |
	tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -x -C "$out/kazashi" || exit 1

echo "ci-deb: dpkg-buildpackage -us -uc -b"
start=$(date +%s)
(cd "$out/kazashi" && dpkg-checkbuilddeps && DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1
built=$?
echo "ci-deb: built in $(($(date +%s) - start)) s"
[ "$built" -eq 0 ] || tail -n 40 "$out/build.log"
check "dpkg-buildpackage -us -uc -b" test "$built" -eq 0
[ "$built" -eq 0 ] || finish
grep -E '^# (TOTAL|PASS|FAIL|ERROR):' "$out/build.log" | sed 's/^/ci-deb: dh_auto_test /'
changes=$(ls "$out"/kazashi_*.changes)

echo "ci-deb: lintian"
lintian --info --display-info "$changes" >"$out/lintian.log" 2>&1
cat "$out/lintian.log"
check "lintian reports no error" sh -c "! grep -q '^E:' '$out/lintian.log'"

# dpkg -c lists ./usr/...; each file the issue names, in its package.
holds() { # holds PACKAGE PATH-REGEX
	dpkg -c "$out/$1"_*.deb | awk '{ print $NF }' | grep -qE "^\./$2\$"
}
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
check "kazashi: the module in p11-kit's module directory" holds kazashi "usr/lib/$arch/pkcs11/kazashi-pkcs11.so"
check "kazashi: the p11-kit module file" holds kazashi "usr/share/p11-kit/modules/kazashi.module"
check "kazashi: the command" holds kazashi "usr/bin/kazashi"
check "kazashi: kazashi(1)" holds kazashi "usr/share/man/man1/kazashi.1.gz"
check "kazashi: kazashi.conf(5)" holds kazashi "usr/share/man/man5/kazashi.conf.5.gz"
check "kazashi-dev: the header" holds kazashi-dev "usr/include/kazashi/kazashi.h"
check "kazashi-dev: kazashi.pc" holds kazashi-dev "usr/lib/$arch/pkgconfig/kazashi.pc"
check "kazashi-dev: the example" holds kazashi-dev "usr/share/doc/kazashi-dev/examples/kazashi-tokens.c"
check "kazashi-phone-sim: the simulated phone" holds kazashi-phone-sim "usr/bin/kazashi-phone-sim"
check "kazashi-phone-sim: its test PKI script" holds kazashi-phone-sim "usr/share/kazashi-phone-sim/make-pki.sh"

echo "ci-deb: apt-get install ./*.deb"
check "the packages install" sh -c "cd '$out' && DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --allow-downgrades --reinstall ./kazashi_*.deb ./kazashi-dev_*.deb \
	./kazashi-phone-sim_*.deb >'$out/install.log' 2>&1 || { tail -n 20 '$out/install.log'; exit 1; }"

echo "ci-deb: autopkgtest (null runner, the installed packages)"
rm -rf "$out/autopkgtest"
autopkgtest --no-built-binaries --output-dir "$out/autopkgtest" "$out/kazashi" -- null \
	>"$out/autopkgtest.log" 2>&1
apt_rc=$?
cat "$out/autopkgtest/summary" 2>/dev/null || tail -n 30 "$out/autopkgtest.log"
for t in smoke example; do
	log=$out/autopkgtest/$t-stdout
	p=$(grep -c '^ok ' "$log" 2>/dev/null)
	f=$(grep -c '^not ok ' "$log" 2>/dev/null)
	grep '^not ok ' -A 12 "$log" 2>/dev/null
	pass=$((pass + ${p:-0})) fail=$((fail + ${f:-0}))
	# A test that failed without a failed point (it could not start,
	# say) counts once more.
	if ! grep -qE "^$t +PASS" "$out/autopkgtest/summary" 2>/dev/null && [ "${f:-0}" -eq 0 ]; then
		echo "not ok - autopkgtest $t"
		fail=$((fail + 1))
	fi
done
[ "$apt_rc" -eq 0 ] || [ "$fail" -gt 0 ] || { echo "not ok - autopkgtest exit $apt_rc"; fail=$((fail + 1)); }
finish
