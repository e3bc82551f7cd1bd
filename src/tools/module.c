#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <stdlib.h>

#include "tools/exitcode.h"
#include "tools/module.h"
#include "pkcs11/rv-name.h"

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
		               kz_rv_name(rv));
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
