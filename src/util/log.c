/* Logging for a library that lives inside someone else's process (a browser,
 * a kiosk application): quiet unless asked, never fatal, thread-safe, and
 * never a way to leak a PIN. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

/* Longest message kept; longer ones are cut and marked. A log line is for a
 * person reading it, and a bounded stack buffer means logging never
 * allocates on the common path. */
#define KZ_LOG_MSG_MAX 1024

/* Errors only until configured: a module must not chatter on the stderr of
 * the program that loaded it, but an error before the configuration is read
 * is still worth a line. */
static atomic_int g_level = KZ_LOG_ERROR;
static atomic_bool g_trace = false;

/* g_lock guards g_file and every write, so that lines from several threads
 * never interleave. g_file NULL means stderr. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *g_file;

static const char *level_name(kz_log_level level)
{
	switch (level) {
	case KZ_LOG_ERROR:
		return "ERROR";
	case KZ_LOG_WARN:
		return "WARN";
	case KZ_LOG_INFO:
		return "INFO";
	case KZ_LOG_DEBUG:
		return "DEBUG";
	case KZ_LOG_NONE:
		break;
	}
	return "LOG";
}

/* Open path for appending, or NULL with *why saying why not. O_CLOEXEC so
 * that a program that forks and execs does not hand our log to its
 * children; 0600 because an APDU trace holds certificates, and the
 * signature certificate carries name and address.
 *
 * Only a regular file, and never through a symbolic link at the path
 * itself (O_NOFOLLOW): a privileged host (root running a PAM module) must
 * not be steered into appending to a file someone else chose, by a link
 * planted in a shared directory or by a FIFO or device put at the path.
 * O_NONBLOCK only so that opening a FIFO fails or returns at once instead
 * of hanging C_Initialize until someone reads it; it is cleared again. */
static FILE *open_log_file(const char *path, const char **why)
{
	int fd = open(
	    path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK,
	    S_IRUSR | S_IWUSR);
	if (fd < 0) {
		/* ELOOP is what O_NOFOLLOW gives for a link; ENXIO a FIFO
		 * nobody reads. */
		*why = errno == ELOOP   ? "it is a symbolic link"
		       : errno == ENXIO ? "it is not a regular file"
		                        : strerror(errno);
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, O_APPEND) != 0) {
		*why = "it is not a regular file";
		close(fd);
		return NULL;
	}
	FILE *f = fdopen(fd, "a");
	if (f == NULL) {
		*why = strerror(errno);
		close(fd);
		return NULL;
	}
	/* Line-buffered: each line reaches the file whole and at once, so a
	 * crash of the host program does not eat the last lines. */
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

static void close_file_locked(void)
{
	if (g_file != NULL)
		fclose(g_file);
	g_file = NULL;
}

void kz_log_configure(kz_log_level level, const char *path, bool apdu_trace)
{
	if (level < KZ_LOG_NONE)
		level = KZ_LOG_NONE;
	if (level > KZ_LOG_DEBUG)
		level = KZ_LOG_DEBUG;

	FILE *f = NULL;
	const char *why = NULL;
	if (path != NULL && path[0] != '\0')
		f = open_log_file(path, &why);

	pthread_mutex_lock(&g_lock);
	close_file_locked();
	g_file = f;
	pthread_mutex_unlock(&g_lock);

	atomic_store(&g_level, (int)level);
	atomic_store(&g_trace, apdu_trace);

	/* A log file that cannot be opened must not stop the module: say so
	 * on stderr, where the lines now go. */
	if (path != NULL && path[0] != '\0' && f == NULL)
		kz_log(KZ_LOG_WARN, "cannot open log file %s: %s; logging to stderr", path, why);
}

void kz_log_close(void)
{
	pthread_mutex_lock(&g_lock);
	close_file_locked();
	pthread_mutex_unlock(&g_lock);
}

bool kz_log_enabled(kz_log_level level)
{
	return level != KZ_LOG_NONE && (int)level <= atomic_load(&g_level);
}

/* Write one finished line under the lock. */
static void write_line(const char *level, const char *msg)
{
	pthread_mutex_lock(&g_lock);
	FILE *out = g_file != NULL ? g_file : stderr;
	fprintf(out, "kazashi[%ld]: %s: %s\n", (long)getpid(), level, msg);
	pthread_mutex_unlock(&g_lock);
}

