/* Configuration: the file, pReserved words (p11-kit's and NSS's forms),
 * KAZASHI_DEBUG, reader filters, and which source wins. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "backend.h"
#include "pkcs11/configuration.h"
#include "pkcs11/module.h"

static char conf_path[64];

static int setup(void **state)
{
	(void)state;
	strcpy(conf_path, "/tmp/kazashi-conf-XXXXXX");
	int fd = mkstemp(conf_path);
	if (fd < 0)
		return -1;
	close(fd);
	unsetenv("KAZASHI_DEBUG");
	setenv("KAZASHI_CONF", conf_path, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(conf_path);
	unsetenv("KAZASHI_DEBUG");
	return 0;
}

static void write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_defaults(void **state)
{
	(void)state;
	kz_config c;
	kz_config_defaults(&c);
	assert_true(c.pcsc);
	assert_int_equal(c.log_level, KZ_LOG_WARN);
	assert_string_equal(c.log_file, "");
	assert_false(c.apdu_trace);
	assert_true(c.extended_apdu);
	assert_string_equal(c.pcsc_readers, "");
	assert_string_equal(c.pcsc_ignore, "");
}

static void test_set(void **state)
{
	(void)state;
	kz_config c;
	kz_config_defaults(&c);
	assert_true(kz_config_set(&c, "pcsc", "off"));
	assert_false(c.pcsc);
	assert_true(kz_config_set(&c, "PCSC", "Yes"));
	assert_true(c.pcsc);
	assert_false(kz_config_set(&c, "pcsc", "maybe"));
	assert_true(c.pcsc);
	const struct {
		const char *v;
		kz_log_level l;
	} levels[] = {{"none", KZ_LOG_NONE}, {"error", KZ_LOG_ERROR}, {"warning", KZ_LOG_WARN},
	              {"warn", KZ_LOG_WARN}, {"INFO", KZ_LOG_INFO},   {"debug", KZ_LOG_DEBUG},
	              {"4", KZ_LOG_DEBUG}};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		assert_true(kz_config_set(&c, "log_level", levels[i].v));
		assert_int_equal(c.log_level, levels[i].l);
	}
	assert_false(kz_config_set(&c, "log_level", "loud"));
	assert_true(kz_config_set(&c, "log_file", "/var/log/kazashi.log"));
	assert_string_equal(c.log_file, "/var/log/kazashi.log");
	assert_true(kz_config_set(&c, "log_file", "stderr"));
	assert_string_equal(c.log_file, "");
	assert_true(kz_config_set(&c, "apdu_trace", "1"));
	assert_true(c.apdu_trace);
	assert_true(kz_config_set(&c, "pcsc_reader", "ACS")); /* the old name */
	assert_string_equal(c.pcsc_readers, "ACS");
	assert_false(kz_config_set(&c, "no_such_key", "1"));
	char long_value[KZ_CONFIG_VALUE_MAX + 1];
	memset(long_value, 'x', sizeof(long_value) - 1);
	long_value[KZ_CONFIG_VALUE_MAX] = '\0';
	assert_false(kz_config_set(&c, "log_file", long_value));
	long_value[KZ_CONFIG_VALUE_MAX - 1] = '\0';
	assert_true(kz_config_set(&c, "log_file", long_value));
}

static void test_reader_filters(void **state)
{
	(void)state;
	kz_config c;
	kz_config_defaults(&c);
	assert_true(kz_config_pcsc_reader_wanted(&c, "Virtual PCD 00 00"));
	assert_true(kz_config_set(&c, "pcsc_readers", " ACS , sony,, "));
	assert_true(kz_config_pcsc_reader_wanted(&c, "ACS ACR1252 Dual Reader [PICC] 00 00"));
	assert_true(kz_config_pcsc_reader_wanted(&c, "SONY FeliCa RC-S300/P 00 00"));
	assert_false(kz_config_pcsc_reader_wanted(&c, "Virtual PCD 00 00"));
	assert_true(kz_config_set(&c, "pcsc_ignore", "SAM"));
	assert_false(kz_config_pcsc_reader_wanted(&c, "ACS ACR1252 Dual Reader [SAM] 00 01"));
	assert_true(kz_config_pcsc_reader_wanted(&c, "ACS ACR1252 Dual Reader [PICC] 00 00"));
	assert_true(kz_config_set(&c, "pcsc_readers", ""));
	assert_true(kz_config_pcsc_reader_wanted(&c, "Virtual PCD 00 00"));
	assert_false(kz_config_pcsc_reader_wanted(&c, "Anything SAM 00"));
}

