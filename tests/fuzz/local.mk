# libFuzzer harnesses (./configure --enable-fuzzing CC=clang): the APDU
# layer's answer parsing, certificates and token info as a phone serves
# them, and the whole module through its PKCS#11 entry points with every
# answer from the fuzzer. `make fuzz` runs each for $(FUZZ_SECONDS) from
# its seed corpus (tests/fuzz/corpus-*) and prints the exec counts;
# scripts/ci-fuzz.sh is the short run of CI. tests/fuzz/README.md says
# how to replay a finding.
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/README.md tests/fuzz/make-seeds.py \
	tests/fuzz/corpus-apdu tests/fuzz/corpus-cert tests/fuzz/corpus-module

if ENABLE_FUZZING
fuzz_programs = tests/fuzz/fuzz-apdu tests/fuzz/fuzz-cert tests/fuzz/fuzz-module
noinst_PROGRAMS += $(fuzz_programs)

fuzz_cflags = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(P11KIT_CFLAGS) $(PCSC_CFLAGS)
# libFuzzer's own main() links in the harnesses only; everything else is
# built with -fsanitize=fuzzer-no-link (configure.ac).
fuzz_ldflags = $(AM_LDFLAGS) -fsanitize=fuzzer
fuzz_stream = tests/fuzz/stream.h tests/fuzz/stream.c

tests_fuzz_fuzz_apdu_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_apdu_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_apdu_LDADD = src/libkazashi-core.la $(CRYPTO_LIBS)
tests_fuzz_fuzz_apdu_SOURCES = tests/fuzz/fuzz-apdu.c $(fuzz_stream)

tests_fuzz_fuzz_cert_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_cert_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_cert_LDADD = src/libkazashi-core.la $(CRYPTO_LIBS)
tests_fuzz_fuzz_cert_SOURCES = tests/fuzz/fuzz-cert.c

tests_fuzz_fuzz_module_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/sim
tests_fuzz_fuzz_module_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_module_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_module_LDADD = src/libkazashi-core.la tests/sim/libsimbackend.la \
	tests/sim/libphonesim.la $(CRYPTO_LIBS) $(PTHREAD_LIBS) -ldl
tests_fuzz_fuzz_module_SOURCES = tests/fuzz/fuzz-module.c src/pkcs11/entry.c $(fuzz_stream)

FUZZ_SECONDS = 600
fuzz: $(fuzz_programs)
	$(SHELL) $(srcdir)/tests/fuzz/run.sh $(FUZZ_SECONDS) $(srcdir)/tests/fuzz \
		tests/fuzz fuzz-corpus apdu cert module
else
fuzz:
	@echo "make fuzz: configure with --enable-fuzzing CC=clang first" >&2; exit 1
endif
.PHONY: fuzz
