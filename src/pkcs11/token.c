#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pkcs11/module.h"
#include "pkcs11/token.h"
#include "util/log.h"

static void forget_certs(kz_token *t)
{
	for (int k = 0; k < JPKI_KEY_COUNT; k++) {
		jpki_cert_clear(&t->cert[k].cert);
		jpki_cert_clear(&t->ca[k].cert);
		t->cert[k].loaded = t->ca[k].loaded = false;
	}
}

void kz_token_leave(kz_reader *r, const char *why)
{
	kz_token *t = &r->token;
	if (t->present) {
		KZ_INFO("%s: %s", r->name, why);
		r->event[0] = r->event[1] = true;
	}
	if (kz_mod.on_departure != NULL)
		kz_mod.on_departure(r);
	if (t->link != NULL)
		r->backend->ops->disconnect(t->link);
	t->link = NULL;
	forget_certs(t);
	t->present = false;
	t->model = JPKI_MODEL_UNKNOWN;
	t->info[0] = '\0';
	for (int k = 0; k < JPKI_KEY_COUNT; k++) {
		t->tries[k] = -1;
		t->logged_in[k] = false;
	}
	t->pin_sent = false;
	t->login_locked = false;     /* the transaction went with the handle */
	t->auth_login_ended = false; /* its sessions went with the phone */
	kz_token_disarm(r);
}

/* Hold the card for a sequence of APDUs. If somebody else reset it in
 * between, what we believed of its state (selection, verified PINs) is
 * gone with the reset. */
static kz_err hold(kz_reader *r)
{
	kz_token *t = &r->token;
	bool reset = false;
	if (t->link == NULL)
		return KZ_E_REMOVED;
	/* From here to release(), the reader's owner works without the
	 * module lock: other readers, slot lists and slot events go on. */
	kz_reader_io_begin(r);
	/* lock_login: the login's transaction is ours already, and nobody
	 * else could have touched the card since. */
	if (t->login_locked)
		return KZ_OK;
	kz_err e = r->backend->ops->begin(t->link, &reset);
	if (e == KZ_OK && reset) {
		KZ_INFO("%s: the card was reset by another application", r->name);
		jpki_card_forget(&t->card);
		t->logged_in[0] = t->logged_in[1] = false;
		t->pin_sent = false;
	} else if (e == KZ_OK && t->link->transport.shared) {
		/* Another application may have selected another file since
		 * our last transaction (OpenSC does, probing PIN tries): a
		 * VERIFY sent to the file we believe selected could spend a
		 * try of the other PIN. One SELECT per operation buys that. */
		jpki_card_forget_file(&t->card);
	}
	if (e != KZ_OK)
		kz_reader_io_end(r);
	if (e == KZ_E_REMOVED)
		kz_token_leave(r, "the phone left the field");
	return e;
}

/* End the hold; a phone that left is forgotten here, once. */
static kz_err release(kz_reader *r, kz_err e)
{
	kz_token *t = &r->token;
	if (t->link != NULL && e != KZ_E_REMOVED && !t->login_locked)
		r->backend->ops->end(t->link);
	kz_reader_io_end(r);
	if (e == KZ_E_REMOVED)
		kz_token_leave(r, "the phone left during an operation");
	if (t->auth_login_ended) {
		t->auth_login_ended = false;
		if (kz_mod.on_login_ended != NULL)
			kz_mod.on_login_ended(r, JPKI_KEY_AUTH);
	}
	return e;
}

static bool recognise_card(kz_token *t);

/* The model and token info: from the certificate when this is a card seen
 * before in this process (recognise_card), else from the token-info EF. */
static kz_err read_model(kz_token *t)
{
	if (recognise_card(t))
		return KZ_OK;
	return jpki_read_token_info(&t->card, t->info, &t->model);
}

/* Find the application without disturbing another program's login: when
 * another program has the card connected it may be logged in, and
 * selecting the application would log it out. So the application is
 * taken as it is when it is selected already (one SELECT of an EF tells);
 * otherwise, and on a card nobody else holds (a fresh tap: no APDU
 * spent on asking), it is selected. Nobody shares a libnfc link. */
