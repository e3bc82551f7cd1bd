/* The libnfc back end: a phone in the field of a PN532 (or any other
 * libnfc 1.8 device) with no PC/SC stack at all.
 *
 * Devices. The connection strings come from kazashi's configuration
 * (nfc_device, passed here as options) or, when it names none, from
 * libnfc's own: nfc_list_devices honours LIBNFC_DEVICE,
 * LIBNFC_DEFAULT_DEVICE and /etc/nfc/libnfc.conf, and scans USB when
 * autoscan is allowed. They are fixed when the back end opens; each is one
 * reader, "libnfc <connstring>" (stable, so its slots keep their ids), shown
 * while the device is open. A device is opened on first use and again,
 * with a growing pause, after it failed or vanished (a USB serial adapter
 * pulled out), so the back end opens quietly with no device at all. A
 * serial port is locked (flock) while open: see claim_port.
 *
 * Presence. libnfc has no events: the field is looked at when someone
 * asks (list, wait, present), at most once per freshness window. With no
 * phone selected a look is a poll for one ISO/IEC 14443 Type B target at
 * 106 kbit/s (InListPassiveTarget: REQB, then ATTRIB by the chip), which
 * selects the phone if one is there. With a phone selected it is
 * nfc_initiator_target_is_present (for Type B on a PN532 libnfc sends an
 * ISO-DEP R(NAK); the phone answers R(ACK) and nothing of its state moves),
 * never a poll, which a selected phone would not answer anyway. Either way
 * presence over libnfc costs traffic on the air: a reader polls, unlike
 * pcscd which keeps state for us. A successful exchange counts as a look.
 * Each arrival and each departure bumps the device's event count; a phone
 * found gone is looked for again in the same look, so a quick re-tap shows
 * as a departure and an arrival.
 *
 * Type B only. The JPKI application answers over ISO/IEC 14443-4 Type B
 * (the My Number card and the phones' JPKI function both); a Type A poll
 * after each empty Type B poll would double what idle polling costs and
 * find nothing the module can use.
 *
 * Limits. libnfc 1.8 copies a command into a 264-byte frame buffer: more
 * than 262 APDU bytes overflow it (SIGABRT), and it takes back at most 264
 * bytes with the status byte. So the link says max_cmd 262, max_resp 258,
 * no extended APDUs, and transmit refuses a longer command with
 * KZ_E_DATA_LEN before libnfc sees it.
 *
 * Threads. The module calls list, connect and transmit under its lock but
 * wait() runs outside it, and an nfc_device is not thread-safe: each
 * device has a mutex held around every libnfc call on it and its state.
 * wait() never sleeps holding it. No other program shares a libnfc
 * device, so begin/end have nothing to lock. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <nfc/nfc.h>

#include "reader/reader.h"
#include "util/log.h"

#define NFC_DEVICES_MAX 8
#define NFC_NAME_PREFIX "libnfc "
/* What libnfc 1.8 can carry: see the top of the file. */
#define NFC_MAX_CMD  262
#define NFC_MAX_RESP 258
#define NFC_RX_BUF   264
/* An exchange may hold a 250 ms signature plus the chip's retries. */
#define TRANSMIT_TIMEOUT_MS 3000
/* A look at the field younger than this is good enough for list() and
 * connect(); wait() looks this often. */
#define FRESH_MS 250
/* present() asks the air only when the last sign of the phone is older. */
#define PRESENT_FRESH_MS 400
/* A device that would not open is tried again after this, doubling up to
 * the maximum: libnfc logs every failed open to stderr. */
#define REOPEN_MIN_MS 500
#define REOPEN_MAX_MS 8000

typedef struct nfc_dev {
	pthread_mutex_t mu; /* every libnfc call on pnd, and all below */
	char connstring[NFC_BUFSIZE_CONNSTRING];
	char name[KZ_READER_NAME_MAX];
	nfc_device *pnd;       /* NULL until opened, and after an I/O error */
	int lock_fd;           /* holds the port's flock while open; -1 */
	uint64_t next_open_ms; /* no open attempt before this */
	unsigned reopen_ms;    /* pause after the next failed open */
	bool has_target;       /* a phone selected by our poll */
	nfc_target target;
	unsigned long events; /* arrivals and departures */
	unsigned long gen;    /* events at the current phone's arrival */
	uint64_t looked_ms;   /* last look at the field; 0 = never */
} nfc_dev;

