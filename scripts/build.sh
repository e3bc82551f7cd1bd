#!/bin/sh
# Configure (once), build and install kazashi from this source tree.
# Extra arguments go to ./configure.
set -eu
cd "$(dirname "$0")/.."
[ -x configure ] || ./bootstrap >/dev/null 2>&1
if [ ! -f Makefile ] || [ "$#" -gt 0 ]; then
	./configure --quiet --prefix=/usr --sysconfdir=/etc --libdir="/usr/lib/$(gcc -print-multiarch)" \
		--enable-werror "$@"
fi
make -j"$(nproc)" >/dev/null
make install >/dev/null
