#!/bin/bash
# make soak-pcscd: the soak (tests/bench/soak.c) through the real pcscd and
# vpcd, in private namespaces (pcscd-env.sh), against the built module. The
# simulated phone is moved by signals: it enters the field at the start of
# each tap and leaves at its end, or just before the signature on every
# 10th tap. Slower than `make soak` by pcscd's polling of vpcd (a card's
# arrival and departure are each seen within 0.4 s), hence its own default
# count; prints what `make soak` prints.
#
# Environment: srcdir, top_builddir, KZ_MODULE; KZ_SOAK_TAPS (default
# 1000), KZ_SOAK_EVERY (default 100), KZ_SOAK_RSS_KB (growth limit,
# default 1024).
set -u
top_srcdir=${srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/pcscd-env.sh"

module=${KZ_MODULE:-$top_builddir/src/.libs/kazashi-pkcs11.so}
soak=$top_builddir/tests/bench/kz-soak
[ -r "$module" ] || kz_die "no module at $module"
[ -x "$soak" ] || kz_die "no kz-soak at $soak"
kz_start_pcscd
kz_make_pki
# In the field now; after a SIGUSR1 out of it until the next SIGUSR2.
kz_start_phone --persona android --pki "$KZ_PKI" --taps 0 --tap-gap-ms 3600000
"$soak" --module "$module" --phone-pid "$KZ_PHONE_PID" --taps "${KZ_SOAK_TAPS:-1000}" \
	--every "${KZ_SOAK_EVERY:-100}" --max-rss-growth-kb "${KZ_SOAK_RSS_KB:-1024}" &
soak_pid=$!
KZ_PIDS+=("$soak_pid")
wait "$soak_pid"