typedef struct nfc_backend {
	kz_backend base;
	nfc_context *ctx;
	pthread_mutex_t open_mu; /* nfc_open/nfc_close use the shared context */
	nfc_dev dev[NFC_DEVICES_MAX];
	size_t ndev;

	pthread_mutex_t wait_mu;
	pthread_cond_t wait_cv; /* CLOCK_MONOTONIC */
	unsigned long cancel_gen;
} nfc_backend;

typedef struct nfc_link {
	kz_link base;
	nfc_backend *be;
	nfc_dev *dev;
	unsigned long gen; /* the arrival this link belongs to */
} nfc_link;

static const nfc_modulation type_b = {.nmt = NMT_ISO14443B, .nbr = NBR_106};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- devices ----------------------------------------------------------------- */

/* The device file a serial connection string names ("pn532_uart:/dev/ttyS0"
 * or "pn532_uart:/dev/ttyS0:115200"); false for others (USB). */
static bool port_path(const char *connstring, char *path, size_t cap)
{
	const char *port = strchr(connstring, ':');
	size_t n;

	if (port == NULL || port[1] != '/')
		return false;
	port++;
	n = strcspn(port, ":");
	if (n >= cap)
		return false;
	memcpy(path, port, n);
	path[n] = '\0';
	return true;
}

/* A serial port is nobody's alone: libnfc 1.8 opens one that another
 * program has open, and two programs talking to one PN532 interleave
 * their frames and reset each other's phone. So each kazashi process takes
 * an exclusive flock on the port before opening it and keeps it while the
 * device is open (USB devices are claimed exclusively by libusb anyway).
 * Also spares libnfc's error message for a port that is not there. */
static bool claim_port(nfc_dev *d, const char **why)
{
	char path[NFC_BUFSIZE_CONNSTRING];

	if (!port_path(d->connstring, path, sizeof(path)))
		return true;
	d->lock_fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (d->lock_fd < 0) {
		*why = errno == ENOENT ? "no such port" : strerror(errno);
		return false;
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		*why = errno == EWOULDBLOCK ? "in use by another program" : strerror(errno);
		close(d->lock_fd);
		d->lock_fd = -1;
		return false;
	}
	return true;
}

static void release_port(nfc_dev *d)
{
	if (d->lock_fd >= 0)
		close(d->lock_fd); /* drops the lock */
	d->lock_fd = -1;
}

static void close_device(nfc_backend *be, nfc_dev *d)
{
	pthread_mutex_lock(&be->open_mu);
	/* Releases the target and turns the field off: a phone still there
	 * starts over on its next activation. */
	nfc_close(d->pnd);
	pthread_mutex_unlock(&be->open_mu);
	d->pnd = NULL;
	release_port(d);
}

/* The phone of the current arrival is gone (or its state unknown). */
static void target_lost(nfc_dev *d, const char *why)
{
	if (!d->has_target)
		return;
	KZ_DEBUG("nfc: %s: phone gone (%s)", d->name, why);
	d->has_target = false;
	d->events++;
	/* A phone still selected would not answer the next poll: deselect
	 * it, so that one that did not really leave is found again. */
	if (d->pnd != NULL)
		(void)nfc_initiator_deselect_target(d->pnd);
}

/* The device stopped answering (unplugged, port gone): close it, try to
 * open it again later. */
static void device_lost(nfc_backend *be, nfc_dev *d)
{
	KZ_INFO("nfc: %s: device lost (%s)", d->name, nfc_strerror(d->pnd));
	if (d->has_target) {
		d->has_target = false;
		d->events++;
	}
	close_device(be, d);
	d->reopen_ms = REOPEN_MIN_MS;
	d->next_open_ms = now_ms() + d->reopen_ms;
}

static bool io_error(int err)
{
	return err == NFC_EIO || err == NFC_ENOTSUCHDEV;
}

