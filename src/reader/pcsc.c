/* The PC/SC back end: readers and cards through pcsc-lite's pcscd.
 *
 * Contexts. pcsc-lite serialises every call on one SCARDCONTEXT with a
 * mutex inside the library, and a blocked SCardGetStatusChange holds that
 * mutex for its whole timeout; a context is meant for one thread. So each
 * back end keeps three, each for one kind of work and guarded here:
 *   list_ctx  reader names and states (list, the first look of wait, and
 *             name resolution in connect): short calls, under list_mu;
 *   wait_ctx  the one blocking SCardGetStatusChange, and SCardCancel on it;
 *             one waiter at a time owns it (wait_busy, under wait_mu);
 *   a link's  one context per connected card (per reader): SCardConnect
 *   own ctx   and every call on its handle. pcsc-lite holds a context's
 *             mutex across a whole SCardTransmit, so with one context for
 *             every card a silent card in one reader would hold the
 *             exchanges of every other; with one each, readers work side
 *             by side. The module uses a link from one thread at a time.
 * list therefore never waits behind a transmit or a blocked wait.
 *
 * pcscd may be absent when the module loads, start later, or restart under
 * us. Contexts are established lazily, and a call failing with "service
 * gone" (see service_gone) releases its context, re-establishes it once and
 * is retried once. With no pcscd there are no readers, which is not an
 * error. After a restart the old card handles are dead, and so are the
 * links' own contexts: every call on them fails, and the link reports
 * KZ_E_REMOVED.
 *
 * pcsc-lite's per-reader event counter starts again with pcscd (and with a
 * reader that is plugged in again), so the same phone kept on the reader
 * through a restart shows the same count as before. What list() reports
 * is therefore made of the service epoch (the run of pcscd that answers,
 * service_epoch: a restart kills the old list context and brings a new
 * one) and pcscd's count, so that every reader looks freshly inserted
 * after a restart.
 *
 * Departures. pcscd learns that a card left by polling the driver (every
 * 400 ms for vpcd) or from the reader's own notification. An exchange that
 * fails before pcscd has noticed gets up to SETTLE_MS for it to do so, and
 * is then reported as KZ_E_REMOVED rather than a communication error. vpcd
 * answers an exchange cut by the card's departure with success and no
 * bytes; if the phone is back before pcscd's next poll, pcscd never sees it
 * leave, so this back end counts that departure itself (bump_events). A
 * link that has once reported KZ_E_REMOVED stays removed: the next tap needs
 * a new connect.
 *
 * Timeouts. SCardTransmit has no timeout of its own: it returns when the
 * reader driver does. A real contactless reader gives up on a phone that
 * left within the ISO-DEP frame waiting time (the phone's FWI, plus WTX
 * extensions it asked for). vpcd waits for its card without any limit, and
 * returns at once when the card's socket closes; a simulated phone that
 * never answers and never leaves blocks the caller for good. Nothing here
 * can interrupt that: pcsc-lite has no cancel for SCardTransmit. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <winscard.h>

#include "reader/reader.h"
#include "util/log.h"

/* pcsc-lite's pseudo reader: listed in SCardGetStatusChange, it reports a
 * change when a reader is added or removed. */
#define PNP_READER "\\\\?PnP?\\Notification"

/* An extended APDU: header, Lc 00 xx xx, 65535 data bytes, Le xx xx. */
#define PCSC_MAX_CMD  (4 + 3 + 65535 + 2)
#define PCSC_MAX_RESP 65538

/* With no pcscd, a blocking wait looks for it this often (a stat() in
 * SCardEstablishContext: no IPC, nothing to cost while idle). */
#define NO_SERVICE_POLL_MS 500

/* SCardCancel only reaches a waiter already blocked inside pcscd; one that
 * is about to block misses it. cancel() therefore repeats it this often,
 * until the waiter has left, for at most CANCEL_TRIES times. */
#define CANCEL_RETRY_MS 10
#define CANCEL_TRIES    200

/* After an unexplained transmit error, how long to give pcscd to notice
 * that the card left (it polls vpcd and most drivers every 400 ms), so
 * that a phone leaving mid-APDU is reported as removed, not as a
 * communication error. Only failures pay this. */
#define SETTLE_MS 600

/* pcsc-lite's DWORD timeout is milliseconds; INFINITE (0xFFFFFFFF) is
 * special and must never be passed by accident. */
#define MAX_WAIT_SLICE_MS 0x7FFFFFFFUL

typedef struct pcsc_backend {
	kz_backend base;

	pthread_mutex_t list_mu;
	SCARDCONTEXT list_ctx;
	bool list_ctx_ok;
	unsigned long epoch; /* list_ctx establishments: one per pcscd run */

	pthread_mutex_t wait_mu;
	pthread_cond_t wait_cv; /* CLOCK_MONOTONIC; busy, cancel and sleeps */
	SCARDCONTEXT wait_ctx;
	bool wait_ctx_ok;
	bool wait_busy;              /* a waiter owns wait_ctx */
	unsigned long wait_busy_gen; /* cancel_gen when that waiter started */
	unsigned long cancel_gen;    /* bumped by every cancel() */

	/* Departures pcscd did not see (see bump_events), per reader name:
	 * added to pcscd's event counter in what list() reports. */
	pthread_mutex_t bump_mu;
	struct {
		char name[MAX_READERNAME];
		unsigned long n;
	} bumps[PCSCLITE_MAX_READERS_CONTEXTS];
} pcsc_backend;

typedef struct pcsc_link {
	kz_link base;
	pcsc_backend *be;
	SCARDHANDLE card;
	DWORD protocol;   /* changed by SCardReconnect in begin */
	SCARDCONTEXT ctx; /* this link's own: see "Contexts" */
	char *reader;     /* full pcsc-lite name; also transport.name */
	/* Once KZ_E_REMOVED has been reported. Atomic: present() may run
	 * in another thread than the transmit that sets it. */
	atomic_bool departed;
} pcsc_link;

