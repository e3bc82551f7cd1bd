# The simulated phone: a library for in-process tests and benchmarks, the
# kazashi-phone-sim program that sits behind pcscd's vpcd reader, and the
# script that makes its test PKI.
noinst_LTLIBRARIES += tests/sim/libphonesim.la
tests_sim_libphonesim_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_sim_libphonesim_la_LIBADD = $(CRYPTO_LIBS)
tests_sim_libphonesim_la_SOURCES = \
	tests/sim/phone.h tests/sim/phone.c \
	tests/sim/linkmodel.h tests/sim/linkmodel.c

# noinst, not check: integration scripts and the benchmark need it after a
# plain `make`.
noinst_PROGRAMS += tests/sim/kazashi-phone-sim
tests_sim_kazashi_phone_sim_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_sim_kazashi_phone_sim_LDADD = tests/sim/libphonesim.la $(CRYPTO_LIBS)
tests_sim_kazashi_phone_sim_SOURCES = \
	tests/sim/main.c \
	tests/sim/answer-timing.h tests/sim/answer-timing.c \
	tests/sim/phone-options.h tests/sim/phone-options.c \
	tests/sim/sim-signals.h tests/sim/sim-signals.c \
	tests/sim/vpcd.h tests/sim/vpcd.c

EXTRA_DIST += tests/sim/make-pki.sh

if HAVE_CMOCKA
check_PROGRAMS += tests/sim/test-phone
TESTS += tests/sim/test-phone
tests_sim_test_phone_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CRYPTO_CFLAGS)
tests_sim_test_phone_LDADD = tests/sim/libphonesim.la $(CMOCKA_LIBS) $(CRYPTO_LIBS)
tests_sim_test_phone_SOURCES = tests/sim/test-phone.c
endif

# The simulated phone as an in-process reader back end of the module.
noinst_LTLIBRARIES += tests/sim/libsimbackend.la
tests_sim_libsimbackend_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(P11KIT_CFLAGS)
tests_sim_libsimbackend_la_LIBADD = tests/sim/libphonesim.la
tests_sim_libsimbackend_la_SOURCES = tests/sim/backend.h tests/sim/backend.c

# The simulated phone in the field of an emulated PN532 on a pseudo-terminal:
# the real libnfc drives it (pn532_uart:<pty>). No libnfc needed to build it.
noinst_PROGRAMS += tests/sim/kazashi-pn532-sim
tests_sim_kazashi_pn532_sim_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_sim_kazashi_pn532_sim_LDADD = tests/sim/libphonesim.la $(CRYPTO_LIBS)
tests_sim_kazashi_pn532_sim_SOURCES = \
	tests/sim/pn532-main.c \
	tests/sim/answer-timing.h tests/sim/answer-timing.c \
	tests/sim/phone-options.h tests/sim/phone-options.c \
	tests/sim/sim-signals.h tests/sim/sim-signals.c \
	tests/sim/pn532.h tests/sim/pn532.c