static void open_failed(nfc_dev *d, const char *why)
{
	KZ_DEBUG("nfc: %s: cannot open: %s; next try in %u ms", d->connstring, why, d->reopen_ms);
	d->next_open_ms = now_ms() + d->reopen_ms;
	d->reopen_ms = d->reopen_ms * 2 > REOPEN_MAX_MS ? REOPEN_MAX_MS : d->reopen_ms * 2;
}

/* Open and set up as an initiator that polls once, not forever (libnfc's
 * default after nfc_initiator_init is to block until a target appears). */
static void open_device(nfc_backend *be, nfc_dev *d)
{
	const char *why = NULL;
	int r;

	if (now_ms() < d->next_open_ms)
		return;
	if (!claim_port(d, &why)) {
		open_failed(d, why);
		return;
	}
	pthread_mutex_lock(&be->open_mu);
	d->pnd = nfc_open(be->ctx, d->connstring);
	pthread_mutex_unlock(&be->open_mu);
	if (d->pnd == NULL) {
		release_port(d);
		open_failed(d, "nfc_open failed");
		return;
	}
	r = nfc_initiator_init(d->pnd);
	if (r >= 0)
		r = nfc_device_set_property_bool(d->pnd, NP_INFINITE_SELECT, false);
	if (r < 0) {
		open_failed(d, nfc_strerror(d->pnd));
		close_device(be, d);
		return;
	}
	KZ_INFO("nfc: %s: opened (%s)", d->name, nfc_device_get_name(d->pnd));
	d->reopen_ms = REOPEN_MIN_MS;
	d->looked_ms = 0;
}

/* One Type B poll: a phone there is selected (and is an arrival). */
static void poll_target(nfc_backend *be, nfc_dev *d)
{
	nfc_target t;
	int r = nfc_initiator_select_passive_target(d->pnd, type_b, NULL, 0, &t);

	if (r > 0) {
		d->target = t;
		d->has_target = true;
		d->gen = ++d->events;
		KZ_DEBUG("nfc: %s: a phone arrived", d->name);
	} else if (r < 0 && io_error(r)) {
		device_lost(be, d);
	} else if (r < 0) {
		KZ_DEBUG("nfc: %s: poll: %s", d->name, nfc_strerror(d->pnd));
	}
}

/* Is the selected phone still there? Not knowing (a driver without a
 * presence check) counts as yes: the next exchange will tell. */
static void check_target(nfc_backend *be, nfc_dev *d)
{
	int r = nfc_initiator_target_is_present(d->pnd, &d->target);

	if (r == NFC_SUCCESS || r == NFC_EDEVNOTSUPP || r == NFC_ENOTIMPL)
		return;
	if (io_error(r)) {
		device_lost(be, d);
		return;
	}
	target_lost(d, nfc_strerror(d->pnd));
}

/* Bring d's state up to date unless a look is younger than max_age_ms.
 * Called with d->mu held. */
static void look(nfc_backend *be, nfc_dev *d, unsigned max_age_ms)
{
	uint64_t now = now_ms();

	if (d->pnd == NULL) {
		open_device(be, d);
		if (d->pnd == NULL)
			return;
	}
	if (d->looked_ms != 0 && now - d->looked_ms < max_age_ms)
		return;
	if (d->has_target)
		check_target(be, d);
	/* Not "else": a phone found gone may be back already. */
	if (d->pnd != NULL && !d->has_target)
		poll_target(be, d);
	d->looked_ms = now_ms();
}

static nfc_dev *dev_by_name(nfc_backend *be, const char *name)
{
	for (size_t i = 0; i < be->ndev; i++)
		if (strcmp(be->dev[i].name, name) == 0)
			return &be->dev[i];
	return NULL;
}

/* ---- open, close, list ----------------------------------------------------------- */