/* Reader names and states, as one look at pcscd. */
typedef struct snapshot {
	char *names;           /* multi-string from SCardListReaders */
	SCARD_READERSTATE *st; /* n readers, plus a spare entry for PnP */
	size_t n;
	bool no_service;     /* pcscd is not running (n is 0) */
	unsigned long epoch; /* of the pcscd that answered */
} snapshot;

/* pcsc-lite error codes are 32-bit values in a long: print them as such. */
static unsigned long rv_hex(LONG rv)
{
	return (unsigned long)rv & 0xFFFFFFFFUL;
}

/* Errors that say the context, not the card, is dead: pcscd is gone or
 * restarted. SCARD_F_COMM_ERROR is what the client library returns when
 * its socket to pcscd breaks in the middle of a call. */
static bool service_gone(LONG rv)
{
	return rv == SCARD_E_NO_SERVICE || rv == SCARD_E_SERVICE_STOPPED ||
	       rv == SCARD_E_INVALID_HANDLE || rv == SCARD_F_COMM_ERROR;
}

/* Errors after which the card of a handle is certainly not usable any
 * more: it left, its reader left, or pcscd did. */
static bool card_gone(LONG rv)
{
	return rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD ||
	       rv == SCARD_E_READER_UNAVAILABLE || rv == SCARD_E_UNKNOWN_READER || service_gone(rv);
}

static bool state_present(DWORD s)
{
	/* A mute card is one that did not answer the reset: nothing to talk
	 * to, so it is not a token either. */
	return (s & SCARD_STATE_PRESENT) && !(s & SCARD_STATE_MUTE);
}

static unsigned long state_events(DWORD s)
{
	/* pcsc-lite keeps a per-reader insertion/removal counter in the high
	 * 16 bits of dwEventState. */
	return (unsigned long)((s >> 16) & 0xFFFFu);
}

/* ---- event counts ---------------------------------------------------------- */

/* Count one more event on a reader: the card left and came back between two
 * of pcscd's polls, so pcscd's own counter did not move. */
static void bump_events(pcsc_backend *be, const char *reader)
{
	size_t i, free_slot = PCSCLITE_MAX_READERS_CONTEXTS;

	pthread_mutex_lock(&be->bump_mu);
	for (i = 0; i < PCSCLITE_MAX_READERS_CONTEXTS; i++) {
		if (be->bumps[i].name[0] == '\0') {
			if (free_slot == PCSCLITE_MAX_READERS_CONTEXTS)
				free_slot = i;
		} else if (strcmp(be->bumps[i].name, reader) == 0) {
			break;
		}
	}
	if (i == PCSCLITE_MAX_READERS_CONTEXTS && free_slot < PCSCLITE_MAX_READERS_CONTEXTS) {
		i = free_slot;
		snprintf(be->bumps[i].name, sizeof(be->bumps[i].name), "%s", reader);
	}
	if (i < PCSCLITE_MAX_READERS_CONTEXTS)
		be->bumps[i].n++;
	else
		KZ_DEBUG("pcsc: no room to count a departure from %s", reader);
	pthread_mutex_unlock(&be->bump_mu);

	/* pcscd has nothing to tell a blocked waiter: nudge it. It takes the
	 * cancel as a stray one (cancel_gen did not move), looks again and
	 * finds the new count. A nudge that comes too early is lost, and the
	 * waiter sees the count at its next look instead. */
	pthread_mutex_lock(&be->wait_mu);
	bool nudge = be->wait_busy && be->wait_ctx_ok;
	SCARDCONTEXT ctx = be->wait_ctx;
	pthread_mutex_unlock(&be->wait_mu);
	if (nudge)
		SCardCancel(ctx);
}

/* Where pcscd writes its pid when it starts: with the file's time, it
 * names one run of pcscd, the same for every program on the machine. */
#define PCSCD_PID_FILE "/run/pcscd/pcscd.pid"

/* The epoch of a newly established list context: the run of pcscd that
 * answers (its pid and the time its pid file was written), so that the
 * same phone on the same reader shows the same event count to every
 * process and across C_Finalize and C_Initialize (token serial numbers
 * are made from it), while a restarted pcscd shows new ones. Without the
 * pid file: one more than the last, for this process alone. */
