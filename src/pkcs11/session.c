#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "pkcs11/module.h"
#include "pkcs11/session.h"
#include "pkcs11/sign.h"
#include "pkcs11/slot.h"
#include "util/log.h"

static kz_session *find(CK_SESSION_HANDLE h, size_t *index)
{
	for (size_t i = 0; i < kz_mod.session_count; i++) {
		if (kz_mod.sessions[i]->handle == h) {
			if (index != NULL)
				*index = i;
			return kz_mod.sessions[i];
		}
	}
	return NULL;
}

kz_reader *kz_session_reader(CK_SESSION_HANDLE h)
{
	kz_session *s = find(h, NULL);
	return s != NULL ? s->reader : NULL;
}

static void destroy(size_t index)
{
	kz_session *s = kz_mod.sessions[index];
	kz_sign_reset(&s->sign);
	free(s);
	kz_mod.sessions[index] = kz_mod.sessions[--kz_mod.session_count];
}

CK_RV kz_session_open(CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE_PTR out)
{
	jpki_key key;
	kz_reader *r = kz_slot_find(slot, &key);
	if (r == NULL)
		return CKR_SLOT_ID_INVALID;
	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!(flags & CKF_SERIAL_SESSION))
		return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
	kz_slots_refresh();
	if (!r->token.present)
		return CKR_TOKEN_NOT_PRESENT;
	kz_session **grown =
	    realloc(kz_mod.sessions, (kz_mod.session_count + 1) * sizeof(*kz_mod.sessions));
	if (grown == NULL)
		return CKR_HOST_MEMORY;
	kz_mod.sessions = grown;
	kz_session *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return CKR_HOST_MEMORY;
	s->handle = ++kz_mod.last_session;
	s->slot = slot;
	s->reader = r;
	s->key = key;
	s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
	s->tap = r->token.tap;
	kz_mod.sessions[kz_mod.session_count++] = s;
	*out = s->handle;
	return CKR_OK;
}

/* PKCS#11: closing a token's last session logs its user out. */
static void logout_if_last(kz_reader *r, jpki_key key)
{
	if (kz_session_count(r, key, false) == 0 && r->token.logged_in[key])
		kz_token_logout(r, key);
}

CK_RV kz_session_close(CK_SESSION_HANDLE h)
{
	size_t index;
	kz_session *s = find(h, &index);
	if (s == NULL)
		return CKR_SESSION_HANDLE_INVALID;
	kz_reader *r = s->reader;
	jpki_key key = s->key;
	destroy(index);
	logout_if_last(r, key);
	return CKR_OK;
}

CK_RV kz_session_close_slot(CK_SLOT_ID slot)
{
	jpki_key key;
	kz_reader *r = kz_slot_find(slot, &key);
	if (r == NULL)
		return CKR_SLOT_ID_INVALID;
	for (size_t i = kz_mod.session_count; i-- > 0;) {
		if (kz_mod.sessions[i]->reader == r && kz_mod.sessions[i]->key == key)
			destroy(i);
	}
	logout_if_last(r, key);
	return CKR_OK;
}

void kz_session_drop_reader(const kz_reader *r)
{
	for (size_t i = kz_mod.session_count; i-- > 0;) {
		if (kz_mod.sessions[i]->reader == r)
			destroy(i);
	}
}

void kz_session_free_all(void)
{
	while (kz_mod.session_count > 0)
		destroy(kz_mod.session_count - 1);
	free(kz_mod.sessions);
	kz_mod.sessions = NULL;
}

bool kz_session_logged_in(const kz_session *s)
{
	return s->reader->token.logged_in[s->key];
}

CK_RV kz_session_get(CK_SESSION_HANDLE h, kz_rule rule, kz_session **out)
{
	kz_session *s = find(h, NULL);
	if (s == NULL)
		return CKR_SESSION_HANDLE_INVALID;
	/* A phone that left closes its sessions: the call that finds out
	 * says the device was removed, later calls that the handle is gone. */
	if (!kz_token_still_present(s->reader))
		return CKR_DEVICE_REMOVED;
	switch (rule) {
	case KZ_RULE_ANY:
		break;
	case KZ_RULE_USER:
		if (!kz_session_logged_in(s))
			return CKR_USER_NOT_LOGGED_IN;
		break;
	case KZ_RULE_RW:
		if (!(s->flags & CKF_RW_SESSION))
			return CKR_SESSION_READ_ONLY;
		break;
	case KZ_RULE_RW_SO:
		if (!(s->flags & CKF_RW_SESSION))
			return CKR_SESSION_READ_ONLY;
		return CKR_USER_NOT_LOGGED_IN;
	}
	*out = s;
	return CKR_OK;
}

CK_RV kz_session_info(const kz_session *s, CK_SESSION_INFO_PTR info)
{
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	bool rw = (s->flags & CKF_RW_SESSION) != 0;
	memset(info, 0, sizeof(*info));
	info->slotID = s->slot;
	info->flags = s->flags;
	if (kz_session_logged_in(s))
		info->state = rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
	else
		info->state = rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
	return CKR_OK;
}

size_t kz_session_count(const kz_reader *r, jpki_key key, bool rw_only)
{
	size_t n = 0;
	for (size_t i = 0; i < kz_mod.session_count; i++) {
		const kz_session *s = kz_mod.sessions[i];
		if (s->reader == r && s->key == key && (!rw_only || (s->flags & CKF_RW_SESSION)))
			n++;
	}
	return n;
}

void kz_session_end_operations(const kz_reader *r, jpki_key key)
{
	for (size_t i = 0; i < kz_mod.session_count; i++) {
		kz_session *s = kz_mod.sessions[i];
		if (s->reader == r && s->key == key) {
			kz_sign_reset(&s->sign);
			s->find.active = false;
		}
	}
}
