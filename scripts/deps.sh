#!/bin/sh
# Install the Debian 12 packages kazashi needs, if missing.
#   scripts/deps.sh demo   what scripts/demo.sh needs: build kazashi, a
#                          private pcscd with vpcd, the simulated phone
#   scripts/deps.sh [test] all that the whole test suite (scripts/test.sh)
#                          needs: the demo's, and the relying parties
#                          (Firefox, NSS, GnuTLS, curl, Java, OpenSSH),
#                          sanitizers, fuzzing, the Debian package tools
# Idempotent: does nothing (and needs no network) when all are there.
set -eu

# Build: compiler, autotools, the three libraries. Run: pcscd, vpcd, the
# simulated phone's PKI (openssl), opensc-tool (the test helpers read
# pcscd's reader list with it), jq (the demo's air-time sum), unshare and ip
# (the private namespaces).
demo="build-essential autoconf automake libtool pkg-config
libssl-dev openssl libp11-kit-dev p11-kit libpcsclite-dev pcscd
vsmartcard-vpcd opensc jq iproute2 util-linux"

test="$demo libnfc-dev libnfc-bin libcmocka-dev valgrind
libnss3-tools gnutls-bin libengine-pkcs11-openssl curl python3 bsdutils
firefox-esr
openjdk-17-jdk-headless openssh-client openssh-server
clang libclang-rt-14-dev strace
debhelper dh-autoreconf dpkg-dev devscripts fakeroot lintian autopkgtest
p11-kit-modules pkgconf"

case ${1:-test} in
demo) packages=$demo ;;
test) packages=$test ;;
*)
	echo "usage: $0 [demo|test]" >&2
	exit 2
	;;
esac

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "kazashi: installing$missing (needs root)" >&2
	exec sudo "$0" "$@"
fi
echo "kazashi: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