static unsigned long service_epoch(unsigned long previous)
{
	struct stat st;
	unsigned long pid = 0;
	FILE *f = fopen(PCSCD_PID_FILE, "re");
	if (f != NULL) {
		if (fscanf(f, "%lu", &pid) != 1)
			pid = 0;
		if (fstat(fileno(f), &st) != 0)
			pid = 0;
		fclose(f);
	}
	if (pid == 0)
		return previous + 1;
	/* 40 bits, above the 16 of pcscd's own count. */
	uint64_t h = (uint64_t)pid * 0x9E3779B97F4A7C15ull ^
	             ((uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec);
	h ^= h >> 29;
	unsigned long epoch = (unsigned long)(h & 0xFFFFFFFFFFull);
	return epoch == previous || epoch == 0 ? previous + 1 : epoch;
}

/* The event count list() reports for a reader in state st, as seen in a
 * snapshot of the given epoch: pcscd's 16-bit count (plus the departures
 * counted here) in the low bits, the epoch above them. */
static unsigned long reader_events(pcsc_backend *be, unsigned long epoch,
                                   const SCARD_READERSTATE *st)
{
	unsigned long n = state_events(st->dwEventState);

	pthread_mutex_lock(&be->bump_mu);
	for (size_t i = 0; i < PCSCLITE_MAX_READERS_CONTEXTS; i++)
		if (strcmp(be->bumps[i].name, st->szReader) == 0) {
			n += be->bumps[i].n;
			break;
		}
	pthread_mutex_unlock(&be->bump_mu);
	return (n & 0xFFFFu) | (epoch << 16);
}

/* ---- time ---------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct timespec abs_monotonic(uint64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000u);
	ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
	return ts;
}

/* ---- names --------------------------------------------------------------- */

/* Copy a reader name into a kz_reader_state name, cutting it (at a UTF-8
 * character boundary, so that the result is still valid text) if it is
 * too long. pcsc-lite's own limit (MAX_READERNAME) is the same 128 bytes,
 * so this only matters for other PC/SC implementations. */
static void copy_name(char dst[KZ_READER_NAME_MAX], const char *src)
{
	size_t len = strlen(src);

	if (len >= KZ_READER_NAME_MAX) {
		len = KZ_READER_NAME_MAX - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xC0u) == 0x80u)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static bool name_is(const char *shown, const char *full)
{
	char cut[KZ_READER_NAME_MAX];

	copy_name(cut, full);
	return strcmp(shown, cut) == 0;
}

/* ---- snapshots ----------------------------------------------------------- */

static void snapshot_free(snapshot *s)
{
	free(s->st);
	free(s->names);
	memset(s, 0, sizeof(*s));
}

/* List the readers through ctx and read their states without blocking.
 * The two-call form (size, then names) keeps the buffer ours: memory from
 * SCARD_AUTOALLOCATE must go back through SCardFreeMemory on a context
 * that is still valid, which after a pcscd restart it is not. */
static LONG take_snapshot(SCARDCONTEXT ctx, snapshot *s)
{
	DWORD len = 0;
	LONG rv = SCARD_E_INSUFFICIENT_BUFFER;

	memset(s, 0, sizeof(*s));
	/* A reader plugged in between the two calls makes the second one
	 * too small; try again a few times. */
	for (int tries = 0; tries < 3 && rv == SCARD_E_INSUFFICIENT_BUFFER; tries++) {
		free(s->names);
		s->names = NULL;
		rv = SCardListReaders(ctx, NULL, NULL, &len);
		if (rv != SCARD_S_SUCCESS)
			break;
		/* One spare byte so the list is terminated whatever comes. */
		s->names = calloc(1, (size_t)len + 2);
		if (!s->names)
			return SCARD_E_NO_MEMORY;
		rv = SCardListReaders(ctx, NULL, s->names, &len);
	}
	if (rv == SCARD_E_NO_READERS_AVAILABLE) {
		free(s->names);
		s->names = NULL;
		s->st = calloc(1, sizeof(*s->st));
		return s->st ? SCARD_S_SUCCESS : SCARD_E_NO_MEMORY;
	}
	if (rv != SCARD_S_SUCCESS) {
		snapshot_free(s);
		return rv;
	}

	for (const char *p = s->names; *p; p += strlen(p) + 1)
		s->n++;
	s->st = calloc(s->n + 1, sizeof(*s->st));
	if (!s->st) {
		snapshot_free(s);
		return SCARD_E_NO_MEMORY;
	}
	size_t i = 0;
	for (const char *p = s->names; *p; p += strlen(p) + 1) {
		s->st[i].szReader = p;
		s->st[i].dwCurrentState = SCARD_STATE_UNAWARE;
		i++;
	}
	if (s->n == 0)
		return SCARD_S_SUCCESS;
	/* UNAWARE makes it return at once with every reader's state. */
	rv = SCardGetStatusChange(ctx, 0, s->st, (DWORD)s->n);
	if (rv == SCARD_E_TIMEOUT)
		rv = SCARD_S_SUCCESS;
	if (rv != SCARD_S_SUCCESS)
		snapshot_free(s);
	return rv;
}

/* take_snapshot on the list context, establishing it when needed and
 * retrying once when pcscd went away. No pcscd is not an error: the
 * snapshot then says no_service and holds no reader. */
static LONG list_snapshot(pcsc_backend *be, snapshot *s)
{
	LONG rv = SCARD_S_SUCCESS;

	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&be->list_mu);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!be->list_ctx_ok) {
			rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &be->list_ctx);
			if (rv != SCARD_S_SUCCESS)
				break;
			be->list_ctx_ok = true;
			be->epoch = service_epoch(be->epoch);
		}
		rv = take_snapshot(be->list_ctx, s);
		s->epoch = be->epoch;
		if (!service_gone(rv))
			break;
		KZ_DEBUG("pcsc: listing readers: %s; re-establishing the context",
		         pcsc_stringify_error(rv));
		SCardReleaseContext(be->list_ctx);
		be->list_ctx_ok = false;
	}
	pthread_mutex_unlock(&be->list_mu);

	if (service_gone(rv)) {
		KZ_DEBUG("pcsc: no PC/SC service (%s): no readers", pcsc_stringify_error(rv));
		memset(s, 0, sizeof(*s));
		s->no_service = true;
		s->st = calloc(1, sizeof(*s->st));
		return s->st ? SCARD_S_SUCCESS : SCARD_E_NO_MEMORY;
	}
	if (rv != SCARD_S_SUCCESS)
		KZ_WARN("pcsc: listing readers: %s (0x%08lX)", pcsc_stringify_error(rv),
		        rv_hex(rv));
	return rv;
}

/* Does the snapshot show exactly what the caller believes? */
static bool snapshot_matches(pcsc_backend *be, const snapshot *s, const kz_reader_state *known,
                             size_t n)
{
	if (s->n != n)
		return false;
	for (size_t i = 0; i < s->n; i++) {
		const SCARD_READERSTATE *st = &s->st[i];
		size_t j = 0;

		while (j < n && !name_is(known[j].name, st->szReader))
			j++;
		if (j == n)
			return false;
		if (known[j].card_present != state_present(st->dwEventState) ||
		    known[j].event_count != reader_events(be, s->epoch, st))
			return false;
	}
	return true;
}