static kz_err enter_app(kz_token *t)
{
	if (t->card.link->shared && t->card.link->in_use) {
		kz_err e = jpki_resume_app(&t->card);
		if (e == KZ_OK)
			e = read_model(t);
		if (e == KZ_OK && t->model != JPKI_MODEL_UNKNOWN)
			return KZ_OK;
		if (e == KZ_E_REMOVED || e == KZ_E_COMM || e == KZ_E_NO_READER ||
		    e == KZ_E_TIMEOUT || e == KZ_E_NOMEM)
			return e; /* the link failed: no second try on it */
	}
	kz_err e = jpki_select_app(&t->card);
	if (e == KZ_OK)
		e = read_model(t);
	return e;
}

/* The user-authentication PIN's tries are read at arrival, as most
 * relying parties look at its flags at once; the signature password's
 * when its token's flags are first asked for (kz_token_want_tries), so
 * that a tap which only authenticates does not pay for them. */
static kz_err identify(kz_reader *r)
{
	kz_token *t = &r->token;
	kz_err e = enter_app(t);
	if (e == KZ_OK)
		e = jpki_pin_tries(&t->card, JPKI_KEY_AUTH, &t->tries[JPKI_KEY_AUTH]);
	t->tries_read[JPKI_KEY_AUTH] = e == KZ_OK;
	t->tries_read[JPKI_KEY_SIGN] = false;
	return e;
}

void kz_token_want_tries(kz_reader *r, jpki_key key)
{
	kz_token *t = &r->token;
	if (!t->present || t->tries_read[key])
		return;
	t->tries_read[key] = true; /* asked once a tap, whatever comes of it */
	kz_err e = hold(r);
	if (e == KZ_OK)
		e = release(r, jpki_pin_tries(&t->card, key, &t->tries[key]));
	if (e != KZ_OK)
		KZ_DEBUG("%s: PIN tries not read: %s", r->name, kz_err_str(e));
}

/* What the serial of a tap is made from besides the tap itself: the
 * machine (/etc/machine-id), where every process sees the same taps (a
 * PC/SC reader, whose event counts pcscd gives all alike: pcsc.c), so that
 * one tap has one serial in every program, p11-kit's server and its
 * clients included; a random key of this process otherwise (libnfc, which
 * nobody shares, and whose counts start again with the module). */
static unsigned char machine_salt[32], process_salt[32];
static bool have_machine_salt;
static pthread_once_t salt_once = PTHREAD_ONCE_INIT;

/* Once a process: arrivals on several readers may run side by side. */
static void make_salts(void)
{
	char id[64] = "";
	FILE *f = fopen("/etc/machine-id", "re");
	if (f != NULL) {
		if (fgets(id, sizeof id, f) == NULL)
			id[0] = '\0';
		fclose(f);
	}
	have_machine_salt = id[0] != '\0' &&
	                    EVP_Digest(id, strlen(id), machine_salt, NULL, EVP_sha256(), NULL) == 1;
	if (RAND_bytes(process_salt, sizeof process_salt) != 1) {
		unsigned long long v =
		    (unsigned long long)getpid() << 32 ^ (unsigned long long)time(NULL);
		memcpy(process_salt, &v, sizeof v);
	}
}

static void serial_salt(bool shared, unsigned char salt[32])
{
	pthread_once(&salt_once, make_salts);
	memcpy(salt, shared && have_machine_salt ? machine_salt : process_salt, 32);
}

/* The serial of a new tap: 16 hex digits of SHA-256(salt, reader, the
 * reader's event count). Every insertion changes the count, so two
 * people's phones (two taps) never share a serial, while one tap keeps
 * its own through C_Finalize and C_Initialize and in every process.
 * Nothing of the phone goes into it: it says which tap, never who. */
static void new_serial(kz_reader *r)
{
	kz_token *t = &r->token;
	unsigned char salt[32], md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	serial_salt(t->link->transport.shared, salt);
	char count[32];
	snprintf(count, sizeof count, "%lu", t->event_count);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok =
	    ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, salt, sizeof salt) == 1 &&
	    EVP_DigestUpdate(ctx, r->backend->ops->name, strlen(r->backend->ops->name) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, r->name, strlen(r->name) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, count, strlen(count)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &md_len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) { /* no digest: a random serial, still one a tap */
		if (RAND_bytes(md, 8) != 1)
			memcpy(md, &t->tap, sizeof t->tap < 8 ? sizeof t->tap : 8);
	}
	for (size_t i = 0; i < 8; i++)
		snprintf(t->serial + 2 * i, 3, "%02X", md[i]);
}

