# The kazashi command: a PKCS#11 client of the module (it dlopens it like
# any relying party); of the module it links only the table of CKR_ names.
bin_PROGRAMS += src/tools/kazashi
src_tools_kazashi_SOURCES = \
	src/tools/main.c \
	src/tools/cli.h src/tools/cli.c \
	src/tools/commands.h \
	src/tools/exitcode.h src/tools/exitcode.c \
	src/tools/json.h src/tools/json.c \
	src/tools/module.h src/tools/module.c \
	src/pkcs11/rv-name.h src/pkcs11/rv-name.c \
	src/tools/deadline.h src/tools/deadline.c \
	src/tools/slots.h src/tools/slots.c \
	src/tools/tap.h src/tools/tap.c \
	src/tools/secret.h src/tools/secret.c \
	src/tools/token.h src/tools/token.c \
	src/tools/certinfo.h src/tools/certinfo.c \
	src/tools/trust.h src/tools/trust.c \
	src/tools/holderdata.h src/tools/holderdata.c \
	src/tools/cms.h src/tools/cms.c \
	src/tools/outfile.h src/tools/outfile.c \
	src/tools/cmd_list.c \
	src/tools/cmd_wait.c \
	src/tools/cmd_auth.c \
	src/tools/cmd_holder.c \
	src/tools/cmd_pin.c \
	src/tools/cmd_sign.c
src_tools_kazashi_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(P11KIT_CFLAGS)
src_tools_kazashi_CPPFLAGS = $(AM_CPPFLAGS) -DKZ_DEFAULT_MODULE=\"$(p11moduledir)/kazashi-pkcs11.so\"
src_tools_kazashi_LDADD = $(CRYPTO_LIBS) -ldl
# The default module's path is compiled in: after a reconfigure with another
# prefix (scripts/build.sh does that), make must compile it again.
src/tools/kazashi-module.$(OBJEXT): Makefile

dist_man_MANS += doc/kazashi.1

# Shared by the tests/integration/kazashi-*.sh tests; sourced, not run.
EXTRA_DIST += tests/integration/kazashi-common.sh
