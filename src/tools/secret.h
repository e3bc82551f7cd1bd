/* PINs and passwords: read without echo, checked for form before anything
 * is sent (a value that can never be right must not cost a try), wiped
 * after use. */
#ifndef KC_SECRET_H
#define KC_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "tools/deadline.h"
#include "tools/slots.h"

#define KC_SECRET_MAX 64 /* longer than any JPKI PIN: longer input is refused */

typedef struct kc_secret {
	char value[KC_SECRET_MAX + 1];
	size_t len;
} kc_secret;

/* Reads one line into S: from file descriptor FD when FD >= 0, else from
 * the terminal with echo off after PROMPT on stderr. Waits no longer than
 * D. Returns an exit code (reported). */
int kc_secret_read(kc_secret *s, const char *prompt, int fd, const kc_deadline *d);

/* Checks the form of S for KIND and normalises it (a signature password is
 * upper-cased, as the official client does). IS_NEW: S is a value about to
 * be set, held to the issuing rules too (a signature password mixes letters
 * and digits). Returns an exit code (reported). */
int kc_secret_check(kc_secret *s, kc_kind kind, bool is_new);

/* Reads and checks in one step. */
int kc_secret_get(kc_secret *s, kc_kind kind, bool is_new, const char *prompt, int fd,
                  const kc_deadline *d);

void kc_secret_wipe(kc_secret *s);

#endif
