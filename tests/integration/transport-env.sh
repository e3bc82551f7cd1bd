# shellcheck shell=bash
# transport-env.sh: the start of a test that runs over either transport;
# not a test itself. Source it first thing (it sources the environment,
# which must be): nfc-env.sh when KZ_TRANSPORT=nfc (the real libnfc and an
# emulated PN532, no pcscd), else pcscd-env.sh with this test's pcscd
# started. Then tap.sh; $transport (pcsc or nfc); $module, the module
# under test (KZ_MODULE, default the build's), which must be there; the
# test PKI; and $KZ_TMP as the working directory.
transport=${KZ_TRANSPORT:-pcsc}
if [ "$transport" = nfc ]; then
	. "${srcdir:-.}/tests/integration/nfc-env.sh"
else
	. "${srcdir:-.}/tests/integration/pcscd-env.sh"
fi
. "$srcdir/tests/integration/tap.sh"

module=${KZ_MODULE:-$top_builddir/src/.libs/kazashi-pkcs11.so}
[ -r "$module" ] || kz_bail "no module at $module"
if [ "$transport" != nfc ]; then
	kz_start_pcscd || kz_bail "pcscd did not start"
fi
kz_make_pki || kz_bail "no test PKI"
cd "$KZ_TMP" || kz_bail "no temp dir"
