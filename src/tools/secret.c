#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "tools/exitcode.h"
#include "tools/secret.h"

void kc_secret_wipe(kc_secret *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

/* ---- the terminal, with echo off and restored whatever happens -------- */

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
	caught = sig;
}

/* Not SIGTSTP: the shell saves and restores a stopped job's terminal. */
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define KC_STOP_SIGNALS (sizeof(stop_signals) / sizeof(stop_signals[0]))

typedef struct tty_state {
	int fd;
	bool echo_off;
	struct termios saved;
	struct sigaction old[KC_STOP_SIGNALS];
} tty_state;

/* Echo off, and the signals that would leave it off caught: read(2) then
 * fails with EINTR (no SA_RESTART), the terminal is restored, and the
 * signal is raised again with its old disposition. */
static int tty_open(tty_state *t)
{
	t->echo_off = false;
	t->fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t->fd < 0)
		return kc_fail(KC_ERROR, "no terminal to ask the PIN on: give it on a file "
		                         "descriptor with --pin-fd N");
	caught = 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < KC_STOP_SIGNALS; i++)
		sigaction(stop_signals[i], &sa, &t->old[i]);
	if (tcgetattr(t->fd, &t->saved) == 0) {
		struct termios quiet = t->saved;
		quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHOE | ECHOK | ECHONL);
		t->echo_off = tcsetattr(t->fd, TCSAFLUSH, &quiet) == 0;
	}
	return KC_OK;
}

static void tty_close(tty_state *t)
{
	if (t->echo_off)
		tcsetattr(t->fd, TCSAFLUSH, &t->saved);
	close(t->fd);
	for (size_t i = 0; i < KC_STOP_SIGNALS; i++)
		sigaction(stop_signals[i], &t->old[i], NULL);
	if (caught != 0) {
		fputc('\n', stderr);
		raise(caught);
	}
}

/* ---- one line, byte by byte ------------------------------------------ */

/* Byte by byte so that nothing past the line is consumed: the next value
 * (change-pin's new PIN) may follow on the same descriptor. */
static int read_line(kc_secret *s, int fd, const kc_deadline *d, bool from_tty)
{
	bool too_long = false;
	char c = 0;
	int rc = KC_OK;
	s->len = 0;
	while (rc == KC_OK) {
		/* A signal caught in poll(2) or read(2) ends the prompt. */
		if (caught != 0) {
			rc = kc_fail(KC_ERROR, "interrupted");
			break;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ready = poll(&p, 1, kc_deadline_left_ms(d));
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0) {
			rc = kc_fail(KC_ERROR, "cannot read the PIN: %s", strerror(errno));
			break;
		}
		if (ready == 0) {
			rc =
			    kc_fail(KC_TIMEOUT, "no PIN was entered within %g seconds", d->seconds);
			break;
		}
		ssize_t got = read(fd, &c, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = kc_fail(KC_ERROR, "cannot read the PIN: %s", strerror(errno));
			break;
		}
		if (got == 0 && s->len == 0 && !too_long) {
			rc = kc_fail(KC_ERROR, "no PIN given%s",
			             from_tty ? "" : " on the file descriptor");
			break;
		}
		if (got == 0 || c == '\n')
			break;
		if (s->len < KC_SECRET_MAX)
			s->value[s->len++] = c;
		else
			too_long = true;
	}
	OPENSSL_cleanse(&c, sizeof(c));
	if (rc == KC_OK && too_long)
		rc = kc_fail(KC_ERROR, "the PIN given is far too long; nothing was sent");
	if (rc != KC_OK) {
		kc_secret_wipe(s);
		return rc;
	}
	if (s->len > 0 && s->value[s->len - 1] == '\r')
		s->len--; /* a line from a file made on Windows */
	s->value[s->len] = '\0';
	return KC_OK;
}

int kc_secret_read(kc_secret *s, const char *prompt, int fd, const kc_deadline *d)
{
	kc_secret_wipe(s);
	if (fd >= 0)
		return read_line(s, fd, d, false);
	tty_state t;
	int rc = tty_open(&t);
	if (rc != KC_OK)
		return rc;
	fputs(prompt, stderr);
	fflush(stderr);
	rc = read_line(s, t.fd, d, true);
	fputc('\n', stderr); /* the user's Enter was not echoed */
	tty_close(&t);
	if (rc != KC_OK)
		kc_secret_wipe(s);
	return rc;
}

/* ---- form ---------------------------------------------------------- */

/* ASCII on purpose: <ctype.h> follows the locale, a PIN's form must not. */
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

int kc_secret_check(kc_secret *s, kc_kind kind, bool is_new)
{
	if (kind == KC_KIND_AUTH) {
		bool digits = s->len == 4;
		for (size_t i = 0; i < s->len; i++)
			digits = digits && is_digit(s->value[i]);
		if (!digits)
			return kc_fail(KC_ERROR, "a user-authentication PIN is exactly 4 digits; "
			                         "nothing was sent, no try was used");
		return KC_OK;
	}
	bool letters = false, digits = false;
	for (size_t i = 0; i < s->len; i++) {
		char c = s->value[i];
		if (c >= 'a' && c <= 'z')
			s->value[i] = c = (char)(c - 'a' + 'A');
		if (!is_digit(c) && !is_upper(c))
			return kc_fail(KC_ERROR, "a signature password has only letters A-Z and "
			                         "digits; nothing was sent, no try was used");
		letters = letters || is_upper(c);
		digits = digits || is_digit(c);
	}
	if (s->len < 6 || s->len > 16)
		return kc_fail(KC_ERROR, "a signature password is 6 to 16 characters; nothing "
		                         "was sent, no try was used");
	if (is_new && !(letters && digits))
		return kc_fail(KC_ERROR, "a new signature password must mix letters and digits; "
		                         "nothing was sent");
	return KC_OK;
}

int kc_secret_get(kc_secret *s, kc_kind kind, bool is_new, const char *prompt, int fd,
                  const kc_deadline *d)
{
	int rc = kc_secret_read(s, prompt, fd, d);
	if (rc == KC_OK)
		rc = kc_secret_check(s, kind, is_new);
	if (rc != KC_OK)
		kc_secret_wipe(s);
	return rc;
}
