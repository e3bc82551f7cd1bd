/* The exit statuses of the kazashi command and the one place failures are
 * reported. The numbers are a contract with kiosk scripts (doc/kazashi.1):
 * never renumber, only add. */
#ifndef KC_EXITCODE_H
#define KC_EXITCODE_H

enum kc_exit {
	KC_OK = 0,
	KC_ERROR = 1,         /* usage, files, malformed input, anything else */
	KC_WRONG_PIN = 2,     /* a try was used; tries remain */
	KC_PIN_BLOCKED = 3,   /* no tries left, now or before */
	KC_UNTRUSTED = 4,     /* certificate does not chain to the given CAs */
	KC_REVOKED = 5,       /* certificate listed in a given CRL */
	KC_REMOVED = 6,       /* the phone or card left the reader */
	KC_TIMEOUT = 7,       /* nobody tapped (or typed) in time */
	KC_NO_DEVICE = 8,     /* no reader, no module, or a device error */
	KC_BAD_SIGNATURE = 9, /* the token's signature did not verify */
};

/* Prints "kazashi: MESSAGE" on stderr, remembers it for --json, and
 * returns CODE so that callers can write `return kc_fail(...)`. */
int kc_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Progress and prompts' companions: stderr, never stdout. */
void kc_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Attaches the tries a failed PIN left (min..max, -1 = unknown) to the
 * failure being reported. */
void kc_fail_tries(int min, int max);

/* The last failure, for machine-readable output. */
typedef struct kc_failure {
	int code;
	char message[512];
	int tries_min, tries_max;
} kc_failure;

const kc_failure *kc_last_failure(void);

/* A stable word for an exit status ("wrong-pin", ...), for --json. */
const char *kc_exit_name(int code);

#endif