kz_err kz_token_arrive(kz_reader *r, unsigned long event_count)
{
	kz_token *t = &r->token;
	t->tried = true;
	t->event_count = event_count;
	kz_err e = r->backend->ops->connect(r->backend, r->name, &t->link);
	if (e != KZ_OK) {
		KZ_DEBUG("%s: cannot connect: %s", r->name, kz_err_str(e));
		t->link = NULL;
		return e;
	}
	jpki_card_init(&t->card, &t->link->transport);
	if (!kz_mod.config.extended_apdu)
		t->card.extended = JPKI_EXT_NO;
	e = hold(r);
	if (e == KZ_OK)
		e = release(r, identify(r));
	/* What this reader learnt of extended APDUs from phones of this model
	 * on earlier taps; identify() reads no certificate, so nothing was
	 * learnt on this tap yet. */
	if (e == KZ_OK && kz_mod.config.extended_apdu)
		t->card.extended = t->extended[t->model];
	if (e != KZ_OK) {
		KZ_INFO("%s: no JPKI application: %s", r->name, kz_err_str(e));
		forget_certs(t);
		if (t->link != NULL)
			r->backend->ops->disconnect(t->link);
		t->link = NULL;
		t->tries[0] = t->tries[1] = -1;
		return e;
	}
	t->present = true;
	t->tap++;
	new_serial(r);
	r->event[0] = r->event[1] = true;
	KZ_INFO("%s: %s arrived (%s), PIN tries %d/%d (-1: not read yet), serial %s", r->name,
	        jpki_model_name(t->model), t->info, t->tries[JPKI_KEY_AUTH],
	        t->tries[JPKI_KEY_SIGN], t->serial);
	return KZ_OK;
}

bool kz_token_still_present(kz_reader *r)
{
	kz_token *t = &r->token;
	if (!t->present)
		return false;
	if (r->backend->ops->present(t->link))
		return true;
	kz_token_leave(r, "the phone left the field");
	return false;
}

bool kz_token_cert_is_public(const kz_token *t, jpki_key key)
{
	/* On a card the user-authentication certificate is free to read; a
	 * phone keeps it behind the PIN. The signature certificate holds
	 * personal data and is always behind the password. */
	return key == JPKI_KEY_AUTH &&
	       (t->model == JPKI_MODEL_CARD || t->model == JPKI_MODEL_OLD_CARD);
}

/* ---- the process-wide certificate cache ---------------------------------
 *
 * A phone tapped again in the same process (a relying party that reads the
 * certificate on every visit, a second login) would otherwise spend most of
 * its tap reading a certificate the process saw minutes ago: about 95 of
 * 165 ms of air time at 106 kbit/s. Instead, the first bytes of the file,
 * through the end of the issuer Name, are read in one short READ BINARY
 * and compared with every certificate kept for that file: they hold the
 * DER length, the serial number and the issuer, and an issuer never uses a
 * serial number twice (RFC 5280, 4.1.2.2), so equal bytes are the same
 * certificate. About 175 bytes instead of 935.
 *
 * A phone that lies (answers another phone's first bytes) gains nothing it
 * could not have by answering that phone's whole certificate, which is no
 * secret: the certificate shown is then not the key's, and every signature
 * fails its check against it (sign.c). What is kept is therefore only what
 * carries no personal data: the user-authentication certificate (subject:
 * an opaque id) and the CA certificates. The signature certificate holds
 * the holder's name, address, birth date and gender and is never kept past
 * its tap. Memory only, bounded, never written anywhere; the
 * certificate_cache setting turns it off (shared kiosks, where one user's
 * certificate should not outlive the user's tap). Readers' owners use it
 * side by side, without the module lock: cache_mu guards it, and is never
 * held across a card exchange. */

#define CACHE_SLOTS 8 /* a family's phones and cards, and the CAs */

typedef struct cache_entry {
	uint16_t fid;
	size_t id_len; /* leading bytes compared: jpki_cert_identity_len */
	uint8_t *der;  /* NULL: a free slot */
	size_t der_len;
	unsigned long stamp; /* last use, to evict the least recently used */
	/* Of a user-authentication certificate read from a card (where it is
	 * public): the card's model and token info, so that the card, tapped
	 * again, is known by its certificate alone (recognise_card). */
	jpki_model model;
	char info[JPKI_TOKEN_INFO_LEN + 1];
} cache_entry;

