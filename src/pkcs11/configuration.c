#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kazashi/kazashi.h"
#include "pkcs11/configuration.h"
#include "pkcs11/p11.h"

#ifndef KZ_SYSCONFDIR
#define KZ_SYSCONFDIR "/etc"
#endif

void kz_config_defaults(kz_config *c)
{
	memset(c, 0, sizeof(*c));
	c->pcsc = true;
	c->nfc = true;
	c->log_level = KZ_LOG_WARN;
	c->extended_apdu = true;
	c->certificate_cache = true;
	c->signature_token = true;
}

/* ASCII only, on purpose: <ctype.h> and strcasecmp follow the host
 * program's locale, and a setting must mean the same in every program. */
static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static bool same(const char *a, const char *b)
{
	while (*a != '\0' && lower(*a) == lower(*b))
		a++, b++;
	return *a == '\0' && *b == '\0';
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < KZ_ARRAY_LEN(yes); i++) {
		if (same(v, yes[i]) || same(v, no[i])) {
			*out = same(v, yes[i]);
			return true;
		}
	}
	return false;
}

static bool parse_level(const char *v, kz_log_level *out)
{
	static const struct {
		const char *name;
		kz_log_level level;
	} names[] = {
	    {"none", KZ_LOG_NONE},   {"0", KZ_LOG_NONE},       {"error", KZ_LOG_ERROR},
	    {"1", KZ_LOG_ERROR},     {"warning", KZ_LOG_WARN}, {"warn", KZ_LOG_WARN},
	    {"2", KZ_LOG_WARN},      {"info", KZ_LOG_INFO},    {"3", KZ_LOG_INFO},
	    {"debug", KZ_LOG_DEBUG}, {"4", KZ_LOG_DEBUG},
	};
	for (size_t i = 0; i < KZ_ARRAY_LEN(names); i++) {
		if (same(v, names[i].name)) {
			*out = names[i].level;
			return true;
		}
	}
	return false;
}

static bool copy_value(char dst[KZ_CONFIG_VALUE_MAX], const char *v)
{
	size_t n = strlen(v);
	if (n >= KZ_CONFIG_VALUE_MAX)
		return false;
	memcpy(dst, v, n + 1);
	return true;
}

bool kz_config_set(kz_config *c, const char *key, const char *value)
{
	if (same(key, KAZASHI_CONF_PCSC))
		return parse_bool(value, &c->pcsc);
	/* pcsc_reader: the name of the first releases, kept. */
	if (same(key, KAZASHI_CONF_PCSC_READERS) || same(key, "pcsc_reader"))
		return copy_value(c->pcsc_readers, value);
	if (same(key, KAZASHI_CONF_PCSC_IGNORE))
		return copy_value(c->pcsc_ignore, value);
	if (same(key, KAZASHI_CONF_LOG_LEVEL))
		return parse_level(value, &c->log_level);
	if (same(key, KAZASHI_CONF_LOG_FILE)) {
		if (same(value, "stderr"))
			value = "";
		return copy_value(c->log_file, value);
	}
	if (same(key, KAZASHI_CONF_APDU_TRACE))
		return parse_bool(value, &c->apdu_trace);
	if (same(key, KAZASHI_CONF_EXTENDED_APDU))
		return parse_bool(value, &c->extended_apdu);
	if (same(key, KAZASHI_CONF_CERTIFICATE_CACHE))
		return parse_bool(value, &c->certificate_cache);
	if (same(key, KAZASHI_CONF_SIGNATURE_TOKEN))
		return parse_bool(value, &c->signature_token);
	if (same(key, KAZASHI_CONF_CA_CERTIFICATES))
		return parse_bool(value, &c->ca_certificates);
	if (same(key, KAZASHI_CONF_NFC))
		return parse_bool(value, &c->nfc);
	if (same(key, KAZASHI_CONF_NFC_DEVICE))
		return copy_value(c->nfc_device, value);
	if (same(key, KAZASHI_CONF_LOCK_LOGIN))
		return parse_bool(value, &c->lock_login);
	return false;
}

