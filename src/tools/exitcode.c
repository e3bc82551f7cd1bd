/* Failure reporting: one sentence on stderr per failure, kept for --json. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stdio.h>

#include "tools/exitcode.h"

static kc_failure last = {KC_OK, "", -1, -1};

int kc_fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last.message, sizeof(last.message), fmt, ap);
	va_end(ap);
	last.code = code;
	last.tries_min = last.tries_max = -1;
	fprintf(stderr, "kazashi: %s\n", last.message);
	return code;
}

void kc_fail_tries(int min, int max)
{
	last.tries_min = min;
	last.tries_max = max;
}

void kc_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const kc_failure *kc_last_failure(void)
{
	return &last;
}

const char *kc_exit_name(int code)
{
	switch (code) {
	case KC_OK:
		return "ok";
	case KC_WRONG_PIN:
		return "wrong-pin";
	case KC_PIN_BLOCKED:
		return "pin-blocked";
	case KC_UNTRUSTED:
		return "untrusted-certificate";
	case KC_REVOKED:
		return "revoked-certificate";
	case KC_REMOVED:
		return "removed";
	case KC_TIMEOUT:
		return "timeout";
	case KC_NO_DEVICE:
		return "no-device";
	case KC_BAD_SIGNATURE:
		return "bad-signature";
	default:
		return "error";
	}
}