static cache_entry cache[CACHE_SLOTS];
static unsigned long cache_clock;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

static void cache_clear_locked(void)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		free(cache[i].der);
		memset(&cache[i], 0, sizeof cache[i]);
	}
}

void kz_token_cache_clear(void)
{
	pthread_mutex_lock(&cache_mu);
	cache_clear_locked();
	pthread_mutex_unlock(&cache_mu);
}

/* Unloaded (dlclose, exit): nothing kept outlives the module. Not while
 * the module is initialised, as another thread may be using it. */
__attribute__((destructor)) static void cache_unload(void)
{
	if (!kz_mod.initialized)
		kz_token_cache_clear();
}

/* With cache_mu held. */
static bool cache_on(void)
{
	if (kz_mod.config.certificate_cache)
		return true;
	cache_clear_locked(); /* turned off since: keep nothing */
	return false;
}

static bool cacheable(uint16_t fid)
{
	return fid != JPKI_EF_SIGN_CERT;
}

/* How many first bytes to read to tell fid's certificate apart from every
 * one kept for it; 0 when none is kept (then the whole file is read). */
static size_t cache_probe_len(uint16_t fid)
{
	size_t n = 0;
	if (!cacheable(fid))
		return 0;
	pthread_mutex_lock(&cache_mu);
	if (cache_on())
		for (size_t i = 0; i < CACHE_SLOTS; i++)
			if (cache[i].der != NULL && cache[i].fid == fid && cache[i].id_len > n)
				n = cache[i].id_len;
	pthread_mutex_unlock(&cache_mu);
	return n;
}

/* A copy (malloc'ed, into *der) of the certificate kept for fid whose
 * first bytes are prefix[0..n); false when none is. */
static bool cache_find(uint16_t fid, const uint8_t *prefix, size_t n, uint8_t **der, size_t *len)
{
	bool found = false;
	pthread_mutex_lock(&cache_mu);
	for (size_t i = 0; i < CACHE_SLOTS && !found; i++) {
		cache_entry *ce = &cache[i];
		if (ce->der != NULL && ce->fid == fid && ce->id_len <= n &&
		    memcmp(ce->der, prefix, ce->id_len) == 0) {
			ce->stamp = ++cache_clock;
			*der = malloc(ce->der_len);
			if (*der != NULL)
				memcpy(*der, ce->der, ce->der_len);
			*len = ce->der_len;
			found = true;
		}
	}
	pthread_mutex_unlock(&cache_mu);
	return found;
}

/* Keep a certificate just read (and parsed): in the slot of the same
 * certificate, else a free one, else the least recently used. */
static void cache_put(const kz_token *t, uint16_t fid, const uint8_t *der, size_t len)
{
	size_t id_len = jpki_cert_identity_len(der, len);
	/* The check must fit one short READ BINARY, or it costs more than
	 * it spares. */
	if (!cacheable(fid) || id_len == 0 || id_len > 256)
		return;
	pthread_mutex_lock(&cache_mu);
	if (!cache_on()) {
		pthread_mutex_unlock(&cache_mu);
		return;
	}
	cache_entry *slot = NULL;
	for (size_t i = 0; i < CACHE_SLOTS && slot == NULL; i++) {
		cache_entry *ce = &cache[i];
		if (ce->der != NULL && ce->fid == fid && ce->id_len == id_len &&
		    memcmp(ce->der, der, id_len) == 0)
			slot = ce;
	}
	for (size_t i = 0; i < CACHE_SLOTS && slot == NULL; i++)
		if (cache[i].der == NULL)
			slot = &cache[i];
	for (size_t i = 0; slot == NULL && i < CACHE_SLOTS; i++)
		if (i == 0 || cache[i].stamp < slot->stamp)
			slot = &cache[i];
	uint8_t *copy = malloc(len);
	if (copy != NULL) { /* else only a missed saving */
		memcpy(copy, der, len);
		free(slot->der);
		*slot =
		    (cache_entry){fid, id_len, copy, len, ++cache_clock, JPKI_MODEL_UNKNOWN, ""};
		if (fid == JPKI_EF_AUTH_CERT && kz_token_cert_is_public(t, JPKI_KEY_AUTH)) {
			slot->model = t->model;
			memcpy(slot->info, t->info, sizeof slot->info);
		}
	}
	pthread_mutex_unlock(&cache_mu);
}

