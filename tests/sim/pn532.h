/* An emulated NXP PN532 in front of the simulated phone: the host side of
 * its UART protocol (frames, ACKs, the commands libnfc 1.8 sends), and the
 * ISO/IEC 14443 Type B life of one phone in its field. No I/O here: bytes
 * from the host go in through pn532_feed, the chip's answers come out
 * through the write callback, so that the protocol can be driven by a
 * pseudo-terminal (kazashi-pn532-sim) or by a unit test alike. */
#ifndef KZ_SIM_PN532_H
#define KZ_SIM_PN532_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "phone.h"

typedef struct pn532_emu pn532_emu;

/* Bytes the chip sends to the host. */
typedef void (*pn532_write_fn)(void *ctx, const uint8_t *buf, size_t len);

typedef struct pn532_options {
	/* InDataExchange answers longer than this many response bytes go out
	 * in pieces, each but the last with the status byte's "more
	 * information" bit (0x40); libnfc fetches the rest with `40 01`.
	 * 0 = never: one (extended) frame carries any answer up to 261 bytes. */
	size_t chain_at;
	/* Sleep what the link model charges for each APDU (air + card time)
	 * and the UART's 115200 baud before answering, so that wall time
	 * means something. Off for tests. */
	bool pace;
	unsigned kbps; /* the link model's bit rate for pacing; 0 = 106 */
	FILE *trace;   /* every frame both ways in hex; NULL = none */
} pn532_options;

/* The phone is out of the field until pn532_phone_arrive. */
pn532_emu *pn532_new(sim_phone *phone, const pn532_options *opt, pn532_write_fn write, void *ctx);
void pn532_free(pn532_emu *e);

/* Bytes from the host, in any pieces: every complete frame among them is
 * answered (ACK, then the response) before this returns. */
void pn532_feed(pn532_emu *e, const uint8_t *buf, size_t len);

/* The phone enters the field (a new tap: its security state starts over)
 * or leaves it. A phone that leaves by itself (sim_config.leave_at_apdu)
 * is out of the field from that APDU on: see pn532_phone_in_field. */
void pn532_phone_arrive(pn532_emu *e);
void pn532_phone_leave(pn532_emu *e);
bool pn532_phone_in_field(const pn532_emu *e);

/* Number of times the phone was activated (selected by a poll). */
unsigned long pn532_activations(const pn532_emu *e);

#endif
