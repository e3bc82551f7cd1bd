/* A throw-away test PKI for unit tests, made by tests/sim/make-pki.sh. */
#ifndef KZ_TESTS_UNIT_TESTPKI_H
#define KZ_TESTS_UNIT_TESTPKI_H

#include <stddef.h>
#include <stdint.h>

/* Make the PKI in a new temporary directory; returns its malloc'ed path,
 * or NULL (with the reason on stderr). $srcdir (set by automake's test
 * harness, "." when unset) locates make-pki.sh. */
char *testpki_make(void);
/* Remove the directory and everything in it; frees dir. */
void testpki_remove(char *dir);
/* Read dir/name whole; malloc'ed, NULL on failure. */
uint8_t *testpki_read(const char *dir, const char *name, size_t *len);

#endif
