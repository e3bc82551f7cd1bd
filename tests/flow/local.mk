# kz-flow: the link model's relying-party flows through any PKCS#11 module,
# for the tap tests and the benchmark.
noinst_PROGRAMS += tests/flow/kz-flow
tests_flow_kz_flow_SOURCES = tests/flow/flow.c
tests_flow_kz_flow_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(P11KIT_CFLAGS)
tests_flow_kz_flow_LDADD = $(CRYPTO_LIBS) -ldl

# kz-events: slot events, threads and pcscd restarts, for the tap tests.
noinst_PROGRAMS += tests/flow/kz-events
tests_flow_kz_events_SOURCES = tests/flow/events.c
tests_flow_kz_events_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
tests_flow_kz_events_LDADD = $(PTHREAD_LIBS) -ldl

# kz-script: a relying party driven line by line from a test (sessions held
# open while other programs use the card).
noinst_PROGRAMS += tests/flow/kz-script
tests_flow_kz_script_SOURCES = tests/flow/script.c src/pkcs11/rv-name.c
tests_flow_kz_script_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(P11KIT_CFLAGS)
tests_flow_kz_script_LDADD = $(CRYPTO_LIBS) -ldl

# kz-rawsign: a plain PC/SC program with no PIN asking the card for a
# signature, for the shared-card tests.
noinst_PROGRAMS += tests/flow/kz-rawsign
tests_flow_kz_rawsign_SOURCES = tests/flow/rawsign.c
tests_flow_kz_rawsign_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS)
tests_flow_kz_rawsign_LDADD = $(PCSC_LIBS)

# kz-kiosk: one relying-party process through pcscd restarts, readers that
# come and go and one person after another, driven from stdin.
noinst_PROGRAMS += tests/flow/kz-kiosk
tests_flow_kz_kiosk_SOURCES = tests/flow/kiosk.c
tests_flow_kz_kiosk_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
tests_flow_kz_kiosk_LDADD = -ldl

# kz-readers: one relying-party thread per reader signing in a loop, every
# signature timed and verified; for the multi-reader tests and the bench.
noinst_PROGRAMS += tests/flow/kz-readers
tests_flow_kz_readers_SOURCES = tests/flow/readers.c
tests_flow_kz_readers_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS) $(CRYPTO_CFLAGS) $(P11KIT_CFLAGS)
tests_flow_kz_readers_LDADD = $(CRYPTO_LIBS) $(PTHREAD_LIBS) -ldl

# kz-p11load: loads a module, initialises and finalises it; installed setuid
# by tests/integration/secure-env.sh. Nothing of the build linked in, so no
# libtool wrapper (a setuid program ignores LD_LIBRARY_PATH).
noinst_PROGRAMS += tests/flow/kz-p11load
tests_flow_kz_p11load_SOURCES = tests/flow/p11load.c
tests_flow_kz_p11load_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
tests_flow_kz_p11load_LDADD = -ldl

# What the drivers share (clock, sleep, loading a module); header-only.
EXTRA_DIST += tests/flow/driver.h
