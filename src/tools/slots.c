#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kazashi/kazashi.h"
#include "tools/slots.h"

static const struct {
	const char *suffix; /* of the slot description */
	const char *label;  /* the token label */
	const char *secret;
	CK_BYTE id;
	int max_tries;
} kinds[] = {
    [KC_KIND_AUTH] = {KAZASHI_SLOT_SUFFIX_AUTH, KAZASHI_TOKEN_LABEL_AUTH, "user-authentication PIN",
                      KAZASHI_ID_AUTH, KAZASHI_AUTH_PIN_TRIES},
    [KC_KIND_SIGN] = {KAZASHI_SLOT_SUFFIX_SIGN, KAZASHI_TOKEN_LABEL_SIGN, "signature password",
                      KAZASHI_ID_SIGN, KAZASHI_SIGN_PIN_TRIES},
};

/* Copies a blank-padded PKCS#11 text field into a C string. */
static void unpad(char *out, size_t size, const CK_UTF8CHAR *field, size_t len)
{
	while (len > 0 && (field[len - 1] == ' ' || field[len - 1] == '\0'))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(out, field, len);
	out[len] = '\0';
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

CK_RV kc_slot_describe(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID id, kc_slot *out)
{
	CK_SLOT_INFO info;
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->kind = KC_KIND_OTHER;
	CK_RV rv = f->C_GetSlotInfo(id, &info);
	if (rv != CKR_OK)
		return rv;
	unpad(out->reader, sizeof(out->reader), info.slotDescription, sizeof(info.slotDescription));
	/* The description names the key even without a token; the reader's
	 * name is what precedes " (Key Name)". */
	for (int k = KC_KIND_AUTH; k <= KC_KIND_SIGN; k++) {
		if (ends_with(out->reader, kinds[k].suffix)) {
			out->kind = (kc_kind)k;
			size_t n = strlen(out->reader) - strlen(kinds[k].suffix);
			while (n > 0 && out->reader[n - 1] == ' ')
				n--;
			out->reader[n] = '\0';
		}
	}
	if (!(info.flags & CKF_TOKEN_PRESENT))
		return CKR_OK;
	CK_TOKEN_INFO token;
	rv = f->C_GetTokenInfo(id, &token);
	if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED)
		return CKR_OK; /* left between the two calls */
	if (rv != CKR_OK)
		return rv;
	out->present = true;
	unpad(out->model, sizeof(out->model), token.model, sizeof(token.model));
	out->flags = token.flags;
	/* The token label is the key's own name: it wins over the slot's. */
	char label[33];
	unpad(label, sizeof(label), token.label, sizeof(token.label));
	for (int k = KC_KIND_AUTH; k <= KC_KIND_SIGN; k++) {
		if (strcmp(label, kinds[k].label) == 0)
			out->kind = (kc_kind)k;
	}
	return CKR_OK;
}

CK_RV kc_slots_list(CK_FUNCTION_LIST_PTR f, bool present_only, kc_slot **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	CK_SLOT_ID *ids = NULL;
	CK_ULONG count = 0;
	CK_RV rv;
	/* Readers come and go between the two calls of the pattern. */
	for (int attempt = 0; attempt < 4; attempt++) {
		rv = f->C_GetSlotList(present_only ? CK_TRUE : CK_FALSE, NULL, &count);
		if (rv != CKR_OK)
			return rv;
		free(ids);
		ids = calloc(count + 1, sizeof(*ids));
		if (ids == NULL)
			return CKR_HOST_MEMORY;
		rv = f->C_GetSlotList(present_only ? CK_TRUE : CK_FALSE, ids, &count);
		if (rv != CKR_BUFFER_TOO_SMALL)
			break;
	}
	if (rv != CKR_OK) {
		free(ids);
		return rv;
	}
	kc_slot *slots = calloc(count + 1, sizeof(*slots));
	if (slots == NULL) {
		free(ids);
		return CKR_HOST_MEMORY;
	}
	size_t used = 0;
	for (CK_ULONG i = 0; i < count; i++) {
		rv = kc_slot_describe(f, ids[i], &slots[used]);
		if (rv == CKR_SLOT_ID_INVALID)
			continue;
		if (rv != CKR_OK) {
			free(ids);
			free(slots);
			return rv;
		}
		if (present_only && !slots[used].present)
			continue;
		used++;
	}
	free(ids);
	*out = slots;
	*n = used;
	return CKR_OK;
}

const char *kc_kind_secret(kc_kind kind)
{
	return kind == KC_KIND_SIGN ? kinds[KC_KIND_SIGN].secret : kinds[KC_KIND_AUTH].secret;
}

CK_BYTE kc_kind_id(kc_kind kind)
{
	return kind == KC_KIND_SIGN ? kinds[KC_KIND_SIGN].id : kinds[KC_KIND_AUTH].id;
}

void kc_tries(kc_kind kind, CK_FLAGS flags, int *min, int *max)
{
	int all =
	    kind == KC_KIND_SIGN ? kinds[KC_KIND_SIGN].max_tries : kinds[KC_KIND_AUTH].max_tries;
	if (flags & CKF_USER_PIN_LOCKED)
		*min = *max = 0;
	else if (flags & CKF_USER_PIN_FINAL_TRY)
		*min = *max = 1;
	else if (flags & CKF_USER_PIN_COUNT_LOW)
		*min = 2, *max = all - 1;
	else
		*min = *max = all;
}

void kc_tries_text(kc_kind kind, CK_FLAGS flags, char *buf, size_t size)
{
	int min, max;
	kc_tries(kind, flags, &min, &max);
	if (max == 0)
		snprintf(buf, size, "blocked");
	else if (min == max)
		snprintf(buf, size, "%d %s left", min, min == 1 ? "try" : "tries");
	else
		snprintf(buf, size, "%d to %d tries left", min, max);
}

const char *kc_holder_noun(const kc_slot *s)
{
	return strcmp(s->model, KAZASHI_MODEL_CARD) == 0 ? "card" : "phone";
}
