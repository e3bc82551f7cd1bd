#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pkcs11/configuration.h"

#ifndef KZ_SYSCONFDIR
#define KZ_SYSCONFDIR "/etc"
#endif

void kz_config_defaults(kz_config *c)
{
	memset(c, 0, sizeof(*c));
	c->pcsc = true;
	c->log_level = KZ_LOG_WARN;
	c->extended_apdu = true;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") ||
	    !strcmp(v, "1")) {
		*out = true;
		return true;
	}
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
	    !strcmp(v, "0")) {
		*out = false;
		return true;
	}
	return false;
}

static bool parse_level(const char *v, kz_log_level *out)
{
	static const char *const names[] = {"none", "error", "warning", "info", "debug"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(v, names[i])) {
			*out = (kz_log_level)i;
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
	if (!strcmp(key, "pcsc"))
		return parse_bool(value, &c->pcsc);
	if (!strcmp(key, "pcsc_reader"))
		return copy_value(c->pcsc_filter, value);
	if (!strcmp(key, "log_level"))
		return parse_level(value, &c->log_level);
	if (!strcmp(key, "log_file"))
		return copy_value(c->log_file, value);
	if (!strcmp(key, "apdu_trace"))
		return parse_bool(value, &c->apdu_trace);
	if (!strcmp(key, "extended_apdu"))
		return parse_bool(value, &c->extended_apdu);
	return false;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* "key = value" with optional spaces; returns false when there is no '='. */
static bool split_pair(char *line, char **key, char **value)
{
	char *eq = strchr(line, '=');
	if (eq == NULL)
		return false;
	*eq = '\0';
	*key = trim(line);
	*value = trim(eq + 1);
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
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		char *s = trim(line), *key, *value;
		if (*s == '\0')
			continue;
		if (!split_pair(s, &key, &value) || !kz_config_set(c, key, value))
			fprintf(stderr, "kazashi: %s:%u: ignoring unknown or malformed setting\n",
				path, lineno);
	}
	fclose(f);
}

void kz_config_apply_words(kz_config *c, const char *words)
{
	if (words == NULL)
		return;
	char buf[1024];
	size_t n = strnlen(words, sizeof(buf));
	if (n == sizeof(buf))
		return; /* not ours: a string this long is no kazashi setting */
	memcpy(buf, words, n + 1);
	char *save = NULL;
	for (char *w = strtok_r(buf, " \t\n", &save); w != NULL;
	     w = strtok_r(NULL, " \t\n", &save)) {
		char *key, *value;
		if (split_pair(w, &key, &value))
			(void)kz_config_set(c, key, value);
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
