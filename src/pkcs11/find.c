#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "pkcs11/find.h"
#include "pkcs11/object.h"

CK_RV kz_find_init(kz_session *s, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
	if (tmpl == NULL && count > 0)
		return CKR_ARGUMENTS_BAD;
	if (s->find.active)
		return CKR_OPERATION_ACTIVE;
	kz_find_op op = {.active = true};
	/* Matching happens now, against the objects the session may see now:
	 * a login during the search does not change its results. */
	for (int k = 1; k <= KZ_OBJ_KINDS; k++) {
		bool match = false;
		if (!kz_object_visible(s, (kz_object_kind)k))
			continue;
		CK_RV rv = kz_object_matches(s, (kz_object_kind)k, tmpl, count, &match);
		if (rv != CKR_OK)
			return rv;
		if (match)
			op.found[op.count++] = kz_object_handle(s->slot, (kz_object_kind)k);
	}
	s->find = op;
	return CKR_OK;
}

CK_RV kz_find(kz_session *s, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR count)
{
	if (out == NULL || count == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!s->find.active)
		return CKR_OPERATION_NOT_INITIALIZED;
	CK_ULONG n = 0;
	while (n < max && s->find.pos < s->find.count)
		out[n++] = s->find.found[s->find.pos++];
	*count = n;
	return CKR_OK;
}

CK_RV kz_find_final(kz_session *s)
{
	if (!s->find.active)
		return CKR_OPERATION_NOT_INITIALIZED;
	s->find.active = false;
	return CKR_OK;
}