/* ---- open, close, list ---------------------------------------------------- */

static kz_err pcsc_open(const char *options, kz_backend **out)
{
	pcsc_backend *be;
	pthread_condattr_t ca;
	LONG rv;

	if (!out)
		return KZ_E_ARGS;
	*out = NULL;
	if (options && *options)
		KZ_DEBUG("pcsc: options ignored: %s", options);

	be = calloc(1, sizeof(*be));
	if (!be)
		return KZ_E_NOMEM;
	be->base.ops = &kz_pcsc_backend;
	pthread_mutex_init(&be->list_mu, NULL);
	pthread_mutex_init(&be->wait_mu, NULL);
	pthread_mutex_init(&be->bump_mu, NULL);
	/* Deadlines are monotonic: a clock step must not stretch a wait. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&be->wait_cv, &ca);
	pthread_condattr_destroy(&ca);

	/* Only to say early in the log whether pcscd is there; every context
	 * is (re-)established on demand anyway. */
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &be->list_ctx);
	if (rv == SCARD_S_SUCCESS) {
		be->list_ctx_ok = true;
		be->epoch = service_epoch(be->epoch);
	} else if (rv == SCARD_E_NO_SERVICE)
		KZ_INFO("pcsc: pcscd is not running; no PC/SC readers until it starts");
	else
		KZ_WARN("pcsc: SCardEstablishContext: %s (0x%08lX)", pcsc_stringify_error(rv),
		        rv_hex(rv));

	*out = &be->base;
	return KZ_OK;
}

/* Every link must be disconnected and no thread may be inside a call of
 * this back end any more (cancel() first, then join the waiters). */
static void pcsc_close(kz_backend *b)
{
	pcsc_backend *be = (pcsc_backend *)b;

	if (!be)
		return;
	if (be->list_ctx_ok)
		SCardReleaseContext(be->list_ctx);
	if (be->wait_ctx_ok)
		SCardReleaseContext(be->wait_ctx);
	pthread_cond_destroy(&be->wait_cv);
	pthread_mutex_destroy(&be->bump_mu);
	pthread_mutex_destroy(&be->wait_mu);
	pthread_mutex_destroy(&be->list_mu);
	free(be);
}

static kz_err pcsc_list(kz_backend *b, kz_reader_state *out, size_t cap, size_t *count)
{
	pcsc_backend *be = (pcsc_backend *)b;
	snapshot s;
	LONG rv;

	if (!be || !count || (cap && !out))
		return KZ_E_ARGS;
	*count = 0;
	rv = list_snapshot(be, &s);
	if (rv == SCARD_E_NO_MEMORY)
		return KZ_E_NOMEM;
	if (rv != SCARD_S_SUCCESS)
		return KZ_E_COMM;
	if (s.n > cap)
		KZ_DEBUG("pcsc: %zu readers, only %zu reported", s.n, cap);
	for (size_t i = 0; i < s.n && i < cap; i++) {
		copy_name(out[i].name, s.st[i].szReader);
		out[i].card_present = state_present(s.st[i].dwEventState);
		out[i].event_count = reader_events(be, s.epoch, &s.st[i]);
	}
	*count = s.n < cap ? s.n : cap;
	snapshot_free(&s);
	return KZ_OK;
}

/* ---- wait, cancel ---------------------------------------------------------- */

static bool cancelled_since(pcsc_backend *be, unsigned long gen)
{
	bool c;

	pthread_mutex_lock(&be->wait_mu);
	c = be->cancel_gen != gen;
	pthread_mutex_unlock(&be->wait_mu);
	return c;
}

/* Sleep until the monotonic time `until` unless cancelled; true if it was. */
static bool sleep_until(pcsc_backend *be, unsigned long gen, uint64_t until)
{
	struct timespec ts = abs_monotonic(until);
	bool c;

	pthread_mutex_lock(&be->wait_mu);
	while (be->cancel_gen == gen && now_ms() < until)
		if (pthread_cond_timedwait(&be->wait_cv, &be->wait_mu, &ts) == ETIMEDOUT)
			break;
	c = be->cancel_gen != gen;
	pthread_mutex_unlock(&be->wait_mu);
	return c;
}

/* Block in SCardGetStatusChange on wait_ctx until any reader in s differs
 * from its state in s, a reader comes or goes, or the deadline passes.
 * Waiters take turns on the one wait context (see the top of the file). */
