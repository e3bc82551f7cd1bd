/* Output files that appear whole or not at all. The bytes go to a new
 * temporary file in the target's directory, which is renamed over the
 * target only once everything is written: a failed, refused or
 * interrupted command leaves an existing file as it was, and no path the
 * command did not create is ever removed. */
#ifndef KC_OUTFILE_H
#define KC_OUTFILE_H

#include <stdio.h>

typedef struct kc_outfile {
	FILE *f;          /* where the bytes go; NULL when nothing is open */
	const char *path; /* the target, as given */
	char *tmp;        /* the temporary file; NULL when writing directly */
} kc_outfile;

/* Opens for writing, before anything costly is asked of the user or the
 * phone. "-" is standard output. An existing target that is not a regular
 * file (a pipe, a terminal, /dev/null, also through a symbolic link) is
 * written directly: there is no file to keep or replace. Otherwise a new
 * temporary file is made next to it (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0666
 * less the umask); a symbolic link at the target is later replaced by the
 * file, its target left alone. KC_OK, or the failure reported. */
int kc_outfile_open(kc_outfile *o, const char *path);

/* Everything is written: flush, sync, and rename over the target. KC_OK,
 * or the failure reported and the temporary file removed. */
int kc_outfile_commit(kc_outfile *o);

/* Gives up: closes, and removes the temporary file (never the target).
 * Does nothing on an outfile that was never opened or is already done. */
void kc_outfile_abort(kc_outfile *o);

#endif
