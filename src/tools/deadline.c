#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>

#include "tools/deadline.h"

void kc_deadline_start(kc_deadline *d, double seconds)
{
	d->set = seconds >= 0;
	d->seconds = seconds;
	clock_gettime(CLOCK_MONOTONIC, &d->at);
	if (!d->set)
		return;
	time_t whole = (time_t)seconds;
	long nanos = (long)((seconds - (double)whole) * 1e9);
	d->at.tv_sec += whole;
	d->at.tv_nsec += nanos;
	if (d->at.tv_nsec >= 1000000000L) {
		d->at.tv_sec++;
		d->at.tv_nsec -= 1000000000L;
	}
}

int kc_deadline_left_ms(const kc_deadline *d)
{
	if (!d->set)
		return -1;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double left =
	    (double)(d->at.tv_sec - now.tv_sec) * 1e3 + (double)(d->at.tv_nsec - now.tv_nsec) / 1e6;
	if (left <= 0)
		return 0;
	if (left >= (double)INT_MAX)
		return INT_MAX;
	return (int)left + 1; /* round up: never report 0 before the time */
}

bool kc_deadline_passed(const kc_deadline *d)
{
	return kc_deadline_left_ms(d) == 0;
}

void kc_deadline_sleep(const kc_deadline *d, int ms)
{
	int left = kc_deadline_left_ms(d);
	if (left >= 0 && left < ms)
		ms = left;
	if (ms <= 0)
		return;
	struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&pause, NULL);
}