static LONG block_for_change(pcsc_backend *be, unsigned long gen, snapshot *s, uint64_t deadline)
{
	struct timespec ts = abs_monotonic(deadline);
	SCARDCONTEXT ctx;
	uint64_t now;
	DWORD ms;
	LONG rv = SCARD_S_SUCCESS;

	pthread_mutex_lock(&be->wait_mu);
	while (be->wait_busy && be->cancel_gen == gen)
		if (pthread_cond_timedwait(&be->wait_cv, &be->wait_mu, &ts) == ETIMEDOUT)
			break;
	if (be->cancel_gen != gen)
		rv = SCARD_E_CANCELLED;
	else if (be->wait_busy)
		rv = SCARD_E_TIMEOUT;
	else if (!be->wait_ctx_ok) {
		rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &be->wait_ctx);
		be->wait_ctx_ok = rv == SCARD_S_SUCCESS;
	}
	if (rv != SCARD_S_SUCCESS) {
		pthread_mutex_unlock(&be->wait_mu);
		return rv;
	}
	be->wait_busy = true;
	be->wait_busy_gen = gen;
	ctx = be->wait_ctx;
	pthread_mutex_unlock(&be->wait_mu);

	/* Wait for a change from what the snapshot saw. Sharing bits are left
	 * out: a program (us included) connecting or disconnecting is not a
	 * tap and must not wake the waiter. The PnP reader goes in with
	 * dwCurrentState 0: pcsc-lite then reports reader additions and
	 * removals from the moment the call starts (newer releases read a
	 * non-zero high word as a reader-event counter, which we do not
	 * track). A reader added before the call but after the snapshot is
	 * caught by the next wait's snapshot comparison. */
	for (size_t i = 0; i < s->n; i++) {
		DWORD st = s->st[i].dwEventState;

		s->st[i].dwCurrentState =
		    st & ~(DWORD)(SCARD_STATE_CHANGED | SCARD_STATE_INUSE | SCARD_STATE_EXCLUSIVE);
	}
	memset(&s->st[s->n], 0, sizeof(s->st[s->n]));
	s->st[s->n].szReader = PNP_READER;
	s->st[s->n].dwCurrentState = SCARD_STATE_UNAWARE;

	now = now_ms();
	ms = deadline > now ? (DWORD)(deadline - now) : 0;
	if (ms > MAX_WAIT_SLICE_MS)
		ms = MAX_WAIT_SLICE_MS;
	rv = SCardGetStatusChange(ctx, ms, s->st, (DWORD)(s->n + 1));

	pthread_mutex_lock(&be->wait_mu);
	if (service_gone(rv)) {
		SCardReleaseContext(ctx);
		be->wait_ctx_ok = false;
	}
	be->wait_busy = false;
	pthread_cond_broadcast(&be->wait_cv);
	pthread_mutex_unlock(&be->wait_mu);
	return rv;
}

/* The end of a pause before looking again: NO_SERVICE_POLL_MS from now,
 * but never past the caller's deadline. */
static uint64_t pause_end(uint64_t deadline)
{
	uint64_t until = now_ms() + NO_SERVICE_POLL_MS;

	return until < deadline ? until : deadline;
}

/* known[0..n) must be the whole list as list() gave it (a cap smaller than
 * the number of readers would make every wait return at once). */
static kz_err pcsc_wait(kz_backend *b, const kz_reader_state *known, size_t n, unsigned timeout_ms)
{
	pcsc_backend *be = (pcsc_backend *)b;
	uint64_t deadline = now_ms() + timeout_ms;
	bool retried = false;
	unsigned long gen;
	snapshot s;
	LONG rv;

	if (!be || (n && !known))
		return KZ_E_ARGS;
	pthread_mutex_lock(&be->wait_mu);
	gen = be->cancel_gen;
	pthread_mutex_unlock(&be->wait_mu);

	for (;;) {
		if (cancelled_since(be, gen))
			return KZ_E_CANCELLED;
		/* First compare with the present, so that whatever changed
		 * since the caller's list (however long ago) is reported at
		 * once, and so that the blocking call starts from pcscd's
		 * full state (mute, unavailable) rather than a guess. */
		rv = list_snapshot(be, &s);
		if (rv != SCARD_S_SUCCESS) {
			/* The caller loops on errors: keep that loop cold. */
			if (sleep_until(be, gen, pause_end(deadline)))
				return KZ_E_CANCELLED;
			return rv == SCARD_E_NO_MEMORY ? KZ_E_NOMEM : KZ_E_COMM;
		}
		if (!snapshot_matches(be, &s, known, n)) {
			snapshot_free(&s);
			return KZ_OK;
		}
		if (now_ms() >= deadline) {
			snapshot_free(&s);
			return KZ_E_TIMEOUT;
		}
		if (s.no_service) {
			/* Nothing to block on until pcscd starts. */
			snapshot_free(&s);
			if (sleep_until(be, gen, pause_end(deadline)))
				return KZ_E_CANCELLED;
			continue;
		}

		rv = block_for_change(be, gen, &s, deadline);
		snapshot_free(&s);
		switch (rv) {
		case SCARD_S_SUCCESS:
			return KZ_OK;
		case SCARD_E_TIMEOUT:
			return KZ_E_TIMEOUT;
		case SCARD_E_CANCELLED:
			/* A late SCardCancel aimed at an earlier waiter can
			 * land on this one: only our own cancel counts. */
			if (cancelled_since(be, gen))
				return KZ_E_CANCELLED;
			KZ_DEBUG("pcsc: stray cancel; waiting again");
			continue;
		default:
			break;
		}
		if (service_gone(rv) && !retried) {
			/* pcscd went away or restarted: the next snapshot
			 * tells what is there now. */
			KZ_DEBUG("pcsc: waiting: %s; re-establishing the context",
			         pcsc_stringify_error(rv));
			retried = true;
			continue;
		}
		KZ_WARN("pcsc: SCardGetStatusChange: %s (0x%08lX)", pcsc_stringify_error(rv),
		        rv_hex(rv));
		if (sleep_until(be, gen, pause_end(deadline)))
			return KZ_E_CANCELLED;
		return KZ_E_COMM;
	}
}

/* Cancels the waits under way when it is called, including one that has
 * taken its snapshot but not yet blocked. A wait that starts after cancel()
 * returns is not affected: the caller checks its own shutdown flag before
 * each wait (its waits are finite, so a thread that slipped past the flag
 * still returns within one timeout). */
