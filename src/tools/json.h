/* A small JSON writer for --json: objects and arrays, strings always valid
 * UTF-8 (certificate text is not trusted to be). */
#ifndef KC_JSON_H
#define KC_JSON_H

#include <stdbool.h>
#include <stdio.h>

#define KC_JSON_DEPTH 8

typedef struct kc_json {
	FILE *out;
	int depth;                  /* 0: the top-level object */
	bool first[KC_JSON_DEPTH];  /* no member written yet at this depth */
	char closer[KC_JSON_DEPTH]; /* '}' or ']' */
} kc_json;

/* Opens the top-level object. */
void kc_json_begin(kc_json *j, FILE *out);
/* Closes it and ends the line. */
void kc_json_end(kc_json *j);

/* Members; KEY is NULL inside arrays. A NULL string is written as null. */
void kc_json_str(kc_json *j, const char *key, const char *value);
void kc_json_int(kc_json *j, const char *key, long value);
void kc_json_bool(kc_json *j, const char *key, bool value);
void kc_json_null(kc_json *j, const char *key);
void kc_json_object(kc_json *j, const char *key);
void kc_json_array(kc_json *j, const char *key);
/* Closes the innermost object or array. */
void kc_json_close(kc_json *j);

/* The JSON failure report every --json command prints on failure. */
void kc_json_failure(FILE *out, const char *command);

#endif
