/* What the simulator programs (kazashi-phone-sim, kazashi-pn532-sim) do
 * with signals: SIGUSR1 (leave the field now), SIGUSR2 (come back now) and
 * SIGTERM/SIGINT/SIGHUP (exit) set flags and write to a self-pipe that
 * wakes poll(); SIGPIPE is ignored. */
#ifndef KAZASHI_SIM_SIGNALS_H
#define KAZASHI_SIM_SIGNALS_H

#include <signal.h>

extern volatile sig_atomic_t sig_leave, sig_back, sig_quit;
/* Poll wake_pipe[0] for POLLIN next to what a program waits on. */
extern int wake_pipe[2];

/* Installs the handlers and makes the pipe; -1 with errno on failure. */
int sim_signals_setup(void);
/* Empties the pipe once poll() said it holds something. */
void sim_signals_drain(void);
/* CLOCK_MONOTONIC in milliseconds. */
long long sim_now_ms(void);

#endif