static void pcsc_cancel(kz_backend *b)
{
	pcsc_backend *be = (pcsc_backend *)b;
	struct timespec ts;
	unsigned long mine;

	if (!be)
		return;
	pthread_mutex_lock(&be->wait_mu);
	mine = ++be->cancel_gen;
	/* Wakes waiters queued for the wait context and sleepers. */
	pthread_cond_broadcast(&be->wait_cv);
	/* The waiter owning the context, if it started before this cancel,
	 * is (or is about to be) blocked in pcscd: keep cancelling until it
	 * has left. pcsc-lite ignores SCardCancel before the call is really
	 * blocked, so once is not enough. */
	for (int tries = 0; tries < CANCEL_TRIES; tries++) {
		if (!be->wait_busy || (long)(mine - be->wait_busy_gen) <= 0)
			break;
		if (be->wait_ctx_ok) {
			SCARDCONTEXT ctx = be->wait_ctx;

			/* Not under wait_mu: SCardCancel talks to pcscd. */
			pthread_mutex_unlock(&be->wait_mu);
			SCardCancel(ctx);
			pthread_mutex_lock(&be->wait_mu);
		}
		if (!be->wait_busy || (long)(mine - be->wait_busy_gen) <= 0)
			break;
		ts = abs_monotonic(now_ms() + CANCEL_RETRY_MS);
		pthread_cond_timedwait(&be->wait_cv, &be->wait_mu, &ts);
	}
	pthread_mutex_unlock(&be->wait_mu);
}

/* ---- the card context ------------------------------------------------------ */

/* For work on the card: not once the card has left. After a pcscd
 * restart the link's context is dead, and every call on it fails. */
static bool link_hold(pcsc_link *l)
{
	return !atomic_load(&l->departed);
}

/* Does pcscd still consider the card of this handle there? It keeps that
 * per handle: once it has seen the card leave, calls on the handle fail
 * with W_REMOVED_CARD even if a card (the same phone tapped again) is in
 * the reader by now, which must count as gone too: what was selected or
 * verified went with the first tap. A reset by another program leaves the
 * card there. */
static bool handle_has_card(pcsc_link *l)
{
	char name[MAX_READERNAME];
	BYTE atr[MAX_ATR_SIZE];
	DWORD name_len = sizeof(name), atr_len = sizeof(atr), state = 0, proto = 0;
	SCARD_READERSTATE st;
	LONG rv;

	rv = SCardStatus(l->card, name, &name_len, &state, &proto, atr, &atr_len);
	if (rv == SCARD_S_SUCCESS)
		return (state & SCARD_PRESENT) && !(state & SCARD_SWALLOWED);
	if (rv != SCARD_W_RESET_CARD)
		return false;
	memset(&st, 0, sizeof(st));
	st.szReader = l->reader;
	st.dwCurrentState = SCARD_STATE_UNAWARE;
	rv = SCardGetStatusChange(l->ctx, 0, &st, 1);
	return (rv == SCARD_S_SUCCESS || rv == SCARD_E_TIMEOUT) && state_present(st.dwEventState);
}

/* handle_has_card, after giving pcscd up to settle_ms to notice the card
 * leaving (it polls most drivers, vpcd included, every 400 ms). Only
 * failures pay the wait, and only while the card still looks present. */
static bool card_still_there(pcsc_link *l, unsigned settle_ms)
{
	SCARD_READERSTATE st;
	LONG rv;

	if (!handle_has_card(l))
		return false;
	if (!settle_ms)
		return true;
	memset(&st, 0, sizeof(st));
	st.szReader = l->reader;
	st.dwCurrentState = SCARD_STATE_UNAWARE;
	rv = SCardGetStatusChange(l->ctx, 0, &st, 1);
	if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
		return false;
	st.dwCurrentState = st.dwEventState & ~(DWORD)(SCARD_STATE_CHANGED | SCARD_STATE_INUSE |
	                                               SCARD_STATE_EXCLUSIVE);
	rv = SCardGetStatusChange(l->ctx, settle_ms, &st, 1);
	if (rv == SCARD_E_TIMEOUT)
		return true;
	return rv == SCARD_S_SUCCESS && handle_has_card(l);
}

/* ---- connect, transmit ----------------------------------------------------- */

static const SCARD_IO_REQUEST *pci_for(DWORD protocol)
{
	switch (protocol) {
	case SCARD_PROTOCOL_T0:
		return SCARD_PCI_T0;
	case SCARD_PROTOCOL_RAW:
		return SCARD_PCI_RAW;
	default:
		return SCARD_PCI_T1;
	}
}

/* Map a failed call on a card handle.
 * W_RESET_CARD means another program reset the card; only if the card is
 * also gone is that a removal. Anything unexplained gets one look at the
 * reader (with SETTLE_MS for pcscd to catch up) so that a phone that left
 * mid-exchange is reported as removed. */
static kz_err card_error(pcsc_link *l, const char *what, LONG rv)
{
	if (card_gone(rv)) {
		KZ_DEBUG("pcsc: %s on %s: %s (card gone)", what, l->reader,
		         pcsc_stringify_error(rv));
		return KZ_E_REMOVED;
	}
	if (rv == SCARD_E_INSUFFICIENT_BUFFER) {
		KZ_WARN("pcsc: %s on %s: %s", what, l->reader, pcsc_stringify_error(rv));
		return KZ_E_PROTOCOL;
	}
	if (!card_still_there(l, rv == SCARD_W_RESET_CARD ? 0 : SETTLE_MS)) {
		KZ_DEBUG("pcsc: %s on %s: %s (card gone)", what, l->reader,
		         pcsc_stringify_error(rv));
		return KZ_E_REMOVED;
	}
	if (rv == SCARD_W_RESET_CARD) {
		/* Not a fault: the next begin() reconnects and reports it. */
		KZ_DEBUG("pcsc: %s on %s: %s (by another program)", what, l->reader,
		         pcsc_stringify_error(rv));
		return KZ_E_COMM;
	}
	KZ_WARN("pcsc: %s on %s: %s (0x%08lX)", what, l->reader, pcsc_stringify_error(rv),
	        rv_hex(rv));
	return KZ_E_COMM;
}