/* ---- a card tapped again ------------------------------------------------
 *
 * A card's user-authentication certificate is public, and a card kept by
 * the cache (from an earlier tap in this process) is recognised by the
 * last RECOGNITION_LEN bytes of it, read at their offset in one short READ
 * BINARY: they are the end of the certificate's RSA signature, which no
 * two certificates share (2^-128 for any pair; the issuer's key makes
 * them). That read replaces the token-info read (the model and token info
 * are the card's, kept with its certificate) and the certificate's own
 * recognition read later. A phone keeps the file behind its PIN (6982):
 * then, or for any other answer, the token info is read as usual. What a
 * lying card gains is what answering a known card's whole certificate
 * gives: a public certificate that its key does not match (sign.c). */

#define RECOGNITION_LEN   16
#define RECOGNITION_TRIES 2 /* certificate lengths tried, at most */

/* The lengths of the card certificates kept, at most RECOGNITION_TRIES
 * different ones; with cache_mu held. */
static size_t recognition_lengths(size_t out[RECOGNITION_TRIES])
{
	size_t n = 0;
	if (!cache_on())
		return 0;
	for (size_t i = 0; i < CACHE_SLOTS && n < RECOGNITION_TRIES; i++) {
		const cache_entry *ce = &cache[i];
		if (ce->der == NULL || ce->fid != JPKI_EF_AUTH_CERT ||
		    ce->model == JPKI_MODEL_UNKNOWN || ce->der_len <= RECOGNITION_LEN)
			continue;
		bool seen = false;
		for (size_t j = 0; j < n; j++)
			seen = seen || out[j] == ce->der_len;
		if (!seen)
			out[n++] = ce->der_len;
	}
	return n;
}

/* The card certificate kept whose last bytes are tail: copied into t
 * (certificate, model, token info). With cache_mu held. */
static bool recognised(kz_token *t, size_t der_len, const uint8_t *tail)
{
	size_t at = der_len - RECOGNITION_LEN;
	for (size_t j = 0; j < CACHE_SLOTS; j++) {
		cache_entry *m = &cache[j];
		if (m->der == NULL || m->fid != JPKI_EF_AUTH_CERT ||
		    m->model == JPKI_MODEL_UNKNOWN || m->der_len != der_len ||
		    memcmp(m->der + at, tail, RECOGNITION_LEN) != 0)
			continue;
		if (jpki_cert_parse(m->der, m->der_len, &t->cert[JPKI_KEY_AUTH].cert) != KZ_OK)
			return false;
		t->cert[JPKI_KEY_AUTH].loaded = true;
		t->model = m->model;
		memcpy(t->info, m->info, sizeof t->info);
		m->stamp = ++cache_clock;
		return true;
	}
	return false;
}

static bool recognise_card(kz_token *t)
{
	size_t lengths[RECOGNITION_TRIES];
	pthread_mutex_lock(&cache_mu);
	size_t n = recognition_lengths(lengths);
	pthread_mutex_unlock(&cache_mu);
	for (size_t i = 0; i < n; i++) {
		/* The card exchange with cache_mu let go: another reader's
		 * owner may use the cache meanwhile. */
		uint8_t tail[RECOGNITION_LEN];
		size_t got = 0;
		if (jpki_read_at(&t->card, JPKI_EF_AUTH_CERT, lengths[i] - RECOGNITION_LEN,
		                 RECOGNITION_LEN, tail, &got) != KZ_OK)
			return false; /* a phone (6982), or no such offset */
		if (got != RECOGNITION_LEN)
			continue;
		pthread_mutex_lock(&cache_mu);
		bool known = recognised(t, lengths[i], tail);
		pthread_mutex_unlock(&cache_mu);
		if (known) {
			KZ_DEBUG("%s: a card seen before, known by its certificate",
			         t->card.link->name != NULL ? t->card.link->name : "reader");
			return true;
		}
	}
	return false;
}

/* Read a certificate EF, or only its first bytes when they match one kept
 * from an earlier tap (*cached then says so). *der is malloc'ed. */
