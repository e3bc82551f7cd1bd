/* kazashi-pn532-sim: the simulated phone in the field of an emulated PN532
 * on a pseudo-terminal, so that the real libnfc (pn532_uart driver) drives
 * it: connection string pn532_uart:<the pty>. The reader stays for the life
 * of the process; the phone comes and goes: it is in the field from the
 * start (tap 1), leaves on SIGUSR1 or by itself (--leave-at), and comes
 * back after --tap-gap-ms or on SIGUSR2 while taps remain. */
#include "config.h"

#include "phone.h"
#include "pn532.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct options {
	sim_config cfg;
	pn532_options chip;
	unsigned long taps; /* 0 = forever */
	unsigned long gap_ms;
	bool absent; /* start with the field empty */
	const char *log_path;
	const char *pty_link;
};

/* --- signals: flags plus a self-pipe that wakes poll() ------------------- */

static volatile sig_atomic_t sig_leave, sig_back, sig_quit;
static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	char c = 0;

	if (sig == SIGUSR1)
		sig_leave = 1;
	else if (sig == SIGUSR2)
		sig_back = 1;
	else
		sig_quit = 1;
	if (write(wake_pipe[1], &c, 1) < 0) {
		/* pipe full: poll() wakes up anyway */
	}
	errno = saved;
}

static int setup_signals(void)
{
	struct sigaction sa;
	const int sigs[] = {SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGHUP};

	if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return -1;
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
	return f->o->taps == 0 || f->tap < f->o->taps;
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
	f->return_at = taps_left(f) ? now_ms() + (long long)f->o->gap_ms : -1;
}

/* Apply signals and timers; notice a phone that left by itself. */
static void update_field(struct field *f, bool *was_in)
{
	bool in = pn532_phone_in_field(f->chip);

	if (*was_in && !in) {
		left(f);
	} else if (in && sig_leave) {
		pn532_phone_leave(f->chip);
		left(f);
	} else if (!in && taps_left(f) &&
	           (sig_back || (f->return_at >= 0 && now_ms() >= f->return_at))) {
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
	left_ms = f->return_at - now_ms();
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
	bool was_in;

	if (!o->absent)
		arrive(&f);
	was_in = pn532_phone_in_field(chip);
	while (!sig_quit) {
		if (poll(pfd, 2, poll_timeout(&f)) < 0 && errno != EINTR) {
			perror("pn532: poll");
			return 1;
		}
		if (pfd[1].revents & POLLIN)
			while (read(wake_pipe[0], buf, sizeof(buf)) > 0) {
			}
		if (pfd[0].revents & POLLIN) {
			ssize_t n = read(p->master, buf, sizeof(buf));

			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				perror("pn532: read");
				return 1;
			}
			if (n > 0)
				pn532_feed(chip, buf, (size_t)n);
		}
		update_field(&f, &was_in);
	}
	return 0;
}

/* --- options -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: kazashi-pn532-sim --pki DIR [options]\n"
	      "A simulated JPKI phone in the field of an emulated PN532 on a pty;\n"
	      "libnfc reaches it as pn532_uart:<pty>. Prints \"pty: PATH\" when ready.\n"
	      "  --persona card|android|iphone  what holds the application (card)\n"
	      "  --pki DIR          test PKI made by tests/sim/make-pki.sh (required)\n"
	      "  --pty-link PATH    also make PATH a symlink to the pty\n"
	      "  --auth-pin P       user-authentication PIN (1234)\n"
	      "  --sign-pin P       signature password (ABC123)\n"
	      "  --auth-tries N     tries left at start, 0 = blocked (3)\n"
	      "  --sign-tries N     tries left at start, 0 = blocked (5)\n"
	      "  --leave-at N       leave the field instead of answering APDU N\n"
	      "  --cert-ef-size N   pad certificate EFs with zeros to N bytes\n"
	      "  --log FILE         APDU log, one JSON object a line (- = stdout)\n"
	      "  --kbps N           link model rate: 106, 212, 424, 848 (106)\n"
	      "  --taps N           taps in all, 0 = forever (1)\n"
	      "  --tap-gap-ms N     time out of the field between taps (500)\n"
	      "  --absent           start with no phone in the field (SIGUSR2 brings it)\n"
	      "  --chain-at N       answers over N bytes go in pieces (MI bit); 0 = no\n"
	      "  --pace             sleep the link model's time and the UART's\n"
	      "  --trace            every frame both ways on stderr\n"
	      "Signals: SIGUSR1 the phone leaves now, SIGUSR2 it comes back now,\n"
	      "SIGTERM/SIGINT/SIGHUP exit. The reader stays until then.\n",
	      f);
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s == '\0' || *s == '-')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_persona(const char *s, sim_persona *out)
{
	static const struct {
		const char *name;
		sim_persona p;
	} names[] = {{"card", SIM_PERSONA_CARD},
	             {"android", SIM_PERSONA_ANDROID},
	             {"iphone", SIM_PERSONA_IPHONE}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].p;
			return true;
		}
	return false;
}

enum {
	OPT_PERSONA = 256,
	OPT_PKI,
	OPT_PTY_LINK,
	OPT_AUTH_PIN,
	OPT_SIGN_PIN,
	OPT_AUTH_TRIES,
	OPT_SIGN_TRIES,
	OPT_LEAVE_AT,
	OPT_EF_SIZE,
	OPT_LOG,
	OPT_KBPS,
	OPT_TAPS,
	OPT_GAP,
	OPT_ABSENT,
	OPT_CHAIN_AT,
	OPT_PACE,
	OPT_TRACE,
	OPT_HELP,
};

static const struct option long_opts[] = {
    {"persona", required_argument, NULL, OPT_PERSONA},
    {"pki", required_argument, NULL, OPT_PKI},
    {"pty-link", required_argument, NULL, OPT_PTY_LINK},
    {"auth-pin", required_argument, NULL, OPT_AUTH_PIN},
    {"sign-pin", required_argument, NULL, OPT_SIGN_PIN},
    {"auth-tries", required_argument, NULL, OPT_AUTH_TRIES},
    {"sign-tries", required_argument, NULL, OPT_SIGN_TRIES},
    {"leave-at", required_argument, NULL, OPT_LEAVE_AT},
    {"cert-ef-size", required_argument, NULL, OPT_EF_SIZE},
    {"log", required_argument, NULL, OPT_LOG},
    {"kbps", required_argument, NULL, OPT_KBPS},
    {"taps", required_argument, NULL, OPT_TAPS},
    {"tap-gap-ms", required_argument, NULL, OPT_GAP},
    {"absent", no_argument, NULL, OPT_ABSENT},
    {"chain-at", required_argument, NULL, OPT_CHAIN_AT},
    {"pace", no_argument, NULL, OPT_PACE},
    {"trace", no_argument, NULL, OPT_TRACE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Options with a number: where it goes and its largest value. */