static void add_device(nfc_backend *be, const char *connstring, size_t len)
{
	size_t prefix, keep;
	nfc_dev *d;

	if (len == 0)
		return;
	if (len >= NFC_BUFSIZE_CONNSTRING) {
		KZ_WARN("nfc: connection string too long, ignored: %.40s...", connstring);
		return;
	}
	if (be->ndev == NFC_DEVICES_MAX) {
		KZ_WARN("nfc: more than %d devices; %.*s ignored", NFC_DEVICES_MAX, (int)len,
		        connstring);
		return;
	}
	d = &be->dev[be->ndev];
	memcpy(d->connstring, connstring, len);
	d->connstring[len] = '\0';
	/* Names longer than a reader name are cut; two devices whose
	 * strings differ only past that are one reader to the slots. */
	prefix = strlen(NFC_NAME_PREFIX);
	keep = len < sizeof(d->name) - 1 - prefix ? len : sizeof(d->name) - 1 - prefix;
	memcpy(d->name, NFC_NAME_PREFIX, prefix);
	memcpy(d->name + prefix, connstring, keep);
	d->name[prefix + keep] = '\0';
	if (dev_by_name(be, d->name) != NULL) {
		KZ_DEBUG("nfc: %s named twice", d->connstring);
		return;
	}
	pthread_mutex_init(&d->mu, NULL);
	d->lock_fd = -1;
	d->reopen_ms = REOPEN_MIN_MS;
	be->ndev++;
	KZ_DEBUG("nfc: device %s", d->connstring);
}

/* Whether asking libnfc can find anything: a device named in its
 * environment or configuration, or a USB bus to scan. Without one, libnfc's
 * USB scan only prints "Unable to find USB busses" on the application's
 * stderr (containers, CI), at every module load. */
static bool libnfc_may_find(void)
{
	if (getenv("LIBNFC_DEVICE") != NULL || getenv("LIBNFC_DEFAULT_DEVICE") != NULL)
		return true;
	if (access("/dev/bus/usb", F_OK) == 0)
		return true;
	FILE *f = fopen("/etc/nfc/libnfc.conf", "re");
	char line[256];
	bool named = false;
	while (f != NULL && !named && fgets(line, sizeof(line), f) != NULL)
		named = strncmp(line + strspn(line, " \t"), "device.connstring", 17) == 0;
	if (f != NULL)
		fclose(f);
	DIR *d = named ? NULL : opendir("/etc/nfc/devices.d");
	for (struct dirent *e; d != NULL && !named && (e = readdir(d)) != NULL;)
		named = e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return named;
}

/* libnfc prints what it is told to on stderr, at its own log level: at
 * debug (3), every frame to and from the chip, so the PIN of each VERIFY
 * in hex. The level is libnfc.conf's log_level, then LIBNFC_LOG_LEVEL;
 * nfc_init writes the one it settled on back into LIBNFC_LOG_LEVEL, which
 * its logging reads at each line, so after nfc_init that variable is the
 * whole truth. Each two bits are a level: the lowest for all of libnfc,
 * the others for one part each (the serial link, the chip, ...); any
 * part at debug shows frames. Plain getenv, as libnfc's own: this only
 * looks at what libnfc will do and decides nothing. The level is parsed
 * as libnfc does (atoi into 32 bits: "-1" turns everything on). */
static void warn_if_libnfc_debug(void)
{
	const char *v = getenv("LIBNFC_LOG_LEVEL");
	if (v == NULL)
		return;
	for (uint32_t level = (uint32_t)strtol(v, NULL, 10); level != 0; level >>= 2) {
		if ((level & 3) == 3) {
			KZ_WARN(
			    "nfc: libnfc's log level is debug (LIBNFC_LOG_LEVEL or log_level in "
			    "libnfc.conf: %s): libnfc prints every frame on standard error, "
			    "PINs included; use 1 outside a lab",
			    v);
			return;
		}
	}
}

/* options: connection strings separated by spaces or commas; none =
 * whatever libnfc's own configuration names or finds. */
static void find_devices(nfc_backend *be, const char *options)
{
	nfc_connstring found[NFC_DEVICES_MAX];
	const char *p = options ? options : "";
	size_t n;

	while (*p != '\0') {
		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		add_device(be, p, n);
		p += n;
	}
	if (be->ndev > 0)
		return;
	if (!libnfc_may_find()) {
		KZ_INFO("nfc: no device configured and no USB bus to scan");
		return;
	}
	n = nfc_list_devices(be->ctx, found, NFC_DEVICES_MAX);
	for (size_t i = 0; i < n; i++)
		add_device(be, found[i], strnlen(found[i], sizeof(found[i])));
	if (be->ndev == 0)
		KZ_INFO("nfc: libnfc names no device and found none");
}

