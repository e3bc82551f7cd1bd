# Integration tests: each starts its own pcscd, vpcd phone and whatever else
# it needs, in private namespaces, and reports TAP so that every assertion
# counts. KZ_MODULE chooses the module under test (default: the build's).
integration_tests = \
	tests/integration/pkcs11-tool-card.sh \
	tests/integration/pkcs11-tool-android.sh \
	tests/integration/taps-card.sh \
	tests/integration/taps-android.sh \
	tests/integration/events.sh \
	tests/integration/kazashi-auth.sh \
	tests/integration/kazashi-holder.sh \
	tests/integration/kazashi-sign.sh \
	tests/integration/kazashi-pin.sh \
	tests/integration/kazashi-list-wait.sh
TESTS += $(integration_tests)
EXTRA_DIST += $(integration_tests) \
	tests/integration/pkcs11-tool-flow.sh \
	tests/integration/taps-flow.sh \
	tests/integration/pcscd-env.sh \
	tests/integration/tap.sh
