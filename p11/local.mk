# The p11-kit module file names the module by its installed path, so that
# a --prefix build registers the module it installed, not another one.
p11config_DATA += p11/kazashi.module
EXTRA_DIST += p11/kazashi.module.in
CLEANFILES += p11/kazashi.module
p11/kazashi.module: $(srcdir)/p11/kazashi.module.in Makefile
	$(AM_V_GEN)$(MKDIR_P) p11 && sed -e 's|@p11moduledir[@]|$(p11moduledir)|g' $(srcdir)/p11/kazashi.module.in > $@
