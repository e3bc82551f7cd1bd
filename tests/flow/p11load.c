/* kz-p11load: a program that loads a PKCS#11 module and does nothing with
 * it, for the test of privileged processes (tests/integration/
 * secure-env.sh): installed setuid root and run by an unprivileged user,
 * it is what a PAM module under su or sudo is to kazashi.
 *
 *   kz-p11load MODULE [PRESERVED-WORDS]
 *
 * C_Initialize (with the words as pReserved, if given), C_GetSlotList,
 * C_Finalize. Prints one line, "secure=A ruid=R euid=E init=RV slots=N",
 * A being the kernel's AT_SECURE for this process. Exit 0 once the line
 * is printed. Linked with nothing of the build's (no libtool wrapper): a
 * setuid program runs with LD_LIBRARY_PATH ignored. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: kz-p11load MODULE [PRESERVED-WORDS]\n");
		return 2;
	}
	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "kz-p11load: %s\n", dlerror());
		return 1;
	}
	CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
	CK_FUNCTION_LIST_PTR f = NULL;
	if (get == NULL || get(&f) != CKR_OK || f == NULL) {
		fprintf(stderr, "kz-p11load: no C_GetFunctionList\n");
		return 1;
	}
	CK_C_INITIALIZE_ARGS args = {
	    NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, argc == 3 ? argv[2] : NULL};
	CK_RV rv = f->C_Initialize(&args);
	CK_ULONG n = 0;
	if (rv == CKR_OK) {
		(void)f->C_GetSlotList(CK_FALSE, NULL, &n);
		(void)f->C_Finalize(NULL);
	}
	printf("secure=%lu ruid=%ld euid=%ld init=0x%lx slots=%lu\n", getauxval(AT_SECURE),
	       (long)getuid(), (long)geteuid(), (unsigned long)rv, (unsigned long)n);
	return 0;
}