static kz_err pcsc_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                            size_t *resp_len)
{
	pcsc_link *l = ctx;
	DWORD rlen;
	kz_err e;
	LONG rv;

	if (!l || !cmd || !resp || !resp_len || cmd_len < 4 || cmd_len > PCSC_MAX_CMD)
		return KZ_E_ARGS;
	/* pcsc-lite refuses a receive buffer announced larger than this. */
	rlen = *resp_len > MAX_BUFFER_SIZE_EXTENDED ? MAX_BUFFER_SIZE_EXTENDED : (DWORD)*resp_len;
	*resp_len = 0;
	if (!link_hold(l)) {
		KZ_DEBUG("pcsc: transmit on %s: the card left earlier", l->reader);
		return KZ_E_REMOVED;
	}
	rv = SCardTransmit(l->card, pci_for(l->protocol), cmd, (DWORD)cmd_len, NULL, resp, &rlen);
	if (rv == SCARD_S_SUCCESS && rlen >= 2) {
		*resp_len = rlen;
		return KZ_OK;
	}
	if (rv == SCARD_S_SUCCESS && rlen == 0) {
		/* No card answers nothing: vpcd reports success with an empty
		 * answer when its card's socket closes mid-exchange, i.e. when
		 * the phone left. If it came straight back (a new tap, between
		 * two of pcscd's polls), pcscd never saw it go and its event
		 * counter stays put: count the departure ourselves, so that
		 * the layers above see a new tap rather than the old one. */
		if (card_still_there(l, SETTLE_MS)) {
			KZ_DEBUG("pcsc: SCardTransmit on %s: empty answer: the card left "
			         "and came back unseen by pcscd",
			         l->reader);
			bump_events(l->be, l->reader);
		} else {
			KZ_DEBUG("pcsc: SCardTransmit on %s: empty answer (card gone)", l->reader);
		}
		e = KZ_E_REMOVED;
	} else if (rv == SCARD_S_SUCCESS) {
		KZ_WARN("pcsc: SCardTransmit on %s: 1-byte answer has no status word", l->reader);
		e = KZ_E_PROTOCOL;
	} else {
		e = card_error(l, "SCardTransmit", rv);
	}
	if (e == KZ_E_REMOVED)
		atomic_store(&l->departed, true);
	return e;
}

/* SCardConnect through a new context of the link's own (see "Contexts"),
 * once more with a fresh context if pcscd went away. On success *ctx is
 * the link's; on failure no context is left established. */
static LONG connect_once(const char *reader, SCARDHANDLE *h, DWORD *proto, SCARDCONTEXT *ctx)
{
	LONG rv = SCARD_S_SUCCESS;

	for (int attempt = 0; attempt < 2; attempt++) {
		rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, ctx);
		if (rv != SCARD_S_SUCCESS)
			return rv;
		rv = SCardConnect(*ctx, reader, SCARD_SHARE_SHARED,
		                  SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, h, proto);
		if (rv == SCARD_S_SUCCESS)
			break;
		SCardReleaseContext(*ctx);
		if (!service_gone(rv))
			break;
		KZ_DEBUG("pcsc: SCardConnect(%s): %s; with a new context", reader,
		         pcsc_stringify_error(rv));
	}
	return rv;
}

/* The full pcsc-lite name of a reader that list() may have shortened.
 * Returns a new string, or NULL if none or several match. */
static char *resolve_name(pcsc_backend *be, const char *shown)
{
	snapshot s;
	char *found = NULL;
	int matches = 0;

	if (list_snapshot(be, &s) != SCARD_S_SUCCESS)
		return NULL;
	for (size_t i = 0; i < s.n; i++)
		if (name_is(shown, s.st[i].szReader) && matches++ == 0)
			found = strdup(s.st[i].szReader);
	snapshot_free(&s);
	if (matches != 1) {
		free(found);
		return NULL;
	}
	return found;
}

/* Whether another program has the card in this reader connected (pcscd
 * counts the handles; SCARD_STATE_INUSE). When that cannot be told, say
 * yes: the caller then only spends one APDU more. */
static bool card_in_use(pcsc_backend *be, const char *reader)
{
	snapshot s;
	bool in_use = true;

	if (list_snapshot(be, &s) != SCARD_S_SUCCESS)
		return true;
	for (size_t i = 0; i < s.n; i++)
		if (strcmp(s.st[i].szReader, reader) == 0 || name_is(reader, s.st[i].szReader))
			in_use = (s.st[i].dwEventState & SCARD_STATE_INUSE) != 0;
	snapshot_free(&s);
	return in_use;
}

