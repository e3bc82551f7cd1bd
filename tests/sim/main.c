/* kazashi-phone-sim: the simulated phone as a virtual card behind pcscd's
 * vpcd reader. Connecting to vpcd is putting the phone in the field,
 * closing the socket is taking it away; a run can be several taps of the
 * same phone (tries and the APDU count carry over, as on a real one). */
#include "config.h"

#include "phone.h"
#include "phone-options.h"
#include "answer-timing.h"
#include "sim-signals.h"
#include "vpcd.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 10000 /* pcscd may still be starting */
#define CONNECT_RETRY_MS   100
#define ATR_MAX            33

/* A contactless Type B ATR as PC/SC part 3 builds it: 3B 88 80 01, eight
 * historical bytes (ATQB application data, protocol info, MBLI), TCK. */
static const uint8_t default_atr[] = {0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x00,
                                      0x00, 0x00, 0x00, 0x00, 0x00, 0x09};

struct options {
	phone_options phone;
	const char *host;
	unsigned short port;
	uint8_t atr[ATR_MAX];
	size_t atr_len;
	answer_timing timing; /* --realtime, --freeze-at, --freeze-ins, --times */
};

/* Sleeps up to ms, or until a signal arrives; returns early on any. */
static void wait_signal(long long ms)
{
	struct pollfd pfd = {.fd = wake_pipe[0], .events = POLLIN};

	if (ms < 0)
		ms = 0;
	if (ms > INT_MAX)
		ms = INT_MAX;
	if (poll(&pfd, 1, (int)ms) > 0)
		sim_signals_drain();
}

/* --- one tap ------------------------------------------------------------- */

enum tap_end { TAP_LEFT, TAP_CLOSED, TAP_QUIT, TAP_ERROR };

/* How a wait inside one exchange (frozen, or answering in modeled time)
 * that did not end in an answer ends the tap. */
static enum tap_end wait_end(enum answer_wait w)
{
	switch (w) {
	case ANSWER_WAIT_QUIT:
		return TAP_QUIT;
	case ANSWER_WAIT_LEAVE:
		return TAP_LEFT;
	case ANSWER_WAIT_CLOSED:
		return TAP_CLOSED;
	default:
		return TAP_ERROR;
	}
}

static int connect_retry(const struct options *o)
{
	long long deadline = sim_now_ms() + CONNECT_TIMEOUT_MS;
	int fd, err = 0;

	while (!sig_quit) {
		fd = vpcd_connect(o->host, o->port);
		if (fd >= 0)
			return fd;
		err = errno;
		if (sim_now_ms() >= deadline)
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

static enum tap_end serve_tap(sim_phone *phone, struct options *o, int fd)
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
			sim_signals_drain();
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
		long long arrived_ns = answer_now_ns();
		enum answer_wait w = ANSWER_WAIT_DONE;
		if (answer_freezes(&o->timing, sim_phone_apdu_count(phone) + 1, msg[1]))
			w = answer_frozen(fd); /* no answer until thawed */
		if (w != ANSWER_WAIT_DONE)
			return wait_end(w);
		sim_totals before, after;
		sim_phone_totals(phone, &before);
		if (!sim_phone_transmit(phone, msg, len, resp, &resp_len))
			return TAP_LEFT; /* fault injection: no answer, gone */
		sim_phone_totals(phone, &after);
		if (o->timing.realtime) {
			double ms = after.air_ms + after.card_ms - before.air_ms - before.card_ms;
			w = answer_wait_until(arrived_ns + (long long)(ms * 1e6));
			if (w != ANSWER_WAIT_DONE)
				return wait_end(w);
		}
		if (resp_len > VPCD_MSG_MAX) {
			/* cannot be framed; never happens with JPKI-sized files */
			resp[0] = 0x67;
			resp[1] = 0x00;
			resp_len = 2;
		}
		if (vpcd_send(fd, resp, resp_len) != 0)
			return TAP_ERROR;
		if (o->timing.times)
			answer_print_times(sim_phone_apdu_count(phone), msg[1], arrived_ns);
	}
}