static kz_err nfc_be_open(const char *options, kz_backend **out)
{
	nfc_backend *be;
	pthread_condattr_t ca;

	if (out == NULL)
		return KZ_E_ARGS;
	*out = NULL;
	be = calloc(1, sizeof(*be));
	if (be == NULL)
		return KZ_E_NOMEM;
	nfc_init(&be->ctx);
	if (be->ctx == NULL) {
		free(be);
		return KZ_E_NOMEM;
	}
	warn_if_libnfc_debug();
	be->base.ops = &kz_nfc_backend;
	pthread_mutex_init(&be->open_mu, NULL);
	pthread_mutex_init(&be->wait_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&be->wait_cv, &ca);
	pthread_condattr_destroy(&ca);
	find_devices(be, options);
	*out = &be->base;
	return KZ_OK;
}

/* Every link must be disconnected and no thread inside this back end. */
static void nfc_be_close(kz_backend *b)
{
	nfc_backend *be = (nfc_backend *)b;

	if (be == NULL)
		return;
	for (size_t i = 0; i < be->ndev; i++) {
		if (be->dev[i].pnd != NULL)
			close_device(be, &be->dev[i]);
		pthread_mutex_destroy(&be->dev[i].mu);
	}
	nfc_exit(be->ctx);
	pthread_cond_destroy(&be->wait_cv);
	pthread_mutex_destroy(&be->wait_mu);
	pthread_mutex_destroy(&be->open_mu);
	free(be);
}

/* The readers, each looked at unless its last look is younger than
 * max_age_ms. A device that is not open is no reader. */
static size_t take_states(nfc_backend *be, kz_reader_state *out, size_t cap, unsigned max_age_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < be->ndev; i++) {
		nfc_dev *d = &be->dev[i];

		pthread_mutex_lock(&d->mu);
		look(be, d, max_age_ms);
		if (d->pnd != NULL && n < cap) {
			memset(&out[n], 0, sizeof(out[n]));
			memcpy(out[n].name, d->name, sizeof(d->name));
			out[n].card_present = d->has_target;
			out[n].event_count = d->events;
			n++;
		}
		pthread_mutex_unlock(&d->mu);
	}
	return n;
}

static kz_err nfc_be_list(kz_backend *b, kz_reader_state *out, size_t cap, size_t *count)
{
	nfc_backend *be = (nfc_backend *)b;

	if (be == NULL || count == NULL || (cap && out == NULL))
		return KZ_E_ARGS;
	*count = take_states(be, out, cap, FRESH_MS);
	return KZ_OK;
}

/* ---- wait, cancel ------------------------------------------------------------------ */

static bool same_states(const kz_reader_state *a, size_t na, const kz_reader_state *known, size_t n)
{
	if (na != n)
		return false;
	for (size_t i = 0; i < na; i++) {
		size_t j = 0;

		while (j < n && strcmp(known[j].name, a[i].name) != 0)
			j++;
		if (j == n || known[j].card_present != a[i].card_present ||
		    known[j].event_count != a[i].event_count)
			return false;
	}
	return true;
}

/* Sleep until `until` (monotonic ms) or a cancel; true if cancelled. */
static bool sleep_until(nfc_backend *be, unsigned long gen, uint64_t until)
{
	struct timespec ts = {(time_t)(until / 1000u), (long)(until % 1000u) * 1000000L};
	bool cancelled;

	pthread_mutex_lock(&be->wait_mu);
	while (be->cancel_gen == gen && now_ms() < until)
		if (pthread_cond_timedwait(&be->wait_cv, &be->wait_mu, &ts) == ETIMEDOUT)
			break;
	cancelled = be->cancel_gen != gen;
	pthread_mutex_unlock(&be->wait_mu);
	return cancelled;
}

