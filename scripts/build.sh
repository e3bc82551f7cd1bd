#!/bin/sh
# Configure, build and install kazashi from this source tree into the
# system's own directories (where p11-kit, Firefox and pkcs11-tool look).
# Extra arguments go to ./configure.
set -eu
cd "$(dirname "$0")/.."
libdir="/usr/lib/$(gcc -print-multiarch)"
want="--prefix=/usr --sysconfdir=/etc --libdir=$libdir --enable-werror $*"
[ -x configure ] || ./bootstrap >/dev/null 2>&1
# Reconfigure when the tree was configured otherwise (say, by hand).
if [ ! -f config.status ] || [ "$(./config.status --config | tr -d "'")" != "$(echo $want)" ]; then
	# shellcheck disable=SC2086
	./configure --quiet $want
fi
make -j"$(nproc)" >/dev/null
make install >/dev/null