/* Control characters would let text from a card or a configuration file
 * forge log lines or move a terminal's cursor; UTF-8 (>= 0x80) stays, so
 * that a certificate holder's name remains readable. */
static void sanitise(char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			*s = '?';
	}
}

void kz_log(kz_log_level level, const char *fmt, ...)
{
	if (fmt == NULL || !kz_log_enabled(level))
		return;

	char msg[KZ_LOG_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof msg)
		memcpy(msg + sizeof msg - 4, "...", 4);
	sanitise(msg);
	write_line(level_name(level), msg);
}

/* Length of the header and length fields of a command APDU that precede its
 * data, or 0 when it has no data. Lc is read as the command claims it;
 * everything after it is treated as data, so that a malformed command never
 * prints a PIN in clear. */
static size_t data_offset(const uint8_t *cmd, size_t len)
{
	if (len <= 5)
		return 0; /* case 1 or case 2 short: no data */
	if (cmd[4] != 0)
		return 5; /* short Lc */
	if (len <= 7)
		return 5; /* 00 Le Le, or malformed: hide it all the same */
	return 7;         /* extended Lc */
}

static bool is_secret_ins(uint8_t ins)
{
	return ins == 0x20 /* VERIFY */ || ins == 0x24 /* CHANGE REFERENCE DATA */;
}

/* "<reader>: apdu > 00 A4 ..." into a malloc'ed string; NULL when out of
 * memory. Each byte takes three characters. */
static char *hex_line(const char *reader, const char *dir, const uint8_t *p, size_t len,
                      size_t redact_from)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t head = strlen(reader) + strlen(dir) + 16;
	if (len > (SIZE_MAX - head) / 3)
		return NULL;
	char *line = malloc(head + 3 * len + 1);
	if (line == NULL)
		return NULL;
	int n = snprintf(line, head, "%s: apdu %s", reader, dir);
	char *w = line + (n > 0 ? (size_t)n : 0);
	for (size_t i = 0; i < len; i++) {
		*w++ = ' ';
		if (redact_from != 0 && i >= redact_from) {
			*w++ = '*';
			*w++ = '*';
		} else {
			*w++ = digits[p[i] >> 4];
			*w++ = digits[p[i] & 0x0f];
		}
	}
	*w = '\0';
	return line;
}

static void log_hex(const char *reader, const char *dir, const uint8_t *p, size_t len,
                    size_t redact_from)
{
	if (p == NULL)
		len = 0;
	char *line = hex_line(reader, dir, p, len, redact_from);
	if (line == NULL) {
		char msg[KZ_LOG_MSG_MAX];
		snprintf(msg, sizeof msg, "%s: apdu %s (%zu bytes, not shown: out of memory)",
		         reader, dir, len);
		write_line(level_name(KZ_LOG_DEBUG), msg);
		return;
	}
	sanitise(line); /* the reader name comes from the system */
	write_line(level_name(KZ_LOG_DEBUG), line);
	free(line);
}

void kz_log_apdu(const char *reader, const uint8_t *cmd, size_t cmd_len, const uint8_t *resp,
                 size_t resp_len)
{
	/* The trace is its own switch: it is asked for on purpose, whatever
	 * the level, and it is off unless asked for. */
	if (!atomic_load(&g_trace))
		return;
	if (reader == NULL)
		reader = "?";
	if (cmd != NULL) {
		size_t redact_from = 0;
		if (cmd_len >= 2 && is_secret_ins(cmd[1]))
			redact_from = data_offset(cmd, cmd_len);
		log_hex(reader, ">", cmd, cmd_len, redact_from);
	}
	if (resp == NULL)
		return;
	/* No honest answer to VERIFY or CHANGE carries data; one that does
	 * may be a phone echoing the PIN: only its status word is shown. */
	if (cmd != NULL && cmd_len >= 2 && is_secret_ins(cmd[1]) && resp_len > 2)
		log_hex(reader, "< (data hidden)", resp + resp_len - 2, 2, 0);
	else
		log_hex(reader, "<", resp, resp_len, 0);
}
