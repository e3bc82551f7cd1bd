#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (same(key, "pcsc"))
		return parse_bool(value, &c->pcsc);
	/* pcsc_reader: the name of the first releases, kept. */
	if (same(key, "pcsc_readers") || same(key, "pcsc_reader"))
		return copy_value(c->pcsc_readers, value);
	if (same(key, "pcsc_ignore"))
		return copy_value(c->pcsc_ignore, value);
	if (same(key, "log_level"))
		return parse_level(value, &c->log_level);
	if (same(key, "log_file")) {
		if (same(value, "stderr"))
			value = "";
		return copy_value(c->log_file, value);
	}
	if (same(key, "apdu_trace"))
		return parse_bool(value, &c->apdu_trace);
	if (same(key, "extended_apdu"))
		return parse_bool(value, &c->extended_apdu);
	if (same(key, "certificate_cache"))
		return parse_bool(value, &c->certificate_cache);
	if (same(key, "signature_token"))
		return parse_bool(value, &c->signature_token);
	if (same(key, "nfc"))
		return parse_bool(value, &c->nfc);
	if (same(key, "nfc_device"))
		return copy_value(c->nfc_device, value);
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

void kz_config_load_file(kz_config *c)
{
	const char *path = getenv("KAZASHI_CONF");
	if (path == NULL || *path == '\0')
		path = KZ_SYSCONFDIR "/kazashi/kazashi.conf";
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return;
	char line[512];
	unsigned lineno = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		/* '#' starts a comment anywhere: no value needs one. */
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		char *s = trim(line), *key, *value;
		if (*s == '\0')
			continue;
		/* Logging is not set up yet (this file is what sets it up):
		 * a mistake in the file goes to stderr, once per line. */
		if (!split_pair(s, &key, &value) || !kz_config_set(c, key, value))
			fprintf(stderr, "kazashi: %s:%u: ignoring unknown or malformed setting\n",
			        path, lineno);
	}
	fclose(f);
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
	const char *p = words;
	while (*p != '\0') {
		while (is_space(*p))
			p++;
		if (*p == '\0')
			break;
		char key[64], value[KZ_CONFIG_VALUE_MAX];
		const char *start = p;
		if (next_word(&p, key, value))
			(void)kz_config_set(c, key, value);
		if (p == start)
			p++; /* a stray '=' or the like: step over it */
	}
}

void kz_config_apply_env(kz_config *c)
{
	const char *d = getenv("KAZASHI_DEBUG");
	if (d != NULL && *d != '\0' && strcmp(d, "0") != 0) {
		c->log_level = KZ_LOG_DEBUG;
		c->apdu_trace = true;
		c->log_file[0] = '\0';
	}
}
