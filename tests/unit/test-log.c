/* Logging: format, level filter, PIN redaction in APDU traces, threads,
 * the log file's mode and what is refused as a log file (a symbolic link,
 * a FIFO); and the error names. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/err.h"
#include "util/log.h"

static char log_path[64];

static int setup(void **state)
{
	(void)state;
	snprintf(log_path, sizeof log_path, "/tmp/kazashi-log-XXXXXX");
	int fd = mkstemp(log_path);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(log_path); /* the module creates it */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kz_log_configure(KZ_LOG_ERROR, NULL, false);
	unlink(log_path);
	return 0;
}

/* Start each test with an empty log file at level, trace as given. */
static void fresh_log(kz_log_level level, bool trace)
{
	kz_log_close();
	unlink(log_path);
	kz_log_configure(level, log_path, trace);
}

/* The whole log file, malloc'ed and NUL-terminated. */
static char *slurp(void)
{
	FILE *f = fopen(log_path, "r");
	assert_non_null(f);
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_err_names(void **state)
{
	(void)state;
	for (int i = KZ_OK; i <= KZ_E_CARD; i++) {
		const char *s = kz_err_str((kz_err)i);
		assert_non_null(s);
		assert_string_not_equal(s, "unknown error");
		for (int j = KZ_OK; j < i; j++)
			assert_string_not_equal(s, kz_err_str((kz_err)j));
	}
	assert_string_equal(kz_err_str(KZ_E_REMOVED), "phone removed");
	assert_string_equal(kz_err_str((kz_err)1000), "unknown error");
	assert_string_equal(kz_err_str((kz_err)-1), "unknown error");
}

static void test_line_format(void **state)
{
	(void)state;
	fresh_log(KZ_LOG_INFO, false);
	kz_log(KZ_LOG_INFO, "hello %d", 42);
	KZ_DEBUG("not shown");
	KZ_WARN("warned");
	KZ_ERROR("failed: %s", "x");
	kz_log(KZ_LOG_NONE, "never");
	char want[256];
	snprintf(want, sizeof want,
	         "kazashi[%ld]: INFO: hello 42\nkazashi[%ld]: WARN: warned\n"
	         "kazashi[%ld]: ERROR: failed: x\n",
	         (long)getpid(), (long)getpid(), (long)getpid());
	char *got = slurp();
	assert_string_equal(got, want);
	free(got);

	/* owner-only: a trace holds certificates */
	struct stat st;
	assert_int_equal(stat(log_path, &st), 0);
	assert_int_equal(st.st_mode & 0077, 0);
}

static void test_levels(void **state)
{
	(void)state;
	fresh_log(KZ_LOG_WARN, false);
	assert_true(kz_log_enabled(KZ_LOG_ERROR));
	assert_true(kz_log_enabled(KZ_LOG_WARN));
	assert_false(kz_log_enabled(KZ_LOG_INFO));
	assert_false(kz_log_enabled(KZ_LOG_NONE));
	fresh_log(KZ_LOG_NONE, false);
	assert_false(kz_log_enabled(KZ_LOG_ERROR));
	KZ_ERROR("silent");
	fresh_log((kz_log_level)99, false); /* clamped to DEBUG */
	assert_true(kz_log_enabled(KZ_LOG_DEBUG));
	char *got = slurp();
	assert_string_equal(got, "");
	free(got);
}

static void test_sanitise_and_truncate(void **state)
{
	(void)state;
	fresh_log(KZ_LOG_DEBUG, false);
	KZ_INFO("a\nkazashi[1]: ERROR: forged\r\x1b[2J");
	char *big = malloc(5000);
	assert_non_null(big);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	KZ_INFO("%s", big);
	free(big);
	KZ_INFO("公的　太郎");
	char *got = slurp();
	assert_non_null(strstr(got, "INFO: a?kazashi[1]: ERROR: forged??[2J\n"));
	assert_non_null(strstr(got, "xxx...\n"));
	assert_non_null(strstr(got, "INFO: 公的　太郎\n"));
	/* three lines, no more */
	int lines = 0;
	for (char *p = got; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 3);
	free(got);
}

static void test_apdu_trace(void **state)
{
	(void)state;
	static const uint8_t verify[] = {0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34};
	static const uint8_t change[] = {0x00, 0x24, 0x01, 0x80, 0x06, 'A',
	                                 'B',  'C',  '1',  '2',  '3'};
	static const uint8_t verify_ext[] = {0x00, 0x20, 0x00, 0x80, 0x00, 0x00,
	                                     0x04, 0x35, 0x36, 0x37, 0x38};
	static const uint8_t query[] = {0x00, 0x20, 0x00, 0x80};
	static const uint8_t odd[] = {0x00, 0x20, 0x00, 0x80, 0x00, 0x39};
	static const uint8_t select[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18};
	static const uint8_t tries[] = {0x63, 0xC2};

	/* off: nothing, whatever the level */
	fresh_log(KZ_LOG_DEBUG, false);
	kz_log_apdu("r", verify, sizeof verify, tries, 2);
	char *got = slurp();
	assert_string_equal(got, "");
	free(got);

	/* on: shown even at a low level */
	fresh_log(KZ_LOG_ERROR, true);
	kz_log_apdu("reader 0", verify, sizeof verify, tries, 2);
	kz_log_apdu("reader 0", change, sizeof change, NULL, 0);
	kz_log_apdu("reader 0", verify_ext, sizeof verify_ext, NULL, 0);
	kz_log_apdu("reader 0", query, sizeof query, tries, sizeof tries);
	kz_log_apdu("reader 0", odd, sizeof odd, NULL, 0);
	kz_log_apdu(NULL, select, sizeof select, tries, 0);
	kz_log_apdu(NULL, NULL, 0, NULL, 0);
	kz_log_apdu("r", NULL, 5, NULL, 7);
	got = slurp();
	assert_non_null(strstr(got, "reader 0: apdu > 00 20 00 80 04 ** ** ** **\n"));
	assert_non_null(strstr(got, "reader 0: apdu < 63 C2\n"));
	assert_non_null(strstr(got, "reader 0: apdu > 00 24 01 80 06 ** ** ** ** ** **\n"));
	assert_non_null(strstr(got, "reader 0: apdu > 00 20 00 80 00 00 04 ** ** ** **\n"));
	assert_non_null(strstr(got, "reader 0: apdu > 00 20 00 80\n"));
	assert_non_null(strstr(got, "reader 0: apdu > 00 20 00 80 00 **\n"));
	assert_non_null(strstr(got, "?: apdu > 00 A4 02 0C 02 00 18\n"));
	assert_non_null(strstr(got, "?: apdu <\n"));
	/* no PIN digit in clear anywhere */
	assert_null(strstr(got, "31 32"));
	assert_null(strstr(got, "41 42 43"));
	assert_null(strstr(got, "35 36"));
	assert_null(strstr(got, " 39"));
	free(got);
}

static void test_null_and_bad_path(void **state)
{
	(void)state;
	const char *volatile nofmt = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"
	kz_log(KZ_LOG_ERROR, nofmt);
#pragma GCC diagnostic pop
	/* a file that cannot be opened: stderr, no failure */
	kz_log_configure(KZ_LOG_ERROR, "/nonexistent-dir/kazashi.log", false);
	KZ_ERROR("to stderr, as the file cannot be opened");
	kz_log_configure(KZ_LOG_ERROR, "", false);
	kz_log_close();
	kz_log_close();
}

/* kz_log_configure(level, path, false) and one error line, with stderr
 * caught; what stderr got, malloc'ed. alarm: an open that blocked (a FIFO
 * nobody reads) would hang the test otherwise. */
static char *configure_caught(const char *path)
{
	char out[] = "/tmp/kazashi-stderr-XXXXXX";
	int fd = mkstemp(out);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	alarm(10);
	kz_log_configure(KZ_LOG_WARN, path, false);
	alarm(0);
	KZ_ERROR("marker line");
	fflush(stderr);
	kz_log_configure(KZ_LOG_ERROR, NULL, false);
	dup2(saved, STDERR_FILENO);
	close(saved);
	off_t n = lseek(fd, 0, SEEK_END);
	char *text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)n, 0), n);
	close(fd);
	unlink(out);
	return text;
}

