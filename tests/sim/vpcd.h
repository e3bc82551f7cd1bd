/* The virtual-card side of vsmartcard's vpcd protocol (readers.md): a TCP
 * client; every message either way is a 2-byte big-endian length and the
 * payload. One-byte messages from vpcd are controls, longer ones are
 * command APDUs. */
#ifndef KZ_SIM_VPCD_H
#define KZ_SIM_VPCD_H

#include <stddef.h>
#include <stdint.h>

#define VPCD_DEFAULT_PORT 35963
#define VPCD_MSG_MAX      0xFFFF

enum vpcd_ctrl {
	VPCD_CTRL_OFF = 0x00,
	VPCD_CTRL_ON = 0x01,
	VPCD_CTRL_RESET = 0x02,
	VPCD_CTRL_ATR = 0x04,
};

/* One connection attempt; returns the socket or -1 with errno set. */
int vpcd_connect(const char *host, unsigned short port);

/* Reads one message into buf (cap >= VPCD_MSG_MAX). Returns 1 with *len
 * set, 0 when vpcd closed the connection, -1 on error. */
int vpcd_recv(int fd, uint8_t *buf, size_t cap, size_t *len);

/* Sends one message; returns 0 or -1. */
int vpcd_send(int fd, const uint8_t *buf, size_t len);

#endif
