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
