# cmocka unit tests: fast, in-process, no daemon.
if HAVE_CMOCKA
unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CRYPTO_CFLAGS) $(P11KIT_CFLAGS) $(PCSC_CFLAGS)
unit_ldadd = src/libkazashi-core.la tests/sim/libphonesim.la $(CMOCKA_LIBS) $(CRYPTO_LIBS)
endif

# APDU, PIN, log and certificate units, and the JPKI layer against the
# in-process simulated phone. test-cert and test-jpki make a throw-away PKI
# with tests/sim/make-pki.sh, found through $srcdir (set by the harness).
if HAVE_CMOCKA
unit_tests = \
	tests/unit/test-apdu \
	tests/unit/test-pin \
	tests/unit/test-log \
	tests/unit/test-cert \
	tests/unit/test-jpki
check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

tests_unit_test_apdu_CFLAGS = $(unit_cflags)
tests_unit_test_apdu_LDADD = $(unit_ldadd)
tests_unit_test_apdu_SOURCES = tests/unit/test-apdu.c

tests_unit_test_pin_CFLAGS = $(unit_cflags)
tests_unit_test_pin_LDADD = $(unit_ldadd)
tests_unit_test_pin_SOURCES = tests/unit/test-pin.c

tests_unit_test_log_CFLAGS = $(unit_cflags)
tests_unit_test_log_LDADD = $(unit_ldadd) $(PTHREAD_LIBS)
tests_unit_test_log_SOURCES = tests/unit/test-log.c

tests_unit_test_cert_CFLAGS = $(unit_cflags)
tests_unit_test_cert_LDADD = $(unit_ldadd)
tests_unit_test_cert_SOURCES = tests/unit/test-cert.c \
	tests/unit/testpki.h tests/unit/testpki.c

tests_unit_test_jpki_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/sim
tests_unit_test_jpki_CFLAGS = $(unit_cflags)
tests_unit_test_jpki_LDADD = $(unit_ldadd)
tests_unit_test_jpki_SOURCES = tests/unit/test-jpki.c \
	tests/unit/testpki.h tests/unit/testpki.c
endif
