/* When the simulated phone answers: see answer-timing.h. */
#include "config.h"

#include "answer-timing.h"
#include "sim-signals.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

void answer_timing_usage(FILE *f)
{
	fputs("  --realtime         answer each APDU after its modeled air + card time\n"
	      "  --freeze-at N      never answer APDU N (stay in the field) until SIGUSR2\n"
	      "  --freeze-ins HEX   the same for the first APDU with this INS (2A: sign)\n"
	      "  --times            print when each APDU came and was answered (stderr)\n",
	      f);
}

bool answer_parse_ins(const char *arg, answer_timing *t)
{
	char *end;
	unsigned long v;

	if (arg == NULL || *arg == '\0' || strlen(arg) > 2)
		return false;
	errno = 0;
	v = strtoul(arg, &end, 16);
	if (errno != 0 || *end != '\0' || v > 0xFF)
		return false;
	t->freeze_ins = (uint8_t)v;
	t->freeze_ins_set = true;
	return true;
}

bool answer_freezes(answer_timing *t, unsigned long n, uint8_t ins)
{
	if (t->freeze_at != 0 && n == t->freeze_at)
		return true;
	if (t->freeze_ins_set && !t->freeze_ins_done && ins == t->freeze_ins) {
		t->freeze_ins_done = true;
		return true;
	}
	return false;
}

long long answer_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void answer_print_times(unsigned long n, uint8_t ins, long long in_ns)
{
	fprintf(stderr, "sim: apdu %lu ins %02X in %.3f out %.3f\n", n, (unsigned)ins,
	        (double)in_ns / 1e6, (double)answer_now_ns() / 1e6);
}

/* The end a signal asks for, or DONE when none. */
static enum answer_wait by_signal(void)
{
	if (sig_quit)
		return ANSWER_WAIT_QUIT;
	if (sig_leave)
		return ANSWER_WAIT_LEAVE;
	return ANSWER_WAIT_DONE;
}

enum answer_wait answer_frozen(int fd)
{
	struct pollfd pfd[2] = {{.fd = wake_pipe[0], .events = POLLIN},
	                        {.fd = fd, .events = POLLIN}};

	fprintf(stderr, "sim: frozen: no answer until SIGUSR2\n");
	sig_back = 0;
	for (;;) {
		enum answer_wait w = by_signal();
		if (w != ANSWER_WAIT_DONE)
			return w;
		if (sig_back) {
			sig_back = 0;
			fprintf(stderr, "sim: thawed: answering\n");
			return ANSWER_WAIT_DONE;
		}
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return ANSWER_WAIT_ERROR;
		}
		if (pfd[0].revents)
			sim_signals_drain();
		if (pfd[1].revents) {
			/* vpcd sends nothing while it waits for our answer: a
			 * readable socket is a closed one, or a peer we no
			 * longer need to listen to. */
			char c;
			ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				return ANSWER_WAIT_CLOSED;
			pfd[1].fd = -1;
		}
	}
}

enum answer_wait answer_wait_until(long long deadline_ns)
{
	struct pollfd pfd = {.fd = wake_pipe[0], .events = POLLIN};

	for (;;) {
		enum answer_wait w = by_signal();
		long long left = deadline_ns - answer_now_ns();
		struct timespec ts;

		if (w != ANSWER_WAIT_DONE || left <= 0)
			return w;
		ts.tv_sec = (time_t)(left / 1000000000LL);
		ts.tv_nsec = (long)(left % 1000000000LL);
		if (ppoll(&pfd, 1, &ts, NULL) > 0)
			sim_signals_drain();
	}
}