/* Whether name holds needle[0..n), ASCII case ignored. */
static bool holds(const char *name, const char *needle, size_t n)
{
	for (; *name != '\0'; name++) {
		size_t i = 0;
		while (i < n && name[i] != '\0' && lower(name[i]) == lower(needle[i]))
			i++;
		if (i == n)
			return true;
	}
	return false;
}

/* Whether name holds one of the comma-separated items of list. Blanks
 * around an item are not part of it; empty items are skipped. */
static bool matches_any(const char *name, const char *list)
{
	while (*list != '\0') {
		while (is_space(*list) || *list == ',')
			list++;
		const char *end = list;
		while (*end != '\0' && *end != ',')
			end++;
		size_t n = (size_t)(end - list);
		while (n > 0 && is_space(list[n - 1]))
			n--;
		if (n > 0 && holds(name, list, n))
			return true;
		list = end;
	}
	return false;
}

bool kz_config_pcsc_reader_wanted(const kz_config *c, const char *name)
{
	bool listed = c->pcsc_readers[0] == '\0' || matches_any(name, c->pcsc_readers);
	return listed && !matches_any(name, c->pcsc_ignore);
}

static char *trim(char *s)
{
	while (is_space(*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && is_space(end[-1]))
		*--end = '\0';
	return s;
}

/* "key = value" with optional blanks and an optional pair of quotes around
 * the value; false when there is no '='. */
static bool split_pair(char *line, char **key, char **value)
{
	char *eq = strchr(line, '=');
	if (eq == NULL)
		return false;
	*eq = '\0';
	*key = trim(line);
	*value = trim(eq + 1);
	size_t n = strlen(*value);
	if (n >= 2 && ((*value)[0] == '"' || (*value)[0] == '\'') &&
	    (*value)[n - 1] == (*value)[0]) {
		(*value)[n - 1] = '\0';
		(*value)++;
	}
	return **key != '\0';
}

bool kz_config_privileged(void)
{
	return getauxval(AT_SECURE) != 0;
}

/* The configuration file, or NULL. Only a regular file is read: a FIFO
 * would block C_Initialize and a device (/dev/zero) might never end;
 * /dev/null, which tests and scripts use for "no file", reads as empty
 * either way. O_NONBLOCK only so that opening a FIFO does not block. */
static FILE *open_config(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat st;
	FILE *f = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		f = fdopen(fd, "r");
	if (f == NULL)
		close(fd);
	return f;
}

typedef enum line_kind { LINE_END, LINE_OK, LINE_TOO_LONG, LINE_BINARY } line_kind;

/* One line into line[0..KZ_CONFIG_LINE_MAX], newline dropped. A longer
 * line is read to its end and dropped whole: cut, its tail would be read
 * as a line of its own, and the tail of a long comment can look like a
 * setting. A NUL byte makes the line binary: what follows it would not
 * be seen. */
static line_kind read_line(FILE *f, char line[KZ_CONFIG_LINE_MAX + 1])
{
	size_t n = 0;
	bool too_long = false, binary = false;
	int ch;
	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == '\0')
			binary = true;
		if (n < KZ_CONFIG_LINE_MAX)
			line[n++] = (char)ch;
		else
			too_long = true;
	}
	line[n] = '\0';
	if (ch == EOF && n == 0)
		return LINE_END;
	return too_long ? LINE_TOO_LONG : binary ? LINE_BINARY : LINE_OK;
}

