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

#include "answer-timing.h"
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
	/* --freeze-at, --freeze-ins (answer-timing.h): the phone stays in the
	 * field but its card goes silent at that APDU. The chip ACKs each
	 * InDataExchange and InCommunicateThru and never answers it, so that
	 * the host's own timeout is what ends the exchange. Only freeze_at,
	 * freeze_ins and freeze_ins_set are read. */
	answer_timing freeze;
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

/* The card went silent (see pn532_options.freeze) and stays so until
 * pn532_thaw, or until the phone leaves. The APDU it froze on is lost, as
 * an I-block nobody received: a thawed card answers the next one. */
bool pn532_frozen(const pn532_emu *e);
void pn532_thaw(pn532_emu *e);

/* Number of times the phone was activated (selected by a poll). */
unsigned long pn532_activations(const pn532_emu *e);

#endif
