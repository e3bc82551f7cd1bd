#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <stdlib.h>

#include "tools/exitcode.h"
#include "tools/module.h"

#ifndef KZ_DEFAULT_MODULE
#error "KZ_DEFAULT_MODULE must name the installed module (set by src/tools/local.mk)"
#endif

const char *kc_module_default(void)
{
	const char *env = getenv("KAZASHI_MODULE");
	return env != NULL && env[0] != '\0' ? env : KZ_DEFAULT_MODULE;
}

int kc_module_load(kc_module *m, const char *path)
{
	m->dl = NULL;
	m->f = NULL;
	/* RTLD_LOCAL: the module's symbols must not stand in for anything of
	 * ours (both use OpenSSL), nor ours for its. */
	m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (m->dl == NULL)
		return kc_fail(KC_NO_DEVICE, "cannot load the PKCS#11 module %s: %s", path,
		               dlerror());
	CK_C_GetFunctionList get_list = NULL;
	/* POSIX allows this conversion; ISO C does not know dlsym's rules. */
	*(void **)&get_list = dlsym(m->dl, "C_GetFunctionList");
	CK_FUNCTION_LIST_PTR f = NULL;
	CK_RV rv = get_list == NULL ? CKR_FUNCTION_NOT_SUPPORTED : get_list(&f);
	if (rv != CKR_OK || f == NULL) {
		dlclose(m->dl);
		m->dl = NULL;
		return kc_fail(KC_NO_DEVICE, "%s is not a PKCS#11 module (no C_GetFunctionList)",
		               path);
	}
	rv = f->C_Initialize(NULL);
	if (rv != CKR_OK) {
		dlclose(m->dl);
		m->dl = NULL;
		return kc_fail(KC_NO_DEVICE, "the PKCS#11 module %s did not initialise: %s", path,
		               kc_rv_name(rv));
	}
	m->f = f;
	return KC_OK;
}

void kc_module_unload(kc_module *m)
{
	if (m->f != NULL)
		(void)m->f->C_Finalize(NULL);
	if (m->dl != NULL)
		dlclose(m->dl);
	m->f = NULL;
	m->dl = NULL;
}

const char *kc_rv_name(CK_RV rv)
{
	switch (rv) {
#define NAME(x)                                                                                    \
	case x:                                                                                    \
		return #x;
		NAME(CKR_OK)
		NAME(CKR_CANCEL)
		NAME(CKR_HOST_MEMORY)
		NAME(CKR_SLOT_ID_INVALID)
		NAME(CKR_GENERAL_ERROR)
		NAME(CKR_FUNCTION_FAILED)
		NAME(CKR_ARGUMENTS_BAD)
		NAME(CKR_NO_EVENT)
		NAME(CKR_CANT_LOCK)
		NAME(CKR_ATTRIBUTE_SENSITIVE)
		NAME(CKR_ATTRIBUTE_TYPE_INVALID)
		NAME(CKR_DATA_LEN_RANGE)
		NAME(CKR_DEVICE_ERROR)
		NAME(CKR_DEVICE_MEMORY)
		NAME(CKR_DEVICE_REMOVED)
		NAME(CKR_FUNCTION_CANCELED)
		NAME(CKR_FUNCTION_NOT_SUPPORTED)
		NAME(CKR_KEY_HANDLE_INVALID)
		NAME(CKR_KEY_FUNCTION_NOT_PERMITTED)
		NAME(CKR_MECHANISM_INVALID)
		NAME(CKR_MECHANISM_PARAM_INVALID)
		NAME(CKR_OBJECT_HANDLE_INVALID)
		NAME(CKR_OPERATION_ACTIVE)
		NAME(CKR_OPERATION_NOT_INITIALIZED)
		NAME(CKR_PIN_INCORRECT)
		NAME(CKR_PIN_INVALID)
		NAME(CKR_PIN_LEN_RANGE)
		NAME(CKR_PIN_EXPIRED)
		NAME(CKR_PIN_LOCKED)
		NAME(CKR_SESSION_CLOSED)
		NAME(CKR_SESSION_COUNT)
		NAME(CKR_SESSION_HANDLE_INVALID)
		NAME(CKR_SESSION_READ_ONLY)
		NAME(CKR_TOKEN_NOT_PRESENT)
		NAME(CKR_TOKEN_NOT_RECOGNIZED)
		NAME(CKR_TOKEN_WRITE_PROTECTED)
		NAME(CKR_USER_ALREADY_LOGGED_IN)
		NAME(CKR_USER_NOT_LOGGED_IN)
		NAME(CKR_USER_PIN_NOT_INITIALIZED)
		NAME(CKR_USER_TYPE_INVALID)
		NAME(CKR_BUFFER_TOO_SMALL)
		NAME(CKR_CRYPTOKI_NOT_INITIALIZED)
		NAME(CKR_CRYPTOKI_ALREADY_INITIALIZED)
#undef NAME
	default:
		return "an unknown PKCS#11 error";
	}
}
