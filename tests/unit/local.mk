# cmocka unit tests: fast, in-process, no daemon.
if HAVE_CMOCKA
unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CRYPTO_CFLAGS) $(P11KIT_CFLAGS) $(PCSC_CFLAGS)
unit_ldadd = src/libkazashi-core.la tests/sim/libphonesim.la $(CMOCKA_LIBS) $(CRYPTO_LIBS)
endif
