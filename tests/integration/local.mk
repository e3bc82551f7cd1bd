# Integration tests: each starts its own pcscd, vpcd phone and whatever else
# it needs, in private namespaces, and reports TAP so that every assertion
# counts. KZ_MODULE chooses the module under test (default: the build's).
integration_tests = \
	tests/integration/rp-p11kit.sh \
	tests/integration/rp-nss.sh \
	tests/integration/rp-tls13.sh \
	tests/integration/rp-firefox.sh \
	tests/integration/rp-openssl.sh \
	tests/integration/rp-gnutls.sh \
	tests/integration/rp-opensc.sh \
	tests/integration/rp-java.sh \
	tests/integration/rp-openssh.sh \
	tests/integration/pkcs11-tool-card.sh \
	tests/integration/pkcs11-tool-android.sh \
	tests/integration/taps-card.sh \
	tests/integration/taps-android.sh \
	tests/integration/events.sh \
	tests/integration/pcscd-restart.sh \
	tests/integration/serials.sh \
	tests/integration/secrets.sh \
	tests/integration/kazashi-auth.sh \
	tests/integration/kazashi-holder.sh \
	tests/integration/kazashi-sign.sh \
	tests/integration/kazashi-pin.sh \
	tests/integration/kazashi-list-wait.sh \
	tests/integration/secure-env.sh \
	tests/integration/conformance-card.sh \
	tests/integration/conformance-android.sh \
	tests/integration/shared-card-android.sh \
	tests/integration/shared-card-card.sh
TESTS += $(integration_tests)
EXTRA_DIST += $(integration_tests) \
	tests/integration/pkcs11-tool-flow.sh \
	tests/integration/conformance-flow.sh \
	tests/integration/taps-flow.sh \
	tests/integration/events-flow.sh \
	tests/integration/test-env.sh \
	tests/integration/transport-env.sh \
	tests/integration/pcscd-env.sh \
	tests/integration/tap.sh \
	tests/integration/rp-lib.sh \
	tests/integration/KzJavaSign.java \
	tests/integration/shared-card.sh \
	tests/integration/marionette.py \
	tests/integration/rp-https-server.py

# The same flows, taps and slot events through the real libnfc and an
# emulated PN532 on a pty (tests/sim/kazashi-pn532-sim), with no pcscd
# anywhere the module can see one (nfc-env.sh). Builds with libnfc only.
if HAVE_LIBNFC
integration_tests += \
	tests/integration/nfc-pkcs11-tool-card.sh \
	tests/integration/nfc-pkcs11-tool-android.sh \
	tests/integration/nfc-taps-card.sh \
	tests/integration/nfc-taps-android.sh \
	tests/integration/nfc-events.sh \
	tests/integration/nfc-silent.sh
endif
EXTRA_DIST += \
	tests/integration/nfc-env.sh \
	tests/integration/nfc-pkcs11-tool-card.sh \
	tests/integration/nfc-pkcs11-tool-android.sh \
	tests/integration/nfc-taps-card.sh \
	tests/integration/nfc-taps-android.sh \
	tests/integration/nfc-events.sh \
	tests/integration/nfc-silent.sh

# Run by scripts/ci-sanitizers.sh (the module under valgrind), not by check.
EXTRA_DIST += tests/integration/valgrind-flow.sh

# Readers side by side (issue 14): two readers signing at the same time,
# and a frozen phone that must hold nothing of another reader.
integration_readers = tests/integration/readers-overlap.sh tests/integration/readers-frozen.sh
TESTS += $(integration_readers)
EXTRA_DIST += $(integration_readers)