/* No events from libnfc: look every FRESH_MS. A look in progress when
 * cancel() comes is finished first; it is bounded by libnfc's own
 * timeouts (300 ms for a poll). nfc_abort_command is not used: it would
 * abort whatever runs on the device, a signature in another thread too. */
static kz_err nfc_be_wait(kz_backend *b, const kz_reader_state *known, size_t n,
                          unsigned timeout_ms)
{
	nfc_backend *be = (nfc_backend *)b;
	kz_reader_state now[NFC_DEVICES_MAX];
	uint64_t deadline = now_ms() + timeout_ms, next;
	unsigned long gen;
	size_t count;

	if (be == NULL || (n && known == NULL))
		return KZ_E_ARGS;
	pthread_mutex_lock(&be->wait_mu);
	gen = be->cancel_gen;
	pthread_mutex_unlock(&be->wait_mu);
	for (;;) {
		count = take_states(be, now, NFC_DEVICES_MAX, FRESH_MS);
		if (!same_states(now, count, known, n))
			return KZ_OK;
		if (now_ms() >= deadline)
			return KZ_E_TIMEOUT;
		next = now_ms() + FRESH_MS;
		if (sleep_until(be, gen, next < deadline ? next : deadline))
			return KZ_E_CANCELLED;
	}
}

static void nfc_be_cancel(kz_backend *b)
{
	nfc_backend *be = (nfc_backend *)b;

	if (be == NULL)
		return;
	pthread_mutex_lock(&be->wait_mu);
	be->cancel_gen++;
	pthread_cond_broadcast(&be->wait_cv);
	pthread_mutex_unlock(&be->wait_mu);
}

/* ---- links ---------------------------------------------------------------------- */

/* Does the link's phone still hold the selection it was connected on?
 * Held: the device's mutex. */
static bool link_alive(const nfc_link *l)
{
	return l->dev->pnd != NULL && l->dev->has_target && l->dev->gen == l->gen;
}

/* libnfc's answer to an exchange that failed, as the layers above need it.
 * Held: the device's mutex. */
static kz_err exchange_error(nfc_link *l, int r)
{
	nfc_dev *d = l->dev;

	switch (r) {
	case NFC_ETIMEOUT: /* the chip itself did not answer in time */
		/* A phone that stays in the field but stops answering is
		 * given up like one that left; say so where a kiosk's log is
		 * read, as a silent phone is worth knowing about. */
		KZ_WARN("nfc: %s: no answer within %d ms: the phone is taken as gone", d->name,
		        TRANSMIT_TIMEOUT_MS);
		/* fall through */
	case NFC_ERFTRANS:    /* the chip got no (valid) answer */
	case NFC_ETGRELEASED: /* the target was released */
		target_lost(d, nfc_strerror(d->pnd));
		return KZ_E_REMOVED;
	case NFC_EOVFLOW: /* an answer larger than libnfc can take */
	case NFC_ECHIP:
		KZ_WARN("nfc: %s: exchange: %s", d->name, nfc_strerror(d->pnd));
		return KZ_E_PROTOCOL;
	default:
		if (io_error(r)) {
			device_lost(l->be, d);
			return KZ_E_REMOVED;
		}
		KZ_WARN("nfc: %s: exchange: %s (%d)", d->name, nfc_strerror(d->pnd), r);
		return KZ_E_COMM;
	}
}

static kz_err nfc_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                           size_t *resp_len)
{
	nfc_link *l = ctx;
	uint8_t rx[NFC_RX_BUF];
	kz_err e = KZ_OK;
	int r;

	if (l == NULL || cmd == NULL || resp == NULL || resp_len == NULL || cmd_len < 4)
		return KZ_E_ARGS;
	/* Never let libnfc see more: it would overflow its frame buffer. */
	if (cmd_len > NFC_MAX_CMD)
		return KZ_E_DATA_LEN;
	pthread_mutex_lock(&l->dev->mu);
	if (!link_alive(l)) {
		pthread_mutex_unlock(&l->dev->mu);
		return KZ_E_REMOVED;
	}
	r = nfc_initiator_transceive_bytes(l->dev->pnd, cmd, cmd_len, rx, sizeof(rx),
	                                   TRANSMIT_TIMEOUT_MS);
	if (r < 0) {
		e = exchange_error(l, r);
	} else if (r < 2) {
		KZ_WARN("nfc: %s: %d-byte answer has no status word", l->dev->name, r);
		e = KZ_E_PROTOCOL;
	} else if ((size_t)r > *resp_len) {
		e = KZ_E_PROTOCOL;
	} else {
		memcpy(resp, rx, (size_t)r);
		*resp_len = (size_t)r;
		l->dev->looked_ms = now_ms(); /* the phone answered: it is there */
	}
	pthread_mutex_unlock(&l->dev->mu);
	return e;
}