void kz_config_load_file(kz_config *c)
{
	/* secure_getenv: in a privileged process the caller must not choose
	 * the file, which names the log file, and whose lines (/etc/shadow's,
	 * say) would be reported back. */
	const char *path = secure_getenv(KAZASHI_ENV_CONF);
	if (path == NULL || *path == '\0')
		path = KZ_SYSCONFDIR "/kazashi/kazashi.conf";
	FILE *f = open_config(path);
	if (f == NULL)
		return;
	char line[KZ_CONFIG_LINE_MAX + 1];
	unsigned lineno = 0, first_bad = 0;
	line_kind kind, first_kind = LINE_OK;
	bool more_bad = false;
	while ((kind = read_line(f, line)) != LINE_END) {
		lineno++;
		bool ok = kind == LINE_OK;
		if (ok) {
			/* '#' starts a comment anywhere: no value needs one. */
			char *hash = strchr(line, '#');
			if (hash != NULL)
				*hash = '\0';
			char *s = trim(line), *key, *value;
			ok = *s == '\0' ||
			     (split_pair(s, &key, &value) && kz_config_set(c, key, value));
		}
		if (ok)
			continue;
		if (first_bad == 0) {
			first_bad = lineno;
			first_kind = kind;
		} else {
			more_bad = true;
		}
	}
	fclose(f);
	/* Logging is not set up yet (this file is what sets it up): the
	 * warning goes to stderr, once for the file. */
	const char *more = more_bad ? ", and more lines after it" : "";
	if (first_bad != 0 && first_kind == LINE_TOO_LONG)
		fprintf(stderr, "kazashi: %s:%u: ignoring a line longer than %d bytes%s\n", path,
		        first_bad, KZ_CONFIG_LINE_MAX, more);
	else if (first_bad != 0)
		fprintf(stderr, "kazashi: %s:%u: ignoring an unknown or malformed setting%s\n",
		        path, first_bad, more);
}

/* The closing character of an NSS-style quote, or '\0' if ch opens none. */
static char closing(char ch)
{
	static const char pairs[][2] = {{'\'', '\''}, {'"', '"'}, {'{', '}'},
	                                {'[', ']'},   {'(', ')'}, {'<', '>'}};
	for (size_t i = 0; i < KZ_ARRAY_LEN(pairs); i++) {
		if (pairs[i][0] == ch)
			return pairs[i][1];
	}
	return '\0';
}

/* Scan one word from *p: key, and value if there is an '='. Characters past
 * what the buffers hold are dropped and make the word invalid; a backslash
 * takes the next character literally inside quotes, as NSS does. */
static bool next_word(const char **p, char key[64], char value[KZ_CONFIG_VALUE_MAX])
{
	const char *s = *p;
	size_t k = 0, v = 0;
	bool ok = true;
	while (*s != '\0' && *s != '=' && !is_space(*s)) {
		if (k + 1 < 64)
			key[k++] = *s;
		else
			ok = false;
		s++;
	}
	key[k] = '\0';
	value[0] = '\0';
	if (*s != '=') {
		*p = s;
		return false;
	}
	s++;
	char close = closing(*s);
	if (close != '\0')
		s++;
	while (*s != '\0' && (close != '\0' ? *s != close : !is_space(*s))) {
		if (close != '\0' && *s == '\\' && s[1] != '\0')
			s++;
		if (v + 1 < KZ_CONFIG_VALUE_MAX)
			value[v++] = *s;
		else
			ok = false;
		s++;
	}
	if (close != '\0') {
		/* An unterminated quote takes the rest of the string with it:
		 * guessing where it ends could set a wrong value. */
		if (*s == close)
			s++;
		else
			ok = false;
	}
	value[v] = '\0';
	*p = s;
	return ok && k > 0;
}

void kz_config_apply_words(kz_config *c, const char *words)
{
	if (words == NULL)
		return;
	bool privileged = kz_config_privileged();
	const char *p = words;
	while (*p != '\0') {
		while (is_space(*p))
			p++;
		if (*p == '\0')
			break;
		char key[64], value[KZ_CONFIG_VALUE_MAX];
		const char *start = p;
		if (next_word(&p, key, value)) {
			/* Whoever runs a setuid program may choose its
			 * arguments, and with them p11-kit's or NSS's module
			 * options: not where root appends. */
			if (privileged && same(key, KAZASHI_CONF_LOG_FILE))
				fprintf(stderr, "kazashi: log_file from the initialisation words "
				                "ignored in a privileged process\n");
			else
				(void)kz_config_set(c, key, value);
		}
		if (p == start)
			p++; /* a stray '=' or the like: step over it */
	}
}

void kz_config_apply_env(kz_config *c)
{
	/* secure_getenv: a privileged process's caller must not turn on a
	 * trace of what the card tells it. */
	const char *d = secure_getenv(KAZASHI_ENV_DEBUG);
	if (d != NULL && *d != '\0' && strcmp(d, "0") != 0) {
		c->log_level = KZ_LOG_DEBUG;
		c->apdu_trace = true;
		c->log_file[0] = '\0';
	}
}