static void test_words(void **state)
{
	(void)state;
	kz_config c;
	kz_config_defaults(&c);
	kz_config_apply_words(&c, "  log_level=info\tpcsc_readers='ACS, Sony'  "
	                          "log_file=\"/tmp/a b.log\" apdu_trace=yes");
	assert_int_equal(c.log_level, KZ_LOG_INFO);
	assert_string_equal(c.pcsc_readers, "ACS, Sony");
	assert_string_equal(c.log_file, "/tmp/a b.log");
	assert_true(c.apdu_trace);

	/* NSS's own parameters pass through, quoted its ways. */
	kz_config_defaults(&c);
	kz_config_apply_words(&c, "configdir='sql:/etc/pki/nssdb' certPrefix='' "
	                          "tokenDescription={NSS Certificate DB} "
	                          "slotParams=(1={slotFlags=[RSA,DSA] askpw=any}) "
	                          "pcsc_ignore=<SAM, PICC> log_file='it\\'s.log' flags=readOnly");
	assert_string_equal(c.pcsc_ignore, "SAM, PICC");
	assert_string_equal(c.log_file, "it's.log");
	assert_int_equal(c.log_level, KZ_LOG_WARN);

	/* Junk is stepped over; an unterminated quote ends the string. */
	kz_config_defaults(&c);
	kz_config_apply_words(&c, "= =x x= stray log_level=debug");
	assert_int_equal(c.log_level, KZ_LOG_DEBUG);
	kz_config_apply_words(&c, "log_level=error log_file='open log_level=info");
	assert_int_equal(c.log_level, KZ_LOG_ERROR);
	assert_string_equal(c.log_file, "");
	kz_config_apply_words(&c, NULL);
	kz_config_apply_words(&c, "");
}

static void test_file(void **state)
{
	(void)state;
	write_conf("# kazashi.conf\n"
	           "\n"
	           "pcsc = no\n"
	           "  log_level = debug   # as loud as it gets\n"
	           "pcsc_readers = \"ACS, Sony\"\n"
	           "this line is not a setting\n"
	           "unknown_key = 1\n"
	           "extended_apdu=off\n");
	kz_config c;
	kz_config_defaults(&c);
	kz_config_load_file(&c);
	assert_false(c.pcsc);
	assert_int_equal(c.log_level, KZ_LOG_DEBUG);
	assert_string_equal(c.pcsc_readers, "ACS, Sony");
	assert_false(c.extended_apdu);

	/* No file: the defaults. */
	setenv("KAZASHI_CONF", "/nonexistent/kazashi.conf", 1);
	kz_config_defaults(&c);
	kz_config_load_file(&c);
	assert_true(c.pcsc);
	setenv("KAZASHI_CONF", conf_path, 1);
}

static void test_debug_env(void **state)
{
	(void)state;
	kz_config c;
	kz_config_defaults(&c);
	assert_true(kz_config_set(&c, "log_file", "/tmp/x.log"));
	setenv("KAZASHI_DEBUG", "0", 1);
	kz_config_apply_env(&c);
	assert_int_equal(c.log_level, KZ_LOG_WARN);
	setenv("KAZASHI_DEBUG", "1", 1);
	kz_config_apply_env(&c);
	assert_int_equal(c.log_level, KZ_LOG_DEBUG);
	assert_true(c.apdu_trace);
	assert_string_equal(c.log_file, ""); /* a quick trace goes to stderr */
}

/* File, then pReserved, then KAZASHI_DEBUG: later wins. */
static void test_precedence(void **state)
{
	(void)state;
	kz_test_backend = &sim_backend_ops;
	unsetenv("KAZASHI_DEBUG");
	write_conf("log_level = error\npcsc_ignore = SAM\n");
	CK_C_INITIALIZE_ARGS args = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, "log_level=info"};
	assert_int_equal(kz_module_initialize(&args), CKR_OK);
	assert_int_equal(kz_mod.config.log_level, KZ_LOG_INFO);
	assert_string_equal(kz_mod.config.pcsc_ignore, "SAM");
	assert_int_equal(kz_module_finalize(), CKR_OK);
	setenv("KAZASHI_DEBUG", "1", 1);
	assert_int_equal(kz_module_initialize(&args), CKR_OK);
	assert_int_equal(kz_mod.config.log_level, KZ_LOG_DEBUG);
	assert_int_equal(kz_module_finalize(), CKR_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),       cmocka_unit_test(test_set),
	    cmocka_unit_test(test_reader_filters), cmocka_unit_test(test_words),
	    cmocka_unit_test(test_file),           cmocka_unit_test(test_debug_env),
	    cmocka_unit_test(test_precedence),
	};
	return cmocka_run_group_tests_name("p11-config", tests, setup, teardown);
}
