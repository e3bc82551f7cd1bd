/* --timeout as a point in time: one deadline covers everything the user
 * has to do (tap, type), whatever the steps in between cost. */
#ifndef KC_DEADLINE_H
#define KC_DEADLINE_H

#include <stdbool.h>
#include <time.h>

typedef struct kc_deadline {
	bool set;
	double seconds;     /* as given, for messages */
	struct timespec at; /* CLOCK_MONOTONIC */
} kc_deadline;

/* SECONDS < 0: no deadline. */
void kc_deadline_start(kc_deadline *d, double seconds);

/* Milliseconds left (0 when passed), or -1 for no deadline: poll(2)'s
 * convention. */
int kc_deadline_left_ms(const kc_deadline *d);

bool kc_deadline_passed(const kc_deadline *d);

/* Sleeps MS milliseconds, or less if the deadline comes first. */
void kc_deadline_sleep(const kc_deadline *d, int ms);

#endif
