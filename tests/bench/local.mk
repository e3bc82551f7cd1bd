# The benchmark (make bench): the link model's flows against the simulated
# phone behind a private pcscd, kazashi and OpenSC's module side by side,
# and their CPU cost under callgrind. Prints figures, asserts none; fails
# only when one of kazashi's flows does. Needs root (private namespaces),
# pcscd with vsmartcard's vpcd, jq, and valgrind for the CPU part.
# docs/performance.md reads the figures.
EXTRA_DIST += tests/bench/bench.sh

.PHONY: bench
bench: all
	srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' KZ_MODULE='$(KZ_MODULE)' \
		bash '$(abs_top_srcdir)/tests/bench/bench.sh'

# The soak (make soak): one process, the module loaded, 10,000 taps with
# every 10th torn during the signature; memory, descriptors, threads and
# latency every 1,000 taps (tests/bench/soak.c, soak.sh). The module's code
# in-process with the simulated phone as its reader back end. CI runs the
# short version (300 taps) as a test.
noinst_PROGRAMS += tests/bench/kz-soak
tests_bench_kz_soak_SOURCES = tests/bench/soak.c src/pkcs11/entry.c
tests_bench_kz_soak_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/sim
tests_bench_kz_soak_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(P11KIT_CFLAGS)
tests_bench_kz_soak_LDADD = src/libkazashi-core.la tests/sim/libsimbackend.la \
	tests/sim/libphonesim.la $(CRYPTO_LIBS) $(PTHREAD_LIBS) -ldl
TESTS += tests/bench/soak-short.sh
EXTRA_DIST += tests/bench/soak.sh tests/bench/soak-short.sh

.PHONY: soak
soak: tests/bench/kz-soak
	srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		bash '$(abs_top_srcdir)/tests/bench/soak.sh'

# The same through the real pcscd + vpcd (private namespaces; root):
# 0.8 s a tap, pcscd's polling of vpcd, so 1,000 taps by default.
EXTRA_DIST += tests/bench/soak-pcscd.sh
.PHONY: soak-pcscd
soak-pcscd: tests/bench/kz-soak
	srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' KZ_MODULE='$(KZ_MODULE)' \
		bash '$(abs_top_srcdir)/tests/bench/soak-pcscd.sh'
