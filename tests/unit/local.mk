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

# PKCS#11 conformance, one program per area, against the module's code
# in-process (entry.c linked in, the simulated phone as reader back end).
# The same programs run against a built module or p11-kit's proxy when
# KZ_P11_MODULE names one (tests/integration/conformance-*.sh).
if HAVE_CMOCKA
p11_unit_tests = \
	tests/unit/test-p11-init \
	tests/unit/test-p11-config \
	tests/unit/test-p11-session \
	tests/unit/test-p11-login \
	tests/unit/test-p11-object \
	tests/unit/test-p11-sign
check_PROGRAMS += $(p11_unit_tests)
TESTS += $(p11_unit_tests)

p11_unit_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/sim
p11_unit_ldadd = src/libkazashi-core.la tests/sim/libsimbackend.la tests/sim/libphonesim.la \
	$(CMOCKA_LIBS) $(CRYPTO_LIBS) $(PTHREAD_LIBS) -ldl
p11_unit_sources = src/pkcs11/entry.c \
	tests/unit/p11fixture.h tests/unit/p11fixture.c \
	tests/unit/testpki.h tests/unit/testpki.c

tests_unit_test_p11_init_CPPFLAGS = $(p11_unit_cppflags)
tests_unit_test_p11_init_CFLAGS = $(unit_cflags)
tests_unit_test_p11_init_LDADD = $(p11_unit_ldadd)
tests_unit_test_p11_init_SOURCES = tests/unit/test-p11-init.c $(p11_unit_sources)

tests_unit_test_p11_config_CPPFLAGS = $(p11_unit_cppflags)
tests_unit_test_p11_config_CFLAGS = $(unit_cflags)
tests_unit_test_p11_config_LDADD = $(p11_unit_ldadd)
tests_unit_test_p11_config_SOURCES = tests/unit/test-p11-config.c

tests_unit_test_p11_session_CPPFLAGS = $(p11_unit_cppflags)
tests_unit_test_p11_session_CFLAGS = $(unit_cflags)
tests_unit_test_p11_session_LDADD = $(p11_unit_ldadd)
tests_unit_test_p11_session_SOURCES = tests/unit/test-p11-session.c $(p11_unit_sources)

tests_unit_test_p11_login_CPPFLAGS = $(p11_unit_cppflags)
tests_unit_test_p11_login_CFLAGS = $(unit_cflags)
tests_unit_test_p11_login_LDADD = $(p11_unit_ldadd)
tests_unit_test_p11_login_SOURCES = tests/unit/test-p11-login.c $(p11_unit_sources)

tests_unit_test_p11_object_CPPFLAGS = $(p11_unit_cppflags)
tests_unit_test_p11_object_CFLAGS = $(unit_cflags)
tests_unit_test_p11_object_LDADD = $(p11_unit_ldadd)
tests_unit_test_p11_object_SOURCES = tests/unit/test-p11-object.c $(p11_unit_sources)

tests_unit_test_p11_sign_CPPFLAGS = $(p11_unit_cppflags)
tests_unit_test_p11_sign_CFLAGS = $(unit_cflags)
tests_unit_test_p11_sign_LDADD = $(p11_unit_ldadd)
tests_unit_test_p11_sign_SOURCES = tests/unit/test-p11-sign.c $(p11_unit_sources)
endif

# The process-wide certificate cache and the per-reader memory of extended
# APDUs (src/pkcs11/token.c), through the entry points, in-process.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-cache
TESTS += tests/unit/test-cache
tests_unit_test_cache_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/sim
tests_unit_test_cache_CFLAGS = $(unit_cflags)
tests_unit_test_cache_LDADD = tests/sim/libsimbackend.la src/libkazashi-core.la \
	tests/sim/libphonesim.la $(CMOCKA_LIBS) $(CRYPTO_LIBS) $(PTHREAD_LIBS) -ldl
tests_unit_test_cache_SOURCES = tests/unit/test-cache.c src/pkcs11/entry.c \
	tests/unit/testpki.h tests/unit/testpki.c
endif

# The libnfc back end against the real libnfc and the emulated PN532 on a
# pty (tests/sim/kazashi-pn532-sim), and the module's slot events over it
# (it loads $KZ_MODULE, else the built module).
if HAVE_CMOCKA
if HAVE_LIBNFC
check_PROGRAMS += tests/unit/test-nfc
TESTS += tests/unit/test-nfc
tests_unit_test_nfc_CFLAGS = $(unit_cflags) $(NFC_CFLAGS)
tests_unit_test_nfc_LDADD = $(unit_ldadd) $(NFC_LIBS) $(PTHREAD_LIBS) -ldl
tests_unit_test_nfc_SOURCES = tests/unit/test-nfc.c \
	tests/unit/testpki.h tests/unit/testpki.c
endif
endif

# Hostile phones through the entry points: every kind of lying answer at
# arrival, certificate reads, VERIFY and signing (sim_backend_use_function).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-p11-hostile
TESTS += tests/unit/test-p11-hostile
tests_unit_test_p11_hostile_CPPFLAGS = $(p11_unit_cppflags)
tests_unit_test_p11_hostile_CFLAGS = $(unit_cflags)
tests_unit_test_p11_hostile_LDADD = $(p11_unit_ldadd)
tests_unit_test_p11_hostile_SOURCES = tests/unit/test-p11-hostile.c src/pkcs11/entry.c \
	tests/unit/testpki.h tests/unit/testpki.c
endif

# PINs appear nowhere the module writes: log file, stderr (KAZASHI_DEBUG),
# APDU trace, any other file; a full flow with distinctive PINs.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-p11-secrets
TESTS += tests/unit/test-p11-secrets
tests_unit_test_p11_secrets_CPPFLAGS = $(p11_unit_cppflags)
tests_unit_test_p11_secrets_CFLAGS = $(unit_cflags)
tests_unit_test_p11_secrets_LDADD = $(p11_unit_ldadd)
tests_unit_test_p11_secrets_SOURCES = tests/unit/test-p11-secrets.c src/pkcs11/entry.c \
	tests/unit/testpki.h tests/unit/testpki.c
endif
