# The module: everything but the exported entry points lives in a
# convenience library that unit tests link too.
noinst_LTLIBRARIES += src/libkazashi-core.la
src_libkazashi_core_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(P11KIT_CFLAGS) $(PCSC_CFLAGS)
src_libkazashi_core_la_CPPFLAGS = $(AM_CPPFLAGS) -DKZ_SYSCONFDIR=\"$(sysconfdir)\"
src_libkazashi_core_la_LIBADD = $(CRYPTO_LIBS) $(PCSC_LIBS) $(PTHREAD_LIBS)
src_libkazashi_core_la_SOURCES = \
	src/util/err.h src/util/err.c \
	src/util/log.h src/util/log.c \
	src/apdu/apdu.h src/apdu/apdu.c \
	src/reader/reader.h src/reader/pcsc.c \
	src/jpki/jpki.h src/jpki/jpki.c \
	src/jpki/pin.h src/jpki/pin.c \
	src/jpki/cert.h src/jpki/cert.c \
	src/pkcs11/p11.h \
	src/pkcs11/module.h src/pkcs11/module.c \
	src/pkcs11/lock.h src/pkcs11/lock.c \
	src/pkcs11/configuration.h src/pkcs11/configuration.c \
	src/pkcs11/rv.h src/pkcs11/rv.c \
	src/pkcs11/rv-name.h src/pkcs11/rv-name.c \
	src/pkcs11/slot.h src/pkcs11/slot.c \
	src/pkcs11/token.h src/pkcs11/token.c \
	src/pkcs11/object.h src/pkcs11/object.c \
	src/pkcs11/session.h src/pkcs11/session.c \
	src/pkcs11/mech.h src/pkcs11/mech.c \
	src/pkcs11/sign.h src/pkcs11/sign.c \
	src/pkcs11/find.h src/pkcs11/find.c \
	src/pkcs11/login.h src/pkcs11/login.c \
	src/pkcs11/event.h src/pkcs11/event.c \
	src/pkcs11/backends.h src/pkcs11/backends.c \
	src/pkcs11/call.h \
	src/pkcs11/interface.c \
	src/pkcs11/entry30.h src/pkcs11/entry30.c

p11module_LTLIBRARIES += src/kazashi-pkcs11.la
src_kazashi_pkcs11_la_SOURCES = src/pkcs11/entry.c
src_kazashi_pkcs11_la_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
src_kazashi_pkcs11_la_LIBADD = src/libkazashi-core.la
src_kazashi_pkcs11_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -no-undefined \
	-Wl,--version-script=$(srcdir)/src/pkcs11/kazashi.sym
EXTRA_src_kazashi_pkcs11_la_DEPENDENCIES = $(srcdir)/src/pkcs11/kazashi.sym
EXTRA_DIST += src/pkcs11/kazashi.sym

# p11-kit loads the module by its .so; libtool's .la has no use there.
# (The module directory has no "exec" in its name, so automake installs it
# with the data: the hook must run after that.)
install-data-hook:
	rm -f $(DESTDIR)$(p11moduledir)/kazashi-pkcs11.la
# Without the .la, libtool's uninstall does not know the .so.
uninstall-hook:
	rm -f $(DESTDIR)$(p11moduledir)/kazashi-pkcs11.so

# The libnfc reader back end, when configure found libnfc >= 1.8.
if HAVE_LIBNFC
src_libkazashi_core_la_SOURCES += src/reader/nfc.c
src_libkazashi_core_la_CFLAGS += $(NFC_CFLAGS)
src_libkazashi_core_la_LIBADD += $(NFC_LIBS)
endif
