/* Test PKI: made once per test program, since RSA key generation is most
 * of a unit test's run time. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testpki.h"

/* Run "sh script dir" without a shell command line, so that no path needs
 * quoting. */
static int run_script(const char *script, const char *dir)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* stdout carries the test protocol (TAP): the script's chatter
		 * goes to stderr */
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execlp("sh", "sh", script, dir, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *testpki_make(void)
{
	const char *tmp = getenv("TMPDIR");
	const char *srcdir = getenv("srcdir");
	char path[4096];
	char script[4096];

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if (srcdir == NULL || srcdir[0] == '\0')
		srcdir = ".";
	if ((size_t)snprintf(path, sizeof path, "%s/kazashi-unit-XXXXXX", tmp) >= sizeof path ||
	    (size_t)snprintf(script, sizeof script, "%s/tests/sim/make-pki.sh", srcdir) >=
	        sizeof script)
		return NULL;
	if (mkdtemp(path) == NULL) {
		perror("mkdtemp");
		return NULL;
	}
	char *dir = strdup(path);
	if (dir == NULL)
		return NULL;
	if (run_script(script, dir) != 0) {
		fprintf(stderr, "testpki: %s %s failed\n", script, dir);
		testpki_remove(dir);
		return NULL;
	}
	return dir;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path); /* keep going on failure: remove what can be removed */
	return 0;
}

void testpki_remove(char *dir)
{
	if (dir == NULL)
		return;
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

uint8_t *testpki_read(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	uint8_t *buf = malloc(65536);
	size_t n = buf != NULL ? fread(buf, 1, 65536, f) : 0;
	fclose(f);
	if (buf == NULL || n == 0 || n == 65536) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}
