/* What the relying-party drivers of tests/flow (and the soak of
 * tests/bench) share: a monotonic clock in milliseconds, a sleep, and
 * loading a PKCS#11 module as a relying party does. Header-only, so that
 * each driver stays one program of one source file. */
#ifndef KZ_TESTS_FLOW_DRIVER_H
#define KZ_TESTS_FLOW_DRIVER_H

#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

static inline double kzt_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static inline void kzt_sleep_ms(int ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

/* dlopen the module at path and take its function list; NULL (and a line
 * on stderr naming the driver, prog) when that fails. The library stays
 * loaded for the life of the driver. */
static inline CK_FUNCTION_LIST *kzt_load(const char *prog, const char *path)
{
	CK_FUNCTION_LIST *f = NULL;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	CK_C_GetFunctionList get = h ? (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList") : NULL;
	if (get == NULL || get(&f) != CKR_OK || f == NULL) {
		fprintf(stderr, "%s: cannot load %s: %s\n", prog, path,
		        h ? "no function list" : dlerror());
		return NULL;
	}
	return f;
}

#endif