/* A new log file is 0600 whatever the umask: an APDU trace holds the
 * signature certificate's name and address. */
static void test_file_mode(void **state)
{
	(void)state;
	mode_t old = umask(0);
	fresh_log(KZ_LOG_ERROR, false);
	umask(old);
	KZ_ERROR("mode");
	struct stat st;
	assert_int_equal(stat(log_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	kz_log_configure(KZ_LOG_ERROR, NULL, false);
}

/* A symbolic link at the log path is not followed (O_NOFOLLOW): a
 * privileged host must not append to whatever file someone linked
 * there. The lines go to stderr, which says why. */
static void test_symlink_refused(void **state)
{
	(void)state;
	char target[sizeof(log_path) + 8];
	snprintf(target, sizeof(target), "%s.real", log_path);
	int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
	unlink(log_path);
	assert_int_equal(symlink(target, log_path), 0);
	char *err = configure_caught(log_path);
	char want[256];
	snprintf(want, sizeof(want),
	         "WARN: cannot open log file %s: it is a symbolic link; logging to stderr\n",
	         log_path);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "ERROR: marker line\n"));
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 0); /* nothing went through the link */
	assert_int_equal(lstat(log_path, &st), 0);
	assert_true(S_ISLNK(st.st_mode)); /* and it is still a link */
	free(err);
	unlink(log_path);
	unlink(target);
}