static kz_err read_cert(kz_token *t, uint16_t fid, uint8_t **der, size_t *len, bool *cached)
{
	kz_err e;
	size_t probe = cache_probe_len(fid);
	*cached = false;
	if (probe == 0) {
		e = jpki_read_certificate(&t->card, fid, der, len);
	} else {
		uint8_t prefix[256];
		size_t got = 0;
		e = jpki_read_cert_prefix(&t->card, fid, probe, prefix, &got);
		if (e == KZ_OK && cache_find(fid, prefix, got, der, len)) {
			if (*der == NULL)
				return KZ_E_NOMEM;
			*cached = true;
		} else if (e == KZ_OK) {
			/* Another certificate: what was read is its start. */
			e = jpki_read_certificate_rest(&t->card, fid, prefix, got, der, len);
		}
	}
	if (t->card.extended != JPKI_EXT_UNKNOWN && t->model <= JPKI_MODEL_IPHONE)
		t->extended[t->model] = t->card.extended;
	return e;
}

/* kz_token_cert inside a hold: read and parse, no transaction of its own. */
static kz_err load_cert(kz_reader *r, kz_cached_cert *c, uint16_t fid)
{
	kz_token *t = &r->token;
	uint8_t *der = NULL;
	size_t len = 0;
	bool cached = false;
	kz_err e = read_cert(t, fid, &der, &len, &cached);
	if (e == KZ_OK) {
		e = jpki_cert_parse(der, len, &c->cert);
		if (e != KZ_OK)
			KZ_WARN("%s: the phone's certificate does not parse", r->name);
		else if (cached)
			KZ_DEBUG("%s: certificate %04X known from an earlier tap", r->name, fid);
		else
			cache_put(t, fid, der, len);
	}
	free(der);
	if (e == KZ_OK)
		c->loaded = true;
	return e;
}

kz_err kz_token_cert(kz_reader *r, jpki_key key, bool ca, const jpki_cert **out)
{
	kz_token *t = &r->token;
	kz_cached_cert *c = ca ? &t->ca[key] : &t->cert[key];
	if (!c->loaded) {
		kz_err e = hold(r);
		if (e == KZ_OK)
			e = release(r, load_cert(r, c, ca ? jpki_ca_fid(key) : jpki_cert_fid(key)));
		if (e != KZ_OK)
			return e;
	}
	*out = &c->cert;
	return KZ_OK;
}

/* One VERIFY inside a hold, its answer kept in the tries. */
static kz_err verify_held(kz_reader *r, jpki_key key, const uint8_t *pin, size_t len)
{
	kz_token *t = &r->token;
	int tries = -1;
	t->pin_sent = true;
	kz_err e = jpki_verify(&t->card, key, pin, len, &tries);
	if (e == KZ_OK)
		t->tries[key] = jpki_pin_max_tries(key);
	else if (e == KZ_E_PIN_INCORRECT || e == KZ_E_PIN_LOCKED)
		t->tries[key] = e == KZ_E_PIN_LOCKED ? 0 : tries;
	return e;
}

/* Inside a hold: select the application again, so that the card forgets
 * every verified PIN, this process's and any other's. The user-
 * authentication login, if any, is gone with it. */
static kz_err forget_held(kz_reader *r)
{
	kz_token *t = &r->token;
	kz_err e = jpki_select_app(&t->card);
	if (e == KZ_OK)
		t->pin_sent = false;
	if (t->logged_in[JPKI_KEY_AUTH]) {
		KZ_INFO("%s: the user-authentication login ended with the card's security state",
		        r->name);
		t->auth_login_ended = true;
	}
	t->logged_in[JPKI_KEY_AUTH] = false;
	/* The transaction lock_login held was for that login. */
	t->login_locked = false;
	return e;
}

kz_err kz_token_verify(kz_reader *r, jpki_key key, const uint8_t *pin, size_t len)
{
	kz_token *t = &r->token;
	kz_err e = hold(r);
	if (e != KZ_OK)
		return e;
	e = verify_held(r, key, pin, len);
	if (key == JPKI_KEY_SIGN && t->card.verified[key]) {
		/* The certificate is behind the password: read it now, while
		 * the password is verified, then let the card forget. */
		kz_err ce = KZ_OK;
		if (!t->cert[key].loaded)
			ce = load_cert(r, &t->cert[key], jpki_cert_fid(key));
		kz_err fe = ce == KZ_E_REMOVED ? ce : forget_held(r);
		if (ce != KZ_OK)
			KZ_INFO("%s: signature certificate not read at login: %s", r->name,
			        kz_err_str(ce));
		if (fe != KZ_OK)
			e = fe;
	} else if (e == KZ_OK && key == JPKI_KEY_AUTH && kz_mod.config.lock_login) {
		t->login_locked = true; /* release() keeps the transaction */
		KZ_DEBUG("%s: lock_login: the card is ours until logout", r->name);
	}
	return release(r, e);
}

