#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/exitcode.h"
#include "tools/outfile.h"

/* ---- a temporary file is not left behind by Ctrl-C ------------------------
 * The command may wait minutes for a tap with the temporary file open. The
 * signals that end it remove the file first, then take their old course.
 * The prompt (secret.c) saves and re-raises whatever handler is set, so
 * the two chain. One output file at a time: the command has one. */

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define KC_STOP_SIGNALS (sizeof(stop_signals) / sizeof(stop_signals[0]))

static const char *volatile g_tmp;
static struct sigaction g_old[KC_STOP_SIGNALS];

static void on_stop(int sig)
{
	const char *tmp = g_tmp;
	if (tmp != NULL)
		unlink(tmp); /* async-signal-safe, as are sigaction and raise */
	g_tmp = NULL;
	for (size_t i = 0; i < KC_STOP_SIGNALS; i++) {
		if (stop_signals[i] == sig)
			sigaction(sig, &g_old[i], NULL);
	}
	raise(sig);
}

static void arm(const char *tmp)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	g_tmp = tmp;
	for (size_t i = 0; i < KC_STOP_SIGNALS; i++) {
		sigaction(stop_signals[i], &sa, &g_old[i]);
		/* An ignored signal (SIGINT in a background job) stays
		 * ignored: it must not end the command, nor take its file. */
		if (g_old[i].sa_handler == SIG_IGN)
			sigaction(stop_signals[i], &g_old[i], NULL);
	}
}

static void disarm(void)
{
	for (size_t i = 0; i < KC_STOP_SIGNALS; i++)
		sigaction(stop_signals[i], &g_old[i], NULL);
	g_tmp = NULL;
}

/* ---- the file ------------------------------------------------------------- */

static int fail_write(const kc_outfile *o, int err)
{
	return kc_fail(KC_ERROR, "cannot write %s: %s", o->path, strerror(err));
}

/* A new file in the target's directory that nobody else can have
 * prepared: O_EXCL refuses anything already there, a symbolic link
 * included, and O_NOFOLLOW says so twice. A random name, so that a guess
 * cannot block it, tried again on the rare clash. */
static int open_temp(kc_outfile *o)
{
	/* The directory part, "" for a file in "/", none without a slash. */
	const char *slash = strrchr(o->path, '/');
	int dirlen = slash == NULL ? 0 : (int)(slash - o->path);
	size_t n = (size_t)dirlen + sizeof("/.kazashi-0123456789abcdef.tmp");
	o->tmp = malloc(n);
	if (o->tmp == NULL)
		return kc_fail(KC_ERROR, "out of memory");
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 16; tries++) {
		uint64_t r = 0;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r ^= (uint64_t)getpid() << 32 ^ (uint64_t)tries;
		if (slash == NULL)
			snprintf(o->tmp, n, ".kazashi-%016llx.tmp", (unsigned long long)r);
		else
			snprintf(o->tmp, n, "%.*s/.kazashi-%016llx.tmp", dirlen, o->path,
			         (unsigned long long)r);
		fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
		          0666);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		int err = errno;
		free(o->tmp);
		o->tmp = NULL;
		return fail_write(o, err);
	}
	arm(o->tmp);
	o->f = fdopen(fd, "wb");
	if (o->f == NULL) {
		int err = errno;
		close(fd);
		kc_outfile_abort(o);
		return fail_write(o, err);
	}
	return KC_OK;
}

/* An existing target that is no regular file: a pipe or terminal the
 * user means (/dev/stdout), or /dev/null. It is opened as it is, without
 * creating or truncating anything. */
static int open_direct(kc_outfile *o)
{
	int fd = open(o->path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fail_write(o, errno);
	struct stat st;
	if (fstat(fd, &st) != 0 || S_ISREG(st.st_mode)) {
		/* It became a regular file since it was looked at: writing
		 * into it now would be the truncating write this avoids. */
		close(fd);
		return fail_write(o, EAGAIN);
	}
	o->f = fdopen(fd, "wb");
	if (o->f == NULL) {
		int err = errno;
		close(fd);
		return fail_write(o, err);
	}
	return KC_OK;
}

int kc_outfile_open(kc_outfile *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	if (strcmp(path, "-") == 0) {
		o->f = stdout;
		return KC_OK;
	}
	struct stat st;
	if (stat(path, &st) != 0 || S_ISREG(st.st_mode))
		return open_temp(o);
	if (S_ISDIR(st.st_mode))
		return fail_write(o, EISDIR);
	return open_direct(o);
}

int kc_outfile_commit(kc_outfile *o)
{
	if (o->f == NULL)
		return fail_write(o, EBADF);
	if (o->f == stdout) {
		o->f = NULL;
		return fflush(stdout) == 0 && !ferror(stdout) ? KC_OK : fail_write(o, errno);
	}
	/* fsync before the rename: after a crash the name holds the old file
	 * or the whole new one, never an empty one. */
	int err = 0;
	errno = 0;
	if (fflush(o->f) != 0 || ferror(o->f) || (o->tmp != NULL && fsync(fileno(o->f)) != 0))
		err = errno != 0 ? errno : EIO;
	if (fclose(o->f) != 0 && err == 0)
		err = errno;
	o->f = NULL;
	if (err == 0 && o->tmp != NULL && rename(o->tmp, o->path) != 0)
		err = errno;
	if (err != 0) {
		kc_outfile_abort(o);
		return fail_write(o, err);
	}
	if (o->tmp != NULL) {
		disarm();
		free(o->tmp);
		o->tmp = NULL;
	}
	return KC_OK;
}

void kc_outfile_abort(kc_outfile *o)
{
	if (o->f != NULL && o->f != stdout)
		fclose(o->f);
	o->f = NULL;
	if (o->tmp != NULL) {
		unlink(o->tmp); /* ours: created with O_EXCL above */
		disarm();
		free(o->tmp);
		o->tmp = NULL;
	}
}
