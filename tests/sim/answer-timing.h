/* When kazashi-phone-sim answers an APDU: at once (the default), after the
 * link model's air and card time (--realtime, for throughput figures that
 * mean something with several readers), or not at all until told
 * (--freeze-at, --freeze-ins: a phone that stops answering in the middle
 * of a command without leaving the field, so that vpcd keeps the card
 * present and the host's exchange hangs). A frozen phone answers when it
 * gets SIGUSR2, leaves on SIGUSR1, exits on SIGTERM/SIGINT/SIGHUP. */
#ifndef KZ_SIM_ANSWER_TIMING_H
#define KZ_SIM_ANSWER_TIMING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct answer_timing {
	bool realtime;
	unsigned long freeze_at; /* APDU number (as --leave-at counts); 0 = never */
	bool freeze_ins_set;
	uint8_t freeze_ins;
	bool freeze_ins_done; /* the INS freezes once, not every command */
	/* --times: one stderr line an APDU, when it came and when it was
	 * answered (CLOCK_MONOTONIC, ms), so that a test can tell from
	 * several phones' logs whether their commands ran at the same time. */
	bool times;
} answer_timing;

enum answer_wait {
	ANSWER_WAIT_DONE,   /* go on and answer */
	ANSWER_WAIT_QUIT,   /* SIGTERM and friends */
	ANSWER_WAIT_LEAVE,  /* SIGUSR1 */
	ANSWER_WAIT_CLOSED, /* vpcd closed the connection meanwhile */
	ANSWER_WAIT_ERROR,
};

void answer_timing_usage(FILE *f);
/* --freeze-ins HEX: one byte, e.g. 2A (COMPUTE DIGITAL SIGNATURE). */
bool answer_parse_ins(const char *arg, answer_timing *t);

/* Whether APDU number n (1-based, over the phone's life), whose INS is
 * ins, is one to freeze on. */
bool answer_freezes(answer_timing *t, unsigned long n, uint8_t ins);
/* Frozen: wait for SIGUSR2 (DONE), SIGUSR1, an exit signal, or vpcd
 * closing fd. Says so on stderr. */
enum answer_wait answer_frozen(int fd);
/* Wait until deadline_ns (answer_now_ns's clock) unless a signal says
 * leave or exit first. */
enum answer_wait answer_wait_until(long long deadline_ns);
/* The --times line of APDU n (ins) that came at in_ns, answered now. */
void answer_print_times(unsigned long n, uint8_t ins, long long in_ns);
/* CLOCK_MONOTONIC in nanoseconds. */
long long answer_now_ns(void);

#endif
