#!/bin/sh
# Install the Debian 12 packages kazashi builds and tests with, if missing.
# Idempotent: does nothing (and needs no network) when all are there.
set -eu

packages="build-essential autoconf automake libtool pkg-config
libssl-dev openssl libp11-kit-dev p11-kit libpcsclite-dev pcscd
vsmartcard-vpcd libnfc-dev libnfc-bin opensc libcmocka-dev
jq iproute2 util-linux valgrind
libnss3-tools gnutls-bin libengine-pkcs11-openssl curl python3 bsdutils
firefox-esr
openjdk-17-jdk-headless openssh-client openssh-server
clang libclang-rt-14-dev strace"

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
