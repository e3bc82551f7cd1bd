/* Signals as flags plus a self-pipe: see sim-signals.h. */
#include "config.h"

#include "sim-signals.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t sig_leave, sig_back, sig_quit;
int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	char c = 0;

	if (sig == SIGUSR1)
		sig_leave = 1;
	else if (sig == SIGUSR2)
		sig_back = 1;
	else
		sig_quit = 1;
	if (write(wake_pipe[1], &c, 1) < 0) {
		/* pipe full: poll() wakes up anyway */
	}
	errno = saved;
}

int sim_signals_setup(void)
{
	struct sigaction sa;
	const int sigs[] = {SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGHUP};

	if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void sim_signals_drain(void)
{
	char buf[64];

	while (read(wake_pipe[0], buf, sizeof(buf)) > 0) {
	}
}

long long sim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