static kz_err nfc_be_connect(kz_backend *b, const char *reader, kz_link **out)
{
	nfc_backend *be = (nfc_backend *)b;
	nfc_dev *d;
	nfc_link *l;
	kz_err e = KZ_OK;

	if (be == NULL || reader == NULL || out == NULL)
		return KZ_E_ARGS;
	*out = NULL;
	d = dev_by_name(be, reader);
	if (d == NULL)
		return KZ_E_NO_READER;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return KZ_E_NOMEM;
	pthread_mutex_lock(&d->mu);
	look(be, d, FRESH_MS);
	if (d->pnd == NULL)
		e = KZ_E_NO_READER;
	else if (!d->has_target)
		e = KZ_E_NO_CARD;
	l->gen = d->gen;
	pthread_mutex_unlock(&d->mu);
	if (e != KZ_OK) {
		free(l);
		return e;
	}
	l->base.ops = &kz_nfc_backend;
	l->be = be;
	l->dev = d;
	l->base.transport = (kz_transport){
	    .transmit = nfc_transmit,
	    .ctx = l,
	    .max_cmd = NFC_MAX_CMD,
	    .max_resp = NFC_MAX_RESP,
	    .extended_ok = false,
	    .name = d->name,
	};
	KZ_DEBUG("nfc: connected to the phone in %s", d->name);
	*out = &l->base;
	return KZ_OK;
}

/* Nobody else uses a libnfc device: nothing to hold, and nobody can have
 * reset the phone but a new tap, which the link sees as its end. */
static kz_err nfc_be_begin(kz_link *kl, bool *reset)
{
	nfc_link *l = (nfc_link *)kl;
	bool alive;

	if (reset != NULL)
		*reset = false;
	if (l == NULL)
		return KZ_E_ARGS;
	pthread_mutex_lock(&l->dev->mu);
	alive = link_alive(l);
	pthread_mutex_unlock(&l->dev->mu);
	return alive ? KZ_OK : KZ_E_REMOVED;
}

static void nfc_be_end(kz_link *kl)
{
	(void)kl;
}

/* Answers from state while the phone spoke recently; asks the air (no
 * APDU: an ISO-DEP presence check) when its last sign is older. */
static bool nfc_be_present(kz_link *kl)
{
	nfc_link *l = (nfc_link *)kl;
	bool alive;

	if (l == NULL)
		return false;
	pthread_mutex_lock(&l->dev->mu);
	if (link_alive(l))
		look(l->be, l->dev, PRESENT_FRESH_MS);
	alive = link_alive(l);
	pthread_mutex_unlock(&l->dev->mu);
	return alive;
}

/* The phone stays selected: deselecting one still in the field would make
 * the next poll find it again as a new tap, and a card that is not a JPKI
 * token would then be identified again at every poll. It is released when
 * it leaves, and when the device closes (which turns the field off). */
static void nfc_be_disconnect(kz_link *kl)
{
	free(kl);
}

const kz_backend_ops kz_nfc_backend = {
    .name = "nfc",
    .open = nfc_be_open,
    .close = nfc_be_close,
    .list = nfc_be_list,
    .wait = nfc_be_wait,
    .cancel = nfc_be_cancel,
    .connect = nfc_be_connect,
    .begin = nfc_be_begin,
    .end = nfc_be_end,
    .present = nfc_be_present,
    .disconnect = nfc_be_disconnect,
};
