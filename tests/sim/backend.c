#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "pkcs11/module.h"

/* One reader, one phone slot; the module serialises transmits, but wait()
 * runs in another thread, hence the lock and condition variable. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool present;
	unsigned long events;
	bool cancelled;
	sim_phone *phone;
	sim_answer_fn fn;
	void *ctx;
	unsigned long transmits;
} sim = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, false, NULL, NULL, NULL, 0};

typedef struct sim_link {
	kz_link base;
	unsigned long events; /* the tap this link belongs to */
} sim_link;

static kz_backend sim_instance = {&sim_backend_ops};

void sim_backend_use_phone(sim_phone *phone)
{
	pthread_mutex_lock(&sim.lock);
	sim.phone = phone;
	sim.fn = NULL;
	pthread_mutex_unlock(&sim.lock);
}

void sim_backend_use_function(sim_answer_fn fn, void *ctx)
{
	pthread_mutex_lock(&sim.lock);
	sim.fn = fn;
	sim.ctx = ctx;
	sim.phone = NULL;
	pthread_mutex_unlock(&sim.lock);
}

static void set_present(bool present)
{
	pthread_mutex_lock(&sim.lock);
	if (present && sim.phone != NULL)
		sim_phone_reset(sim.phone);
	sim.present = present;
	sim.events++;
	pthread_cond_broadcast(&sim.changed);
	pthread_mutex_unlock(&sim.lock);
}

void sim_backend_tap(void)
{
	set_present(true);
}

void sim_backend_leave(void)
{
	set_present(false);
}

unsigned long sim_backend_transmits(void)
{
	pthread_mutex_lock(&sim.lock);
	unsigned long n = sim.transmits;
	pthread_mutex_unlock(&sim.lock);
	return n;
}

void sim_backend_install(void)
{
	kz_test_backend = &sim_backend_ops;
}

static kz_err sim_open(const char *options, kz_backend **out)
{
	(void)options;
	pthread_mutex_lock(&sim.lock);
	sim.cancelled = false;
	pthread_mutex_unlock(&sim.lock);
	*out = &sim_instance;
	return KZ_OK;
}

static void sim_close(kz_backend *b)
{
	(void)b;
}

/* A phone that left by itself (leave_at) is noticed as a removal. */
static bool phone_here_locked(void)
{
	if (sim.present && sim.phone != NULL && !sim_phone_present(sim.phone)) {
		sim.present = false;
		sim.events++;
	}
	return sim.present;
}

static kz_err sim_list(kz_backend *b, kz_reader_state *out, size_t cap, size_t *count)
{
	(void)b;
	if (cap < 1)
		return KZ_E_ARGS;
	pthread_mutex_lock(&sim.lock);
	memset(out, 0, sizeof(*out));
	strcpy(out->name, SIM_READER_NAME);
	out->card_present = phone_here_locked();
	out->event_count = sim.events;
	pthread_mutex_unlock(&sim.lock);
	*count = 1;
	return KZ_OK;
}

static kz_err sim_wait(kz_backend *b, const kz_reader_state *known, size_t n, unsigned timeout_ms)
{
	(void)b;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	kz_err e = KZ_OK;
	pthread_mutex_lock(&sim.lock);
	while (n == 1 && known[0].event_count == sim.events && !sim.cancelled) {
		if (pthread_cond_timedwait(&sim.changed, &sim.lock, &until) != 0) {
			e = KZ_E_TIMEOUT;
			break;
		}
	}
	if (sim.cancelled)
		e = KZ_E_CANCELLED;
	pthread_mutex_unlock(&sim.lock);
	return e;
}

static void sim_cancel(kz_backend *b)
{
	(void)b;
	pthread_mutex_lock(&sim.lock);
	sim.cancelled = true;
	pthread_cond_broadcast(&sim.changed);
	pthread_mutex_unlock(&sim.lock);
}

static kz_err sim_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                           size_t *resp_len)
{
	sim_link *l = ctx;
	kz_err e = KZ_OK;
	pthread_mutex_lock(&sim.lock);
	sim.transmits++;
	if (!phone_here_locked() || l->events != sim.events) {
		e = KZ_E_REMOVED;
	} else if (sim.fn != NULL) {
		if (!sim.fn(sim.ctx, cmd, cmd_len, resp, resp_len))
			e = KZ_E_REMOVED;
	} else {
		uint8_t buf[SIM_RESP_MAX];
		size_t n = sizeof(buf);
		if (!sim_phone_transmit(sim.phone, cmd, cmd_len, buf, &n)) {
			e = KZ_E_REMOVED;
			(void)phone_here_locked();
		} else if (n > *resp_len) {
			e = KZ_E_PROTOCOL;
		} else {
			memcpy(resp, buf, n);
			*resp_len = n;
		}
	}
	pthread_mutex_unlock(&sim.lock);
	return e;
}

static kz_err sim_connect(kz_backend *b, const char *reader, kz_link **out)
{
	(void)b;
	if (strcmp(reader, SIM_READER_NAME) != 0)
		return KZ_E_NO_READER;
	sim_link *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return KZ_E_NOMEM;
	pthread_mutex_lock(&sim.lock);
	bool here = phone_here_locked();
	l->events = sim.events;
	pthread_mutex_unlock(&sim.lock);
	if (!here) {
		free(l);
		return KZ_E_NO_CARD;
	}
	l->base.ops = &sim_backend_ops;
	l->base.transport = (kz_transport){
	    .transmit = sim_transmit,
	    .ctx = l,
	    .max_cmd = 4 + 3 + 65535 + 2,
	    .max_resp = SIM_RESP_MAX,
	    .extended_ok = true,
	    .name = SIM_READER_NAME,
	};
	*out = &l->base;
	return KZ_OK;
}

static kz_err sim_begin(kz_link *l, bool *reset)
{
	(void)l;
	*reset = false;
	return KZ_OK;
}

static void sim_end(kz_link *l)
{
	(void)l;
}

static bool sim_present(kz_link *link)
{
	sim_link *l = (sim_link *)link;
	pthread_mutex_lock(&sim.lock);
	bool here = phone_here_locked() && l->events == sim.events;
	pthread_mutex_unlock(&sim.lock);
	return here;
}

static void sim_disconnect(kz_link *l)
{
	free(l);
}

const kz_backend_ops sim_backend_ops = {
    .name = "sim",
    .open = sim_open,
    .close = sim_close,
    .list = sim_list,
    .wait = sim_wait,
    .cancel = sim_cancel,
    .connect = sim_connect,
    .begin = sim_begin,
    .end = sim_end,
    .present = sim_present,
    .disconnect = sim_disconnect,
};