/* A FIFO is no log file, read or not: opening it must neither block
 * C_Initialize until someone reads (configure_caught's alarm) nor hand
 * the log lines to whoever reads. */
static void test_fifo_refused(void **state)
{
	(void)state;
	unlink(log_path);
	assert_int_equal(mkfifo(log_path, 0600), 0);
	char want[256];
	snprintf(want, sizeof(want),
	         "WARN: cannot open log file %s: it is not a regular file; logging to stderr\n",
	         log_path);
	/* nobody reading */
	char *err = configure_caught(log_path);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "ERROR: marker line\n"));
	free(err);
	/* someone reading */
	int rd = open(log_path, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	err = configure_caught(log_path);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "ERROR: marker line\n"));
	char buf[64];
	errno = 0;
	ssize_t got = read(rd, buf, sizeof(buf));
	assert_true(got == 0 || (got < 0 && errno == EAGAIN)); /* nothing came */
	close(rd);
	free(err);
	unlink(log_path);
}

#define THREADS 8
#define LINES   300

static void *writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	static const uint8_t cmd[] = {0x00, 0xB0, 0x00, 0x00, 0x00};
	for (int i = 0; i < LINES; i++) {
		KZ_INFO("thread %d line %d padding padding padding padding", id, i);
		kz_log_apdu("t", cmd, sizeof cmd, NULL, 0);
	}
	return NULL;
}

/* Lines from threads never interleave. */
static void test_threads(void **state)
{
	(void)state;
	fresh_log(KZ_LOG_INFO, true);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	char *got = slurp();
	int lines = 0;
	char prefix[64];
	int plen = snprintf(prefix, sizeof prefix, "kazashi[%ld]: ", (long)getpid());
	for (char *line = strtok(got, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		assert_memory_equal(line, prefix, (size_t)plen);
		const char *rest = line + plen;
		if (strncmp(rest, "INFO: thread ", 13) == 0)
			assert_non_null(strstr(rest, " padding padding padding padding"));
		else
			assert_string_equal(rest, "DEBUG: t: apdu > 00 B0 00 00 00");
		lines++;
	}
	assert_int_equal(lines, THREADS * LINES * 2);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_err_names),       cmocka_unit_test(test_line_format),
	    cmocka_unit_test(test_levels),          cmocka_unit_test(test_sanitise_and_truncate),
	    cmocka_unit_test(test_apdu_trace),      cmocka_unit_test(test_null_and_bad_path),
	    cmocka_unit_test(test_threads),         cmocka_unit_test(test_file_mode),
	    cmocka_unit_test(test_symlink_refused), cmocka_unit_test(test_fifo_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