kz_err kz_token_reset_security(kz_reader *r)
{
	kz_err e = hold(r);
	if (e != KZ_OK)
		return e;
	/* With lock_login, this ends the login's transaction too (release
	 * ends what forget_held no longer marks as held). */
	return release(r, forget_held(r));
}

void kz_token_forget_pins(kz_reader *r)
{
	if (r->token.present && (r->token.pin_sent || r->token.login_locked))
		(void)kz_token_reset_security(r);
}

kz_err kz_token_change_pin(kz_reader *r, jpki_key key, const uint8_t *old_pin, size_t old_len,
                           const uint8_t *new_pin, size_t new_len, bool keep_verified)
{
	kz_token *t = &r->token;
	kz_err e = hold(r);
	if (e != KZ_OK)
		return e;
	e = verify_held(r, key, old_pin, old_len);
	if (e == KZ_OK)
		e = jpki_change_pin(&t->card, key, new_pin, new_len);
	if (t->card.verified[key] && !keep_verified && e != KZ_E_REMOVED) {
		kz_err fe = forget_held(r);
		if (e == KZ_OK)
			e = fe;
	}
	return release(r, e);
}

void kz_token_arm(kz_reader *r, const uint8_t *pin, size_t len)
{
	kz_token *t = &r->token;
	kz_token_disarm(r);
	if (len > sizeof t->sign_pin)
		return;
	memcpy(t->sign_pin, pin, len);
	t->sign_pin_len = len;
}

void kz_token_disarm(kz_reader *r)
{
	OPENSSL_cleanse(r->token.sign_pin, sizeof r->token.sign_pin);
	r->token.sign_pin_len = 0;
}

kz_err kz_token_sign(kz_reader *r, jpki_key key, const uint8_t *pin, size_t pin_len,
                     const uint8_t *in, size_t in_len, uint8_t *sig, size_t *sig_len)
{
	kz_token *t = &r->token;
	if (key == JPKI_KEY_SIGN && pin == NULL)
		return KZ_E_SECURITY;
	kz_err e = hold(r);
	if (e != KZ_OK)
		return e;
	if (key == JPKI_KEY_SIGN) {
		e = verify_held(r, key, pin, pin_len);
		if (e == KZ_E_PIN_INCORRECT || e == KZ_E_PIN_LOCKED) {
			/* Changed since the login (by another program): the
			 * login is void; the caller must ask again. */
			KZ_INFO("%s: the signature password was refused at signing", r->name);
			t->logged_in[key] = false;
			e = KZ_E_SECURITY;
		}
	}
	if (e == KZ_OK)
		e = jpki_sign(&t->card, key, in, in_len, sig, sig_len);
	if (e == KZ_E_SECURITY && key == JPKI_KEY_AUTH)
		t->logged_in[key] = false;
	if (key == JPKI_KEY_SIGN && t->card.verified[key] && e != KZ_E_REMOVED) {
		kz_err fe = forget_held(r);
		if (e == KZ_OK && fe == KZ_E_REMOVED)
			e = fe;
		else if (fe != KZ_OK)
			KZ_WARN("%s: the card could not be made to forget the password: %s",
			        r->name, kz_err_str(fe));
	}
	return release(r, e);
}

void kz_token_logout(kz_reader *r, jpki_key key)
{
	kz_token *t = &r->token;
	t->logged_in[key] = false;
	if (key == JPKI_KEY_SIGN)
		kz_token_disarm(r);
	/* The signature password is never left verified (kz_token_sign), so
	 * a signature logout has nothing to make the card forget. A
	 * user-authentication PIN this process verified is forgotten by
	 * selecting the application again, the only way there is. */
	if (!t->present || (key == JPKI_KEY_SIGN && !t->card.verified[JPKI_KEY_SIGN]))
		return;
	if (t->pin_sent || t->login_locked) {
		kz_err e = kz_token_reset_security(r);
		if (e != KZ_OK)
			KZ_DEBUG("%s: logout reset: %s", r->name, kz_err_str(e));
	}
}
