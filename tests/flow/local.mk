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