static bool parse_number(struct options *o, int opt, const char *arg)
{
	unsigned long v;

	switch (opt) {
	case OPT_AUTH_TRIES:
	case OPT_SIGN_TRIES:
		if (!parse_ulong(arg, opt == OPT_AUTH_TRIES ? 3 : 5, &v))
			return false;
		/* 0 means blocked here, the default in sim_config */
		*(opt == OPT_AUTH_TRIES ? &o->cfg.auth_tries : &o->cfg.sign_tries) =
		    v == 0 ? -1 : (int)v;
		return true;
	case OPT_LEAVE_AT:
		return parse_ulong(arg, ULONG_MAX, &o->cfg.leave_at_apdu);
	case OPT_EF_SIZE:
		if (!parse_ulong(arg, 32767, &v))
			return false;
		o->cfg.cert_ef_size = v;
		return true;
	case OPT_KBPS:
		if (!parse_ulong(arg, 848, &v) || (v != 106 && v != 212 && v != 424 && v != 848))
			return false;
		o->cfg.kbps = o->chip.kbps = (unsigned)v;
		return true;
	case OPT_TAPS:
		return parse_ulong(arg, ULONG_MAX, &o->taps);
	case OPT_GAP:
		return parse_ulong(arg, 3600000, &o->gap_ms);
	case OPT_CHAIN_AT:
		if (!parse_ulong(arg, 4096, &v))
			return false;
		o->chip.chain_at = v;
		return true;
	default:
		return false;
	}
}

/* Returns -1 to go on, else the exit status. */
static int parse_one(struct options *o, int opt, const char *arg)
{
	switch (opt) {
	case OPT_PERSONA:
		if (!parse_persona(arg, &o->cfg.persona))
			break;
		return -1;
	case OPT_PKI:
		o->cfg.pki_dir = arg;
		return -1;
	case OPT_PTY_LINK:
		o->pty_link = arg;
		return -1;
	case OPT_AUTH_PIN:
		o->cfg.auth_pin = arg;
		return -1;
	case OPT_SIGN_PIN:
		o->cfg.sign_pin = arg;
		return -1;
	case OPT_LOG:
		o->log_path = arg;
		return -1;
	case OPT_ABSENT:
		o->absent = true;
		return -1;
	case OPT_PACE:
		o->chip.pace = true;
		return -1;
	case OPT_TRACE:
		o->chip.trace = stderr;
		return -1;
	case OPT_HELP:
		usage(stdout);
		return 0;
	case '?':
		usage(stderr);
		return 2;
	default:
		if (parse_number(o, opt, arg))
			return -1;
		break;
	}
	fprintf(stderr, "kazashi-pn532-sim: bad value for --%s: %s\n",
	        long_opts[opt - OPT_PERSONA].name, arg);
	return 2;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int opt, r;

	memset(o, 0, sizeof(*o));
	o->taps = 1;
	o->gap_ms = 500;
	o->cfg.persona = SIM_PERSONA_CARD;
	o->cfg.kbps = o->chip.kbps = 106;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		r = parse_one(o, opt, optarg);
		if (r >= 0)
			return r;
	}
	if (optind < argc || o->cfg.pki_dir == NULL) {
		fprintf(stderr, "kazashi-pn532-sim: %s\n",
		        optind < argc ? "unexpected argument" : "--pki DIR is required");
		usage(stderr);
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct options o;
	struct pty p = {-1, -1, ""};
	sim_phone *phone = NULL;
	pn532_emu *chip = NULL;
	FILE *log = NULL;
	int r = parse_options(argc, argv, &o);

	if (r >= 0)
		return r;
	r = 1;
	if (o.log_path != NULL) {
		log = strcmp(o.log_path, "-") == 0 ? stdout : fopen(o.log_path, "w");
		if (log == NULL) {
			fprintf(stderr, "pn532: cannot open %s: %s\n", o.log_path, strerror(errno));
			return 1;
		}
		o.cfg.log = log;
	}
	if (setup_signals() != 0 || open_pty(&p) != 0) {
		perror("pn532: setting up");
		goto out;
	}
	phone = sim_phone_new(&o.cfg);
	chip = phone ? pn532_new(phone, &o.chip, write_host, &p) : NULL;
	if (chip == NULL)
		goto out;
	if (o.pty_link != NULL && publish_link(o.pty_link, p.path) != 0) {
		fprintf(stderr, "pn532: cannot link %s: %s\n", o.pty_link, strerror(errno));
		goto out;
	}
	/* Ready: the chip answers from now on. */
	if (log != stdout) {
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
	if (log != NULL && log != stdout)
		fclose(log);
	return r;
}
