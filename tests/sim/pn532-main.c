/* kazashi-pn532-sim: the simulated phone in the field of an emulated PN532
 * on a pseudo-terminal, so that the real libnfc (pn532_uart driver) drives
 * it: connection string pn532_uart:<the pty>. The reader stays for the life
 * of the process; the phone comes and goes: it is in the field from the
 * start (tap 1), leaves on SIGUSR1 or by itself (--leave-at), and comes
 * back after --tap-gap-ms or on SIGUSR2 while taps remain. A phone frozen
 * by --freeze-at/--freeze-ins stays in the field with a silent card until
 * SIGUSR2 thaws it (or SIGUSR1 takes it away). */
#include "config.h"

#include "phone.h"
#include "phone-options.h"
#include "sim-signals.h"
#include "pn532.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

struct options {
	phone_options phone;
	pn532_options chip;
	bool absent; /* start with the field empty */
	const char *pty_link;
};

/* --- the pseudo-terminal --------------------------------------------------- */

struct pty {
	int master;
	int slave; /* held open, never read: see open_pty */
	char path[64];
};

/* A pty in raw mode. The slave side is held open here for the life of the
 * process: when the last holder of a pty's slave closes it, the master
 * reads EIO (a hangup) until somebody opens it again, and libnfc opens and
 * closes the port with each nfc_open and nfc_close. Raw mode before anyone
 * opens it: an echoing line discipline would send the host's own bytes
 * back to the chip. */
static int open_pty(struct pty *p)
{
	struct termios t;
	const char *name;

	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->master < 0 || grantpt(p->master) != 0 || unlockpt(p->master) != 0)
		return -1;
	name = ptsname(p->master);
	if (name == NULL || strlen(name) >= sizeof(p->path))
		return -1;
	strcpy(p->path, name);
	p->slave = open(p->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->slave < 0 || tcgetattr(p->slave, &t) != 0)
		return -1;
	cfmakeraw(&t);
	if (tcsetattr(p->slave, TCSANOW, &t) != 0)
		return -1;
	/* Writes never block: with nobody reading, a real UART's bytes are
	 * lost too, and a blocked chip would never see SIGTERM. */
	return fcntl(p->master, F_SETFL, fcntl(p->master, F_GETFL) | O_NONBLOCK);
}

/* Point link at the pty, replacing whatever was there in one step, so that
 * a test can name a stable path whatever pts number this run got. */
static int publish_link(const char *link, const char *target)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", link, (long)getpid()) >= (int)sizeof(tmp))
		return -1;
	unlink(tmp);
	if (symlink(target, tmp) != 0)
		return -1;
	if (rename(tmp, link) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Remove link if it still points at this run's pty (a newer run may have
 * taken it over). */
static void unpublish_link(const char *link, const char *target)
{
	char now[PATH_MAX];
	ssize_t n = readlink(link, now, sizeof(now) - 1);

	if (n < 0)
		return;
	now[n] = '\0';
	if (strcmp(now, target) == 0)
		unlink(link);
}

static void write_host(void *ctx, const uint8_t *buf, size_t len)
{
	const struct pty *p = ctx;

	while (len > 0) {
		ssize_t n = write(p->master, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nobody reads: the bytes are lost, as on a wire */
		buf += n;
		len -= (size_t)n;
	}
}

/* --- the phone's comings and goings ------------------------------------------ */

struct field {
	pn532_emu *chip;
	const struct options *o;
	unsigned long tap;   /* taps so far */
	long long return_at; /* when the phone comes back; -1 = not planned */
};

static bool taps_left(const struct field *f)
{
	return f->o->phone.taps == 0 || f->tap < f->o->phone.taps;
}

static void arrive(struct field *f)
{
	f->tap++;
	f->return_at = -1;
	pn532_phone_arrive(f->chip);
	fprintf(stderr, "pn532: tap %lu: in the field\n", f->tap);
}

static void left(struct field *f)
{
	fprintf(stderr, "pn532: left the field\n");
	f->return_at = taps_left(f) ? sim_now_ms() + (long long)f->o->phone.gap_ms : -1;
}

/* Apply signals and timers; notice a phone that left by itself. */
static void update_field(struct field *f, bool *was_in)
{
	bool in = pn532_phone_in_field(f->chip);

	if (in && pn532_frozen(f->chip) && sig_back && !sig_leave) {
		pn532_thaw(f->chip);
		fprintf(stderr, "pn532: thawed: the card answers again\n");
	} else if (*was_in && !in) {
		left(f);
	} else if (in && sig_leave) {
		pn532_phone_leave(f->chip);
		left(f);
	} else if (!in && taps_left(f) &&
	           (sig_back || (f->return_at >= 0 && sim_now_ms() >= f->return_at))) {
		arrive(f);
	}
	sig_leave = sig_back = 0;
	*was_in = pn532_phone_in_field(f->chip);
}

static int poll_timeout(const struct field *f)
{
	long long left_ms;

	if (f->return_at < 0)
		return -1;
	left_ms = f->return_at - sim_now_ms();
	if (left_ms < 0)
		return 0;
	return left_ms > INT_MAX ? INT_MAX : (int)left_ms;
}

static int run(pn532_emu *chip, const struct options *o, struct pty *p)
{
	struct field f = {chip, o, 0, -1};
	struct pollfd pfd[2] = {{.fd = p->master, .events = POLLIN},
	                        {.fd = wake_pipe[0], .events = POLLIN}};
	uint8_t buf[512];
	bool was_in, was_frozen = false;

	if (!o->absent)
		arrive(&f);
	was_in = pn532_phone_in_field(chip);
	while (!sig_quit) {
		if (poll(pfd, 2, poll_timeout(&f)) < 0 && errno != EINTR) {
			perror("pn532: poll");
			return 1;
		}
		if (pfd[1].revents & POLLIN)
			sim_signals_drain();
		if (pfd[0].revents & POLLIN) {
			ssize_t n = read(p->master, buf, sizeof(buf));

			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				perror("pn532: read");
				return 1;
			}
			if (n > 0)
				pn532_feed(chip, buf, (size_t)n);
		}
		if (pn532_frozen(chip) && !was_frozen)
			fprintf(stderr, "pn532: frozen: the card stays silent until SIGUSR2\n");
		was_frozen = pn532_frozen(chip);
		update_field(&f, &was_in);
	}
	return 0;
}