static kz_err pcsc_connect(kz_backend *b, const char *reader, kz_link **out)
{
	pcsc_backend *be = (pcsc_backend *)b;
	SCARDHANDLE h = 0;
	DWORD proto = 0;
	SCARDCONTEXT ctx = 0;
	char *full;
	pcsc_link *l;
	LONG rv;

	if (!be || !reader || !*reader || !out)
		return KZ_E_ARGS;
	*out = NULL;
	full = strdup(reader);
	if (!full)
		return KZ_E_NOMEM;
	bool in_use = card_in_use(be, full);
	rv = connect_once(full, &h, &proto, &ctx);
	if (rv == SCARD_E_UNKNOWN_READER && strlen(reader) + 4 >= KZ_READER_NAME_MAX) {
		/* Possibly a name copy_name() shortened. */
		char *longer = resolve_name(be, reader);

		if (longer) {
			free(full);
			full = longer;
			rv = connect_once(full, &h, &proto, &ctx);
		}
	}

	switch (rv) {
	case SCARD_S_SUCCESS:
		break;
	case SCARD_E_NO_SMARTCARD:
	case SCARD_W_REMOVED_CARD:
	case SCARD_W_UNRESPONSIVE_CARD:
	case SCARD_W_UNPOWERED_CARD:
		KZ_DEBUG("pcsc: SCardConnect(%s): %s", full, pcsc_stringify_error(rv));
		free(full);
		return KZ_E_NO_CARD;
	case SCARD_E_UNKNOWN_READER:
	case SCARD_E_READER_UNAVAILABLE:
	case SCARD_E_NO_SERVICE:
	case SCARD_E_SERVICE_STOPPED:
	case SCARD_E_INVALID_HANDLE:
	case SCARD_F_COMM_ERROR:
		KZ_DEBUG("pcsc: SCardConnect(%s): %s", full, pcsc_stringify_error(rv));
		free(full);
		return KZ_E_NO_READER;
	case SCARD_E_NO_MEMORY:
		KZ_WARN("pcsc: SCardConnect(%s): %s", full, pcsc_stringify_error(rv));
		free(full);
		return KZ_E_NOMEM;
	default:
		KZ_WARN("pcsc: SCardConnect(%s): %s (0x%08lX)", full, pcsc_stringify_error(rv),
		        rv_hex(rv));
		free(full);
		return KZ_E_COMM;
	}

	l = calloc(1, sizeof(*l));
	if (!l) {
		SCardDisconnect(h, SCARD_LEAVE_CARD);
		SCardReleaseContext(ctx);
		free(full);
		return KZ_E_NOMEM;
	}
	l->base.ops = &kz_pcsc_backend;
	l->be = be;
	l->card = h;
	l->protocol = proto;
	l->ctx = ctx;
	l->reader = full;
	atomic_init(&l->departed, false);
	l->base.transport.transmit = pcsc_transmit;
	l->base.transport.ctx = l;
	l->base.transport.max_cmd = PCSC_MAX_CMD;
	l->base.transport.max_resp = PCSC_MAX_RESP;
	/* pcscd carries extended APDUs; whether the reader and the card do is
	 * for the JPKI layer to find out. */
	l->base.transport.extended_ok = true;
	l->base.transport.shared = true;
	l->base.transport.in_use = in_use;
	l->base.transport.name = l->reader;
	KZ_DEBUG("pcsc: connected to %s (T=%d)", full, proto == SCARD_PROTOCOL_T0 ? 0 : 1);
	*out = &l->base;
	return KZ_OK;
}

/* ---- begin, end, present, disconnect ---------------------------------------- */

static kz_err pcsc_begin(kz_link *kl, bool *reset)
{
	pcsc_link *l = (pcsc_link *)kl;
	kz_err e = KZ_OK;
	DWORD proto;
	LONG rv;

	if (reset)
		*reset = false;
	if (!l)
		return KZ_E_ARGS;
	if (!link_hold(l)) {
		KZ_DEBUG("pcsc: begin on %s: the card left earlier", l->reader);
		return KZ_E_REMOVED;
	}
	/* Blocks while another program holds a transaction on the card
	 * (pcsc-lite polls for it); that is the point of a transaction. */
	rv = SCardBeginTransaction(l->card);
	if (rv == SCARD_W_RESET_CARD) {
		/* Someone reset the card: what we selected or verified on it is
		 * gone. Take the card back as it is (no second reset) and tell
		 * the caller, who must start over. */
		rv =
		    SCardReconnect(l->card, SCARD_SHARE_SHARED,
		                   SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &proto);
		if (rv == SCARD_S_SUCCESS) {
			l->protocol = proto;
			if (reset)
				*reset = true;
			KZ_DEBUG("pcsc: card in %s was reset by another program", l->reader);
			rv = SCardBeginTransaction(l->card);
		}
	}
	if (rv != SCARD_S_SUCCESS)
		e = card_error(l, "SCardBeginTransaction", rv);
	if (e == KZ_E_REMOVED)
		atomic_store(&l->departed, true);
	return e;
}

static void pcsc_end(kz_link *kl)
{
	pcsc_link *l = (pcsc_link *)kl;
	LONG rv;

	if (!l)
		return;
	rv = SCardEndTransaction(l->card, SCARD_LEAVE_CARD);
	/* Nothing to do about it: a removed card ended the transaction. */
	if (rv != SCARD_S_SUCCESS)
		KZ_DEBUG("pcsc: SCardEndTransaction on %s: %s", l->reader,
		         pcsc_stringify_error(rv));
}

static bool pcsc_present(kz_link *kl)
{
	pcsc_link *l = (pcsc_link *)kl;
	bool present;

	if (!l || !link_hold(l))
		return false;
	/* pcscd answers from its own state: no APDU goes to the card. */
	present = handle_has_card(l);
	if (!present)
		KZ_DEBUG("pcsc: the card in %s is gone", l->reader);
	return present;
}

static void pcsc_disconnect(kz_link *kl)
{
	pcsc_link *l = (pcsc_link *)kl;
	LONG rv;

	if (!l)
		return;
	/* Even after a departure: the handle (and a transaction it may
	 * hold) lives in pcscd until it is let go. Leave the card as it is:
	 * another program may be using it, and a reset would cost the phone
	 * a new activation. After a pcscd restart both calls just fail. */
	rv = SCardDisconnect(l->card, SCARD_LEAVE_CARD);
	if (rv != SCARD_S_SUCCESS)
		KZ_DEBUG("pcsc: SCardDisconnect on %s: %s", l->reader, pcsc_stringify_error(rv));
	SCardReleaseContext(l->ctx);
	free(l->reader);
	free(l);
}

const kz_backend_ops kz_pcsc_backend = {
    .name = "pcsc",
    .open = pcsc_open,
    .close = pcsc_close,
    .list = pcsc_list,
    .wait = pcsc_wait,
    .cancel = pcsc_cancel,
    .connect = pcsc_connect,
    .begin = pcsc_begin,
    .end = pcsc_end,
    .present = pcsc_present,
    .disconnect = pcsc_disconnect,
};
