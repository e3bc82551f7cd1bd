#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdint.h>

#include "tools/exitcode.h"
#include "tools/json.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one.
 * Overlong forms, surrogates and values past U+10FFFF are invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0; /* also stops at the terminating NUL */
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static void put_string(FILE *out, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;
	fputc('"', out);
	while (*s != '\0') {
		size_t n = utf8_len(s);
		if (n == 0) {
			fputs("\\ufffd", out); /* a byte that is not UTF-8 */
			s++;
		} else if (*s == '"' || *s == '\\') {
			fprintf(out, "\\%c", *s++);
		} else if (*s < 0x20 || *s == 0x7F) {
			fprintf(out, "\\u%04x", *s++);
		} else {
			fwrite(s, 1, n, out);
			s += n;
		}
	}
	fputc('"', out);
}

static void member(kc_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->out);
	j->first[j->depth] = false;
	if (key != NULL) {
		put_string(j->out, key);
		fputc(':', j->out);
	}
}

/* Nesting is shallow and fixed by the callers; past the limit the output
 * would be wrong, so the limit is checked where it cannot be exceeded. */
static void open_nested(kc_json *j, const char *key, char opener, char closer)
{
	if (j->depth + 1 >= KC_JSON_DEPTH)
		return;
	member(j, key);
	fputc(opener, j->out);
	j->depth++;
	j->first[j->depth] = true;
	j->closer[j->depth] = closer;
}

void kc_json_begin(kc_json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->first[0] = true;
	j->closer[0] = '}';
	fputc('{', out);
}

void kc_json_end(kc_json *j)
{
	while (j->depth > 0)
		kc_json_close(j);
	fputs("}\n", j->out);
	fflush(j->out);
}

void kc_json_str(kc_json *j, const char *key, const char *value)
{
	member(j, key);
	if (value == NULL)
		fputs("null", j->out);
	else
		put_string(j->out, value);
}

void kc_json_int(kc_json *j, const char *key, long value)
{
	member(j, key);
	fprintf(j->out, "%ld", value);
}

void kc_json_bool(kc_json *j, const char *key, bool value)
{
	member(j, key);
	fputs(value ? "true" : "false", j->out);
}

void kc_json_null(kc_json *j, const char *key)
{
	member(j, key);
	fputs("null", j->out);
}

void kc_json_object(kc_json *j, const char *key)
{
	open_nested(j, key, '{', '}');
}

void kc_json_array(kc_json *j, const char *key)
{
	open_nested(j, key, '[', ']');
}

void kc_json_close(kc_json *j)
{
	if (j->depth == 0)
		return;
	fputc(j->closer[j->depth], j->out);
	j->depth--;
}

void kc_json_failure(FILE *out, const char *command)
{
	const kc_failure *f = kc_last_failure();
	kc_json j;
	kc_json_begin(&j, out);
	kc_json_str(&j, "command", command);
	kc_json_str(&j, "result", "failed");
	kc_json_int(&j, "exit_status", f->code);
	kc_json_str(&j, "error", kc_exit_name(f->code));
	kc_json_str(&j, "message", f->message);
	if (f->tries_min >= 0) {
		kc_json_int(&j, "tries_left_min", f->tries_min);
		kc_json_int(&j, "tries_left_max", f->tries_max);
	}
	kc_json_end(&j);
}
