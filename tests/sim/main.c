/* kazashi-phone-sim: the simulated phone as a virtual card behind pcscd's
 * vpcd reader. Connecting to vpcd is putting the phone in the field,
 * closing the socket is taking it away; a run can be several taps of the
 * same phone (tries and the APDU count carry over, as on a real one). */
#include "config.h"

#include "phone.h"
#include "vpcd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 10000 /* pcscd may still be starting */
#define CONNECT_RETRY_MS   100
#define ATR_MAX            33

/* A contactless Type B ATR as PC/SC part 3 builds it: 3B 88 80 01, eight
 * historical bytes (ATQB application data, protocol info, MBLI), TCK. */
static const uint8_t default_atr[] = {0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x00,
                                      0x00, 0x00, 0x00, 0x00, 0x00, 0x09};

struct options {
	sim_config cfg;
	const char *host;
	unsigned short port;
	unsigned long taps; /* 0 = forever */
	unsigned long gap_ms;
	const char *log_path;
	uint8_t atr[ATR_MAX];
	size_t atr_len;
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
	const int sigs[] = {SIGUSR1, SIGUSR2, SIGTERM, SIGINT};

	if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void drain_wake_pipe(void)
{
	char buf[64];

	while (read(wake_pipe[0], buf, sizeof(buf)) > 0) {
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps up to ms, or until a signal arrives; returns early on any. */
static void wait_signal(long long ms)
{
	struct pollfd pfd = {.fd = wake_pipe[0], .events = POLLIN};

	if (ms < 0)
		ms = 0;
	if (ms > INT_MAX)
		ms = INT_MAX;
	if (poll(&pfd, 1, (int)ms) > 0)
		drain_wake_pipe();
}

/* --- one tap ------------------------------------------------------------- */

enum tap_end { TAP_LEFT, TAP_CLOSED, TAP_QUIT, TAP_ERROR };

static int connect_retry(const struct options *o)
{
	long long deadline = now_ms() + CONNECT_TIMEOUT_MS;
	int fd, err = 0;

	while (!sig_quit) {
		fd = vpcd_connect(o->host, o->port);
		if (fd >= 0)
			return fd;
		err = errno;
		if (now_ms() >= deadline)
			break;
		wait_signal(CONNECT_RETRY_MS);
	}
	if (!sig_quit)
		fprintf(stderr, "sim: cannot connect to vpcd at %s:%u: %s\n", o->host,
		        (unsigned)o->port, strerror(err));
	return -1;
}

static int handle_control(sim_phone *phone, const struct options *o, int fd, uint8_t ctrl)
{
	switch (ctrl) {
	case VPCD_CTRL_OFF:
	case VPCD_CTRL_ON:
	case VPCD_CTRL_RESET:
		/* power lost or cycled: the security state goes with it */
		sim_phone_reset(phone);
		return 0;
	case VPCD_CTRL_ATR:
		return vpcd_send(fd, o->atr, o->atr_len);
	default:
		fprintf(stderr, "sim: unknown vpcd control %02X ignored\n", ctrl);
		return 0;
	}
}

static enum tap_end serve_tap(sim_phone *phone, const struct options *o, int fd)
{
	static uint8_t msg[VPCD_MSG_MAX], resp[SIM_RESP_MAX];
	struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
	                        {.fd = wake_pipe[0], .events = POLLIN}};
	size_t len, resp_len;
	int r;

	for (;;) {
		if (sig_quit)
			return TAP_QUIT;
		if (sig_leave)
			return TAP_LEFT;
		sig_back = 0; /* already here */
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return TAP_ERROR;
		}
		if (pfd[1].revents)
			drain_wake_pipe();
		if (!pfd[0].revents)
			continue;
		r = vpcd_recv(fd, msg, sizeof(msg), &len);
		if (r == 0)
			return TAP_CLOSED;
		if (r < 0)
			return TAP_ERROR;
		if (len == 0)
			continue;
		if (len == 1) {
			if (handle_control(phone, o, fd, msg[0]) != 0)
				return TAP_ERROR;
			continue;
		}
		if (!sim_phone_transmit(phone, msg, len, resp, &resp_len))
			return TAP_LEFT; /* fault injection: no answer, gone */
		if (resp_len > VPCD_MSG_MAX) {
			/* cannot be framed; never happens with JPKI-sized files */
			resp[0] = 0x67;
			resp[1] = 0x00;
			resp_len = 2;
		}
		if (vpcd_send(fd, resp, resp_len) != 0)
			return TAP_ERROR;
	}
}

/* Between taps: the gap, cut short by SIGUSR2 (come back) or an exit. */
static void wait_gap(const struct options *o)
{
	long long end = now_ms() + (long long)o->gap_ms;

	sig_back = 0;
	while (!sig_quit && !sig_back && now_ms() < end)
		wait_signal(end - now_ms());
	sig_back = 0;
	sig_leave = 0; /* already gone */
}

static int run(sim_phone *phone, const struct options *o)
{
	for (unsigned long tap = 1; o->taps == 0 || tap <= o->taps; tap++) {
		enum tap_end end;
		int fd = connect_retry(o);

		if (fd < 0)
			return sig_quit ? 0 : 1;
		sim_phone_reset(phone);
		sig_leave = 0;
		fprintf(stderr, "sim: tap %lu: in the field\n", tap);
		end = serve_tap(phone, o, fd);
		/* Removal. vpcd turns a close during a transmit into a successful
		 * transmit with a 0-byte answer (a FIN and a reset alike): a host
		 * must take an answer shorter than 2 bytes as a lost one. */
		close(fd);
		fprintf(stderr, "sim: left the field\n");
		if (end == TAP_ERROR)
			fprintf(stderr, "sim: vpcd connection error: %s\n", strerror(errno));
		else if (end == TAP_CLOSED)
			fprintf(stderr, "sim: vpcd closed the connection\n");
		if (end == TAP_QUIT || sig_quit)
			return 0;
		if (o->taps == 0 || tap < o->taps)
			wait_gap(o);
	}
	return 0;
}

/* --- options -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: kazashi-phone-sim --pki DIR [options]\n"
	      "A simulated JPKI phone (or My Number card) behind pcscd's vpcd reader.\n"
	      "  --persona card|android|iphone  what holds the application (card)\n"
	      "  --pki DIR          test PKI made by tests/sim/make-pki.sh (required)\n"
	      "  --host H           vpcd host (127.0.0.1)\n"
	      "  --port N           vpcd port (35963, the first Virtual PCD)\n"
	      "  --auth-pin P       user-authentication PIN (1234)\n"
	      "  --sign-pin P       signature password (ABC123)\n"
	      "  --auth-tries N     tries left at start, 0 = blocked (3)\n"
	      "  --sign-tries N     tries left at start, 0 = blocked (5)\n"
	      "  --leave-at N       leave the field instead of answering APDU N\n"
	      "  --extended         accept extended-length APDUs (else 6700)\n"
	      "  --cert-ef-size N   pad certificate EFs with zeros to N bytes\n"
	      "  --log FILE         APDU log, one JSON object a line (- = stdout)\n"
	      "  --kbps N           link model rate: 106, 212, 424, 848 (106)\n"
	      "  --taps N           taps in all, 0 = forever (1)\n"
	      "  --tap-gap-ms N     time out of the field between taps (500)\n"
	      "  --atr HEX          ATR to answer (a contactless Type B one)\n"
	      "Signals: SIGUSR1 leave the field now, SIGUSR2 come back now,\n"
	      "SIGTERM/SIGINT leave and exit.\n",
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

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex with optional spaces or colons between bytes. */
static bool parse_atr(const char *s, struct options *o)
{
	size_t n = 0;

	while (*s != '\0') {
		int hi, lo;

		if (*s == ' ' || *s == ':') {
			s++;
			continue;
		}
		hi = hexval(s[0]);
		lo = hi < 0 ? -1 : hexval(s[1]);
		if (lo < 0 || n == ATR_MAX)
			return false;
		o->atr[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	if (n < 2)
		return false;
	o->atr_len = n;
	return true;
}

static bool parse_persona(const char *s, sim_persona *out)
{
	if (strcmp(s, "card") == 0)
		*out = SIM_PERSONA_CARD;
	else if (strcmp(s, "android") == 0)
		*out = SIM_PERSONA_ANDROID;
	else if (strcmp(s, "iphone") == 0)
		*out = SIM_PERSONA_IPHONE;
	else
		return false;
	return true;
}

/* --auth-tries 0 means blocked, while 0 in sim_config means the default. */
static int tries_option(unsigned long v)
{
	return v == 0 ? -1 : (int)v;
}

enum {
	OPT_PERSONA = 256,
	OPT_PKI,
	OPT_PORT,
	OPT_HOST,
	OPT_AUTH_PIN,
	OPT_SIGN_PIN,
	OPT_AUTH_TRIES,
	OPT_SIGN_TRIES,
	OPT_LEAVE_AT,
	OPT_EXTENDED,
	OPT_LOG,
	OPT_KBPS,
	OPT_TAPS,
	OPT_GAP,
	OPT_ATR,
	OPT_EF_SIZE,
	OPT_HELP,
};

static const struct option long_opts[] = {
    {"persona", required_argument, NULL, OPT_PERSONA},
    {"pki", required_argument, NULL, OPT_PKI},
    {"port", required_argument, NULL, OPT_PORT},
    {"host", required_argument, NULL, OPT_HOST},
    {"auth-pin", required_argument, NULL, OPT_AUTH_PIN},
    {"sign-pin", required_argument, NULL, OPT_SIGN_PIN},
    {"auth-tries", required_argument, NULL, OPT_AUTH_TRIES},
    {"sign-tries", required_argument, NULL, OPT_SIGN_TRIES},
    {"leave-at", required_argument, NULL, OPT_LEAVE_AT},
    {"extended", no_argument, NULL, OPT_EXTENDED},
    {"log", required_argument, NULL, OPT_LOG},
    {"kbps", required_argument, NULL, OPT_KBPS},
    {"taps", required_argument, NULL, OPT_TAPS},
    {"tap-gap-ms", required_argument, NULL, OPT_GAP},
    {"atr", required_argument, NULL, OPT_ATR},
    {"cert-ef-size", required_argument, NULL, OPT_EF_SIZE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on, else the exit status. */
static int parse_one(struct options *o, int opt, const char *arg)
{
	unsigned long v;

	switch (opt) {
	case OPT_PERSONA:
		if (!parse_persona(arg, &o->cfg.persona))
			goto bad;
		return -1;
	case OPT_PKI:
		o->cfg.pki_dir = arg;
		return -1;
	case OPT_PORT:
		if (!parse_ulong(arg, 65535, &v) || v == 0)
			goto bad;
		o->port = (unsigned short)v;
		return -1;
	case OPT_HOST:
		o->host = arg;
		return -1;
	case OPT_AUTH_PIN:
		o->cfg.auth_pin = arg;
		return -1;
	case OPT_SIGN_PIN:
		o->cfg.sign_pin = arg;
		return -1;
	case OPT_AUTH_TRIES:
		if (!parse_ulong(arg, 3, &v))
			goto bad;
		o->cfg.auth_tries = tries_option(v);
		return -1;
	case OPT_SIGN_TRIES:
		if (!parse_ulong(arg, 5, &v))
			goto bad;
		o->cfg.sign_tries = tries_option(v);
		return -1;
	case OPT_LEAVE_AT:
		if (!parse_ulong(arg, ULONG_MAX, &o->cfg.leave_at_apdu))
			goto bad;
		return -1;
	case OPT_EXTENDED:
		o->cfg.accept_extended = true;
		return -1;
	case OPT_LOG:
		o->log_path = arg;
		return -1;
	case OPT_KBPS:
		if (!parse_ulong(arg, 848, &v) || (v != 106 && v != 212 && v != 424 && v != 848))
			goto bad;
		o->cfg.kbps = (unsigned)v;
		return -1;
	case OPT_TAPS:
		if (!parse_ulong(arg, ULONG_MAX, &o->taps))
			goto bad;
		return -1;
	case OPT_GAP:
		if (!parse_ulong(arg, 3600000, &o->gap_ms))
			goto bad;
		return -1;
	case OPT_ATR:
		if (!parse_atr(arg, o))
			goto bad;
		return -1;
	case OPT_EF_SIZE:
		if (!parse_ulong(arg, 32767, &v))
			goto bad;
		o->cfg.cert_ef_size = v;
		return -1;
	case OPT_HELP:
		usage(stdout);
		return 0;
	default:
		usage(stderr);
		return 2;
	}
bad:
	fprintf(stderr, "kazashi-phone-sim: bad value for --%s: %s\n",
	        long_opts[opt - OPT_PERSONA].name, arg);
	return 2;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int opt, r;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = VPCD_DEFAULT_PORT;
	o->taps = 1;
	o->gap_ms = 500;
	o->cfg.persona = SIM_PERSONA_CARD;
	o->cfg.kbps = 106;
	memcpy(o->atr, default_atr, sizeof(default_atr));
	o->atr_len = sizeof(default_atr);

	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		r = parse_one(o, opt, optarg);
		if (r >= 0)
			return r;
	}
	if (optind < argc || o->cfg.pki_dir == NULL) {
		fprintf(stderr, "kazashi-phone-sim: %s\n",
		        optind < argc ? "unexpected argument" : "--pki DIR is required");
		usage(stderr);
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct options o;
	sim_phone *phone;
	FILE *log = NULL;
	int r = parse_options(argc, argv, &o);

	if (r >= 0)
		return r;
	if (o.log_path != NULL) {
		log = strcmp(o.log_path, "-") == 0 ? stdout : fopen(o.log_path, "w");
		if (log == NULL) {
			fprintf(stderr, "sim: cannot open %s: %s\n", o.log_path, strerror(errno));
			return 1;
		}
		o.cfg.log = log;
	}
	if (setup_signals() != 0) {
		perror("sim: signals");
		return 1;
	}
	phone = sim_phone_new(&o.cfg);
	if (phone == NULL)
		return 1;
	r = run(phone, &o);
	sim_phone_free(phone);
	if (log != NULL && log != stdout)
		fclose(log);
	return r;
}