/* Between taps: the gap, cut short by SIGUSR2 (come back) or an exit. */
static void wait_gap(const struct options *o)
{
	long long end = sim_now_ms() + (long long)o->phone.gap_ms;

	sig_back = 0;
	while (!sig_quit && !sig_back && sim_now_ms() < end)
		wait_signal(end - sim_now_ms());
	sig_back = 0;
	sig_leave = 0; /* already gone */
}

static int run(sim_phone *phone, struct options *o)
{
	for (unsigned long tap = 1; o->phone.taps == 0 || tap <= o->phone.taps; tap++) {
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
		if (o->phone.taps == 0 || tap < o->phone.taps)
			wait_gap(o);
	}
	return 0;
}

/* --- options -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: kazashi-phone-sim --pki DIR [options]\n"
	      "A simulated JPKI phone (or My Number card) behind pcscd's vpcd reader.\n",
	      f);
	phone_options_usage(f);
	fputs("  --host H           vpcd host (127.0.0.1)\n"
	      "  --port N           vpcd port (35963, the first Virtual PCD)\n"
	      "  --extended         accept extended-length APDUs (else 6700)\n"
	      "  --atr HEX          ATR to answer (a contactless Type B one)\n",
	      f);
	answer_timing_usage(f);
	fputs("Signals: SIGUSR1 leave the field now, SIGUSR2 come back now (frozen:\n"
	      "answer now), SIGTERM/SIGINT/SIGHUP leave and exit.\n",
	      f);
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

enum {
	OPT_PORT = PHONE_OPT_END,
	OPT_HOST,
	OPT_EXTENDED,
	OPT_ATR,
	OPT_REALTIME,
	OPT_FREEZE_AT,
	OPT_FREEZE_INS,
	OPT_TIMES,
};

static const struct option long_opts[] = {
    PHONE_LONG_OPTIONS,
    {"port", required_argument, NULL, OPT_PORT},
    {"host", required_argument, NULL, OPT_HOST},
    {"extended", no_argument, NULL, OPT_EXTENDED},
    {"atr", required_argument, NULL, OPT_ATR},
    {"realtime", no_argument, NULL, OPT_REALTIME},
    {"freeze-at", required_argument, NULL, OPT_FREEZE_AT},
    {"freeze-ins", required_argument, NULL, OPT_FREEZE_INS},
    {"times", no_argument, NULL, OPT_TIMES},
    {NULL, 0, NULL, 0},
};

/* This program's own options; false: a bad value. */
static bool parse_own(void *ctx, int opt, const char *arg)
{
	struct options *o = ctx;
	unsigned long v;

	switch (opt) {
	case OPT_PORT:
		if (!phone_parse_ulong(arg, 65535, &v) || v == 0)
			return false;
		o->port = (unsigned short)v;
		return true;
	case OPT_HOST:
		o->host = arg;
		return true;
	case OPT_EXTENDED:
		o->phone.cfg.accept_extended = true;
		return true;
	case OPT_ATR:
		return parse_atr(arg, o);
	case OPT_REALTIME:
		o->timing.realtime = true;
		return true;
	case OPT_FREEZE_AT:
		if (!phone_parse_ulong(arg, ULONG_MAX, &v) || v == 0)
			return false;
		o->timing.freeze_at = v;
		return true;
	case OPT_FREEZE_INS:
		return answer_parse_ins(arg, &o->timing);
	case OPT_TIMES:
		o->timing.times = true;
		return true;
	default:
		return false;
	}
}

static int parse_options(int argc, char **argv, struct options *o)
{
	const phone_program prog = {"kazashi-phone-sim", long_opts, usage, parse_own, o};

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = VPCD_DEFAULT_PORT;
	memcpy(o->atr, default_atr, sizeof(default_atr));
	o->atr_len = sizeof(default_atr);
	return phone_options_parse(&o->phone, &prog, argc, argv);
}

int main(int argc, char **argv)
{
	struct options o;
	sim_phone *phone;
	int r = parse_options(argc, argv, &o);

	if (r >= 0)
		return r;
	if (!phone_options_open_log(&o.phone, "sim"))
		return 1;
	if (sim_signals_setup() != 0) {
		perror("sim: signals");
		return 1;
	}
	phone = sim_phone_new(&o.phone.cfg);
	if (phone == NULL)
		return 1;
	r = run(phone, &o);
	sim_phone_free(phone);
	phone_options_close_log(&o.phone);
	return r;
}