/* --- options -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: kazashi-pn532-sim --pki DIR [options]\n"
	      "A simulated JPKI phone in the field of an emulated PN532 on a pty;\n"
	      "libnfc reaches it as pn532_uart:<pty>. Prints \"pty: PATH\" when ready.\n",
	      f);
	phone_options_usage(f);
	fputs("  --pty-link PATH    also make PATH a symlink to the pty\n"
	      "  --absent           start with no phone in the field (SIGUSR2 brings it)\n"
	      "  --chain-at N       answers over N bytes go in pieces (MI bit); 0 = no\n"
	      "  --pace             sleep the link model's time and the UART's\n"
	      "  --trace            every frame both ways on stderr\n"
	      "  --freeze-at N      the card never answers APDU N (the chip ACKs it;\n"
	      "                     the phone stays in the field) until SIGUSR2\n"
	      "  --freeze-ins HEX   the same for the first APDU with this INS (2A: sign)\n"
	      "Signals: SIGUSR1 the phone leaves now, SIGUSR2 it comes back (or thaws) now,\n"
	      "SIGTERM/SIGINT/SIGHUP exit. The reader stays until then.\n",
	      f);
}

enum {
	OPT_PTY_LINK = PHONE_OPT_END,
	OPT_ABSENT,
	OPT_CHAIN_AT,
	OPT_PACE,
	OPT_TRACE,
	OPT_FREEZE_AT,
	OPT_FREEZE_INS,
};

static const struct option long_opts[] = {
    PHONE_LONG_OPTIONS,
    {"pty-link", required_argument, NULL, OPT_PTY_LINK},
    {"absent", no_argument, NULL, OPT_ABSENT},
    {"chain-at", required_argument, NULL, OPT_CHAIN_AT},
    {"pace", no_argument, NULL, OPT_PACE},
    {"trace", no_argument, NULL, OPT_TRACE},
    {"freeze-at", required_argument, NULL, OPT_FREEZE_AT},
    {"freeze-ins", required_argument, NULL, OPT_FREEZE_INS},
    {NULL, 0, NULL, 0},
};

/* This program's own options; false: a bad value. */
static bool parse_own(void *ctx, int opt, const char *arg)
{
	struct options *o = ctx;
	unsigned long v;

	switch (opt) {
	case OPT_PTY_LINK:
		o->pty_link = arg;
		return true;
	case OPT_ABSENT:
		o->absent = true;
		return true;
	case OPT_CHAIN_AT:
		if (!phone_parse_ulong(arg, 4096, &v))
			return false;
		o->chip.chain_at = v;
		return true;
	case OPT_PACE:
		o->chip.pace = true;
		return true;
	case OPT_TRACE:
		o->chip.trace = stderr;
		return true;
	case OPT_FREEZE_AT:
		if (!phone_parse_ulong(arg, ULONG_MAX, &v) || v == 0)
			return false;
		o->chip.freeze.freeze_at = v;
		return true;
	case OPT_FREEZE_INS:
		return answer_parse_ins(arg, &o->chip.freeze);
	default:
		return false;
	}
}

static int parse_options(int argc, char **argv, struct options *o)
{
	const phone_program prog = {"kazashi-pn532-sim", long_opts, usage, parse_own, o};
	int r;

	memset(o, 0, sizeof(*o));
	r = phone_options_parse(&o->phone, &prog, argc, argv);
	o->chip.kbps = o->phone.cfg.kbps; /* pace at the link model's rate */
	return r;
}

int main(int argc, char **argv)
{
	struct options o;
	struct pty p = {-1, -1, ""};
	sim_phone *phone = NULL;
	pn532_emu *chip = NULL;
	int r = parse_options(argc, argv, &o);

	if (r >= 0)
		return r;
	r = 1;
	if (!phone_options_open_log(&o.phone, "pn532"))
		return 1;
	if (sim_signals_setup() != 0 || open_pty(&p) != 0) {
		perror("pn532: setting up");
		goto out;
	}
	phone = sim_phone_new(&o.phone.cfg);
	chip = phone ? pn532_new(phone, &o.chip, write_host, &p) : NULL;
	if (chip == NULL)
		goto out;
	if (o.pty_link != NULL && publish_link(o.pty_link, p.path) != 0) {
		fprintf(stderr, "pn532: cannot link %s: %s\n", o.pty_link, strerror(errno));
		goto out;
	}
	/* Ready: the chip answers from now on. */
	if (o.phone.cfg.log != stdout) {
		printf("pty: %s\n", p.path);
		fflush(stdout);
	}
	fprintf(stderr, "pn532: pty %s\n", p.path);
	r = run(chip, &o, &p);
	if (o.pty_link != NULL)
		unpublish_link(o.pty_link, p.path);
out:
	pn532_free(chip);
	sim_phone_free(phone);
	if (p.slave >= 0)
		close(p.slave);
	if (p.master >= 0)
		close(p.master);
	phone_options_close_log(&o.phone);
	return r;
}
