/* Configuration: the file, pReserved words (p11-kit's and NSS's forms),
 * KAZASHI_DEBUG, reader filters, and which source wins; over-long lines,
 * one warning a file, and files that are not regular files. (What a
 * privileged process ignores is tested for real, setuid:
 * tests/integration/secure-env.sh.) */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* kz_config_load_file(c) with stderr caught: what it printed, malloc'ed.
 * alarm: a file that blocked the read would hang the test otherwise. */
static char *load_caught(kz_config *c)
{
	char path[] = "/tmp/kazashi-stderr-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	alarm(10);
	kz_config_load_file(c);
	alarm(0);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	off_t n = lseek(fd, 0, SEEK_END);
	char *text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)n, 0), n);
	close(fd);
	unlink(path);
	return text;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
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
	assert_false(c.lock_login);
	assert_false(c.ca_certificates); /* ssh-keygen -D lists the user's key only */
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
	assert_true(kz_config_set(&c, "lock_login", "yes"));
	assert_true(c.lock_login);
	assert_true(kz_config_set(&c, "Lock_Login", "off"));
	assert_false(c.lock_login);
	assert_false(kz_config_set(&c, "lock_login", "sometimes"));
	assert_true(kz_config_set(&c, "ca_certificates", "yes"));
	assert_true(c.ca_certificates);
	assert_true(kz_config_set(&c, "CA_Certificates", "0"));
	assert_false(c.ca_certificates);
	assert_false(kz_config_set(&c, "ca_certificates", "some"));
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

	/* lock_login is a word like the others (p11-kit's x-init-reserved). */
	kz_config_defaults(&c);
	kz_config_apply_words(&c, "lock_login=yes");
	assert_true(c.lock_login);

	/* So is ca_certificates: NSS's module parameters turn it on for the
	 * browser alone. */
	kz_config_defaults(&c);
	kz_config_apply_words(&c, "configdir='sql:/x' ca_certificates=on");
	assert_true(c.ca_certificates);

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
	           "extended_apdu=off\n"
	           "ca_certificates = yes\n");
	kz_config c;
	kz_config_defaults(&c);
	kz_config_load_file(&c);
	assert_false(c.pcsc);
	assert_int_equal(c.log_level, KZ_LOG_DEBUG);
	assert_string_equal(c.pcsc_readers, "ACS, Sony");
	assert_false(c.extended_apdu);
	assert_true(c.ca_certificates);

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

/* A line longer than 511 bytes is skipped whole, with a warning that names
 * it: cut by a fixed buffer, the tail of a long comment would be read as a
 * line of its own, here a setting. 511 bytes exactly is still a line. */
static void test_long_line(void **state)
{
	(void)state;
	char text[2048], *w = text;
	w += sprintf(w, "pcsc = no\n");
	/* line 2: a comment whose byte 512 on reads "log_level = debug" */
	w += sprintf(w, "#");
	memset(w, '-', 510);
	w += 510;
	w += sprintf(w, "log_level = debug\n");
	/* line 3: a setting padded with blanks to 511 bytes exactly */
	int n = sprintf(w, "nfc = no");
	memset(w + n, ' ', (size_t)(KZ_CONFIG_LINE_MAX - n));
	w += KZ_CONFIG_LINE_MAX;
	w += sprintf(w, "\nextended_apdu = off\n");
	write_conf(text);
	kz_config c;
	kz_config_defaults(&c);
	char *err = load_caught(&c);
	assert_false(c.pcsc);
	assert_int_equal(c.log_level, KZ_LOG_WARN); /* the tail was not a setting */
	assert_false(c.nfc);                        /* 511 bytes: read */
	assert_false(c.extended_apdu);              /* the line after: read */
	char want[256];
	snprintf(want, sizeof(want), "kazashi: %s:2: ignoring a line longer than 511 bytes\n",
	         conf_path);
	assert_string_equal(err, want);
	free(err);

	/* 512 bytes of a setting: too long too, however harmless. */
	n = sprintf(text, "nfc = no");
	memset(text + n, ' ', (size_t)(KZ_CONFIG_LINE_MAX + 1 - n));
	strcpy(text + KZ_CONFIG_LINE_MAX + 1, "\n");
	write_conf(text);
	kz_config_defaults(&c);
	err = load_caught(&c);
	assert_true(c.nfc);
	snprintf(want, sizeof(want), "kazashi: %s:1: ignoring a line longer than 511 bytes\n",
	         conf_path);
	assert_string_equal(err, want);
	free(err);
}

/* A file that is not a configuration (KAZASHI_CONF=/etc/shadow, were the
 * caller to name one a privileged process reads) gets one warning, which
 * names its first bad line and counts none: its lines are not reported
 * one by one. Good lines still apply. */
static void test_one_warning(void **state)
{
	(void)state;
	write_conf("root:$6$salt$hash:19000:0:99999:7:::\n"
	           "daemon:*:19000:0:99999:7:::\n"
	           "\n"
	           "log_level = info\n"
	           "bin:*:19000:0:99999:7:::\n"
	           "nobody:*:19000:0:99999:7:::\n");
	kz_config c;
	kz_config_defaults(&c);
	char *err = load_caught(&c);
	assert_int_equal(c.log_level, KZ_LOG_INFO);
	assert_int_equal(count_lines(err), 1);
	char want[256];
	snprintf(want, sizeof(want),
	         "kazashi: %s:1: ignoring an unknown or malformed setting, and more lines after "
	         "it\n",
	         conf_path);
	assert_string_equal(err, want);
	assert_null(strstr(err, "root"));
	free(err);

	/* A NUL byte makes a line malformed (what follows it is unseen). */
	static const char binary[] = "pcsc = no\nlog_level = error\0 ignored\n";
	FILE *f = fopen(conf_path, "w");
	assert_non_null(f);
	fwrite(binary, 1, sizeof(binary) - 1, f);
	fclose(f);
	kz_config_defaults(&c);
	err = load_caught(&c);
	assert_false(c.pcsc);
	assert_int_equal(c.log_level, KZ_LOG_WARN);
	snprintf(want, sizeof(want), "kazashi: %s:2: ignoring an unknown or malformed setting\n",
	         conf_path);
	assert_string_equal(err, want);
	free(err);
}

/* Only a regular file is read: a FIFO nobody writes to must not block
 * C_Initialize (load_caught's alarm would end the test), /dev/null reads
 * as no file, and neither is worth a warning. */
static void test_not_regular(void **state)
{
	(void)state;
	char fifo[sizeof(conf_path) + 8];
	snprintf(fifo, sizeof(fifo), "%s.fifo", conf_path);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	const char *paths[] = {fifo, "/dev/null", "/tmp"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		setenv("KAZASHI_CONF", paths[i], 1);
		kz_config c;
		kz_config_defaults(&c);
		char *err = load_caught(&c);
		assert_string_equal(err, "");
		assert_true(c.pcsc);
		free(err);
	}
	unlink(fifo);
	setenv("KAZASHI_CONF", conf_path, 1);
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
	    cmocka_unit_test(test_precedence),     cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_one_warning),    cmocka_unit_test(test_not_regular),
	};
	return cmocka_run_group_tests_name("p11-config", tests, setup, teardown);
}
