# The public header for relying parties, and kazashi.pc, which tells where
# the header and the installed module are (pkg-config --variable=module).
kazashiincludedir = $(includedir)/kazashi
kazashiinclude_HEADERS = include/kazashi/kazashi.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = kazashi.pc
EXTRA_DIST += kazashi.pc.in
CLEANFILES += kazashi.pc
# Written at build time, like p11/kazashi.module, so that the paths follow
# `make prefix=...` as the installed files do.
kazashi.pc: $(srcdir)/kazashi.pc.in Makefile
	$(AM_V_GEN)sed -e 's|@prefix[@]|$(prefix)|g' -e 's|@exec_prefix[@]|$(exec_prefix)|g' \
		-e 's|@libdir[@]|$(libdir)|g' -e 's|@includedir[@]|$(includedir)|g' \
		-e 's|@datarootdir[@]|$(datarootdir)|g' -e 's|@datadir[@]|$(datadir)|g' \
		-e 's|@sysconfdir[@]|$(sysconfdir)|g' -e 's|@p11moduledir[@]|$(p11moduledir)|g' \
		-e 's|@p11configdir[@]|$(p11configdir)|g' -e 's|@VERSION[@]|$(VERSION)|g' \
		$(srcdir)/kazashi.pc.in > $@

# The relying-party example (docs/developers.md): built by `make check` with
# the header of this tree, so that a change to the header that breaks it
# fails here; the package's autopkgtest builds it against kazashi.pc.
check_PROGRAMS += examples/kazashi-tokens
examples_kazashi_tokens_SOURCES = examples/kazashi-tokens.c
examples_kazashi_tokens_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
examples_kazashi_tokens_LDADD = -ldl
