#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "jpki/pin.h"
#include "kazashi/kazashi.h"
#include "pkcs11/module.h"
#include "pkcs11/session.h"
#include "pkcs11/slot.h"
#include "util/log.h"

#define KZ_READERS_MAX 16 /* readers one back end reports at a time */

static const char *const slot_names[JPKI_KEY_COUNT] = {KAZASHI_KEY_AUTH, KAZASHI_KEY_SIGN};

void kz_pad(CK_UTF8CHAR *field, size_t size, const char *s)
{
	size_t n = strlen(s);
	if (n > size)
		n = size;
	memset(field, ' ', size);
	memcpy(field, s, n);
}

static kz_reader *reader_by_name(kz_backend *b, const char *name)
{
	for (size_t i = 0; i < kz_mod.reader_count; i++) {
		kz_reader *r = kz_mod.readers[i];
		if (r->backend == b && strcmp(r->name, name) == 0)
			return r;
	}
	return NULL;
}

/* A reader seen for the first time gets the next two slot ids; a reader
 * that comes back (re-plugged, pcscd restarted) keeps its old ones. */
static kz_reader *reader_add(kz_backend *b, const char *name)
{
	kz_reader **grown = realloc(kz_mod.readers, (kz_mod.reader_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	kz_mod.readers = grown;
	kz_reader *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	/* The reader's own lock, of the kind the application asked for. */
	if (kz_lock_like(kz_mod.lock, &r->io) != CKR_OK) {
		free(r);
		return NULL;
	}
	size_t n = strnlen(name, sizeof(r->name) - 1);
	memcpy(r->name, name, n);
	r->name[n] = '\0';
	r->backend = b;
	r->index = kz_mod.reader_count;
	r->token.tries[0] = r->token.tries[1] = -1;
	kz_mod.readers[kz_mod.reader_count++] = r;
	KZ_INFO("reader '%s': slots %zu and %zu", name, r->index * 2, r->index * 2 + 1);
	return r;
}

/* The reader filters apply to PC/SC names only: other back ends (the
 * simulator in tests) name their readers themselves. */
static bool wanted(const kz_backend *b, const char *name)
{
	return b->ops != &kz_pcsc_backend || kz_config_pcsc_reader_wanted(&kz_mod.config, name);
}

/* With r owned: an arrival is identified here, in a card exchange that
 * lets go of the module lock. */
static void update_reader(kz_reader *r, const kz_reader_state *st)
{
	kz_token *t = &r->token;
	if (t->present && (!st->card_present || st->event_count != t->event_count))
		kz_token_leave(r, "the phone left the field");
	if (t->tried && (!st->card_present || st->event_count != t->event_count))
		t->tried = false;
	if (st->card_present && !t->present && !t->tried)
		(void)kz_token_arrive(r, st->event_count);
}

/* b's readers now, into states; every wanted one gets its slots (ids
 * that then never change). No card is looked at. */
static size_t list_readers(kz_backend *b, kz_reader_state states[KZ_READERS_MAX])
{
	size_t n = 0;
	if (b->ops->list(b, states, KZ_READERS_MAX, &n) != KZ_OK)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (wanted(b, states[i].name) && reader_by_name(b, states[i].name) == NULL)
			(void)reader_add(b, states[i].name);
	return n;
}

static void refresh_backend(kz_backend *b)
{
	kz_reader_state states[KZ_READERS_MAX];
	size_t n = list_readers(b, states);
	/* A reader another thread owns is left to it: its owner notices a
	 * departure in its own exchange, and an arrival waits for the next
	 * look. Nothing here waits for a reader. */
	for (size_t i = 0; i < n; i++) {
		kz_reader *r = wanted(b, states[i].name) ? reader_by_name(b, states[i].name) : NULL;
		if (r != NULL && kz_reader_try(r)) {
			update_reader(r, &states[i]);
			kz_reader_give(r);
		}
	}
	/* From this look's own list: the module lock may have been let go
	 * above, and other threads look too. */
	for (size_t i = 0; i < kz_mod.reader_count; i++) {
		kz_reader *r = kz_mod.readers[i];
		bool listed = false;
		for (size_t j = 0; j < n && !listed; j++)
			listed = wanted(b, states[j].name) && strcmp(r->name, states[j].name) == 0;
		if (r->backend != b || listed || !kz_reader_try(r))
			continue;
		if (r->token.present)
			kz_token_leave(r, "the reader went away");
		/* A reader that comes back starts its event count again: what
		 * it shows then is a new insertion, whatever its count. */
		r->token.tried = false;
		kz_reader_give(r);
	}
}

void kz_slots_refresh(void)
{
	for (size_t i = 0; i < kz_mod.backend_count; i++)
		refresh_backend(kz_mod.backends[i]);
}

void kz_slots_enumerate(void)
{
	kz_reader_state states[KZ_READERS_MAX];
	for (size_t i = 0; i < kz_mod.backend_count; i++)
		(void)list_readers(kz_mod.backends[i], states);
}

/* Whether the configuration offers the slots of this key at all. */
static bool offered(jpki_key key)
{
	return key != JPKI_KEY_SIGN || kz_mod.config.signature_token;
}

kz_reader *kz_slot_find(CK_SLOT_ID id, jpki_key *key)
{
	size_t index = id / JPKI_KEY_COUNT;
	if (index >= kz_mod.reader_count || !offered((jpki_key)(id % JPKI_KEY_COUNT)))
		return NULL;
	if (key != NULL)
		*key = (jpki_key)(id % JPKI_KEY_COUNT);
	return kz_mod.readers[index];
}

CK_RV kz_slot_token_check(CK_SLOT_ID id)
{
	kz_reader *r = kz_slot_find(id, NULL);
	if (r == NULL)
		return CKR_SLOT_ID_INVALID;
	kz_slots_refresh();
	return r->token.present ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

void kz_slots_free(void)
{
	for (size_t i = 0; i < kz_mod.reader_count; i++) {
		kz_reader *r = kz_mod.readers[i];
		/* Nobody owns a reader here but a call C_Finalize gave up on
		 * (module.c, abandon), whose reader is never freed. */
		if (!kz_reader_try(r))
			continue;
		/* A PIN left verified would let any local PC/SC client sign
		 * until the phone leaves: make the card forget it. */
		kz_token_forget_pins(r);
		if (r->token.present)
			kz_token_leave(r, "finalising");
		kz_reader_give(r);
		kz_lock_free(r->io);
		free(r);
	}
	free(kz_mod.readers);
	kz_mod.readers = NULL;
	kz_mod.reader_count = 0;
}

CK_RV kz_slot_list(CK_BBOOL token_present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
	if (count == NULL)
		return CKR_ARGUMENTS_BAD;
	/* Every call looks again (local IPC, no APDU unless a phone arrived):
	 * an application may well pass a buffer without asking the length. If
	 * the picture grew between the two calls, CKR_BUFFER_TOO_SMALL says so. */
	kz_slots_refresh();
	CK_ULONG n = 0;
	for (size_t i = 0; i < kz_mod.reader_count; i++) {
		kz_reader *r = kz_mod.readers[i];
		if (token_present && !r->token.present)
			continue;
		for (int k = 0; k < JPKI_KEY_COUNT; k++) {
			if (!offered((jpki_key)k))
				continue;
			if (list != NULL && n < *count)
				list[n] = KZ_SLOT_ID(i, k);
			n++;
		}
	}
	CK_RV rv = (list != NULL && n > *count) ? CKR_BUFFER_TOO_SMALL : CKR_OK;
	*count = n;
	return rv;
}

CK_RV kz_slot_info(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
	jpki_key key;
	kz_reader *r = kz_slot_find(id, &key);
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	if (r == NULL)
		return CKR_SLOT_ID_INVALID;
	kz_slots_refresh();
	char desc[KZ_READER_NAME_MAX + 32];
	snprintf(desc, sizeof(desc), "%.*s (%s)", KZ_READER_NAME_MAX - 1, r->name, slot_names[key]);
	memset(info, 0, sizeof(*info));
	kz_pad(info->slotDescription, sizeof(info->slotDescription), desc);
	kz_pad(info->manufacturerID, sizeof(info->manufacturerID), KAZASHI_MANUFACTURER);
	info->flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT;
	if (r->token.present)
		info->flags |= CKF_TOKEN_PRESENT;
	return CKR_OK;
}

static CK_FLAGS pin_flags(const kz_token *t, jpki_key key)
{
	int tries = t->tries[key];
	if (tries < 0 || tries >= jpki_pin_max_tries(key))
		return 0;
	if (tries == 0)
		return CKF_USER_PIN_LOCKED;
	if (tries == 1)
		return CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_COUNT_LOW;
	return CKF_USER_PIN_COUNT_LOW;
}

static const char *token_model(jpki_model m)
{
	switch (m) {
	case JPKI_MODEL_CARD:
	case JPKI_MODEL_OLD_CARD:
		return KAZASHI_MODEL_CARD;
	case JPKI_MODEL_ANDROID:
		return KAZASHI_MODEL_ANDROID;
	case JPKI_MODEL_IPHONE:
		return KAZASHI_MODEL_IPHONE;
	case JPKI_MODEL_UNKNOWN:
		break;
	}
	return KAZASHI_MODEL_UNKNOWN;
}

CK_RV kz_slot_token_info(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info)
{
	jpki_key key;
	kz_reader *r = kz_slot_find(id, &key);
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	if (r == NULL)
		return CKR_SLOT_ID_INVALID;
	kz_slots_refresh();
	/* The PIN flags must be right when they are asked for: the tries
	 * arrival did not read are read now, once a tap. */
	kz_token_want_tries(r, key);
	const kz_token *t = &r->token;
	if (!t->present)
		return CKR_TOKEN_NOT_PRESENT;
	char label[64];
	snprintf(label, sizeof(label), KAZASHI_TOKEN_LABEL_PREFIX "%s", slot_names[key]);
	memset(info, 0, sizeof(*info));
	kz_pad(info->label, sizeof(info->label), label);
	kz_pad(info->manufacturerID, sizeof(info->manufacturerID), KAZASHI_TOKEN_MANUFACTURER);
	kz_pad(info->model, sizeof(info->model), token_model(t->model));
	/* Nothing readable without a PIN tells phones apart: the serial is
	 * drawn at random for each tap (token.c), the same for both tokens of
	 * the tap. A person is known by their certificate, after login. */
	kz_pad(info->serialNumber, sizeof(info->serialNumber), t->serial);
	info->flags = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED |
	              CKF_WRITE_PROTECTED | pin_flags(t, key);
	info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulSessionCount = kz_session_count(r, key, false);
	info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulRwSessionCount = kz_session_count(r, key, true);
	info->ulMaxPinLen = jpki_pin_max_len(key);
	info->ulMinPinLen = jpki_pin_min_len(key);
	info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	return CKR_OK;
}
