/* kazashi-phone-sim: the JPKI application of a My Number card or a phone,
 * as a state machine that answers command APDUs. Used in-process by unit
 * tests and benchmarks, and behind pcscd through vpcd by kazashi-phone-sim.
 */
#ifndef KZ_SIM_PHONE_H
#define KZ_SIM_PHONE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>

typedef enum sim_persona {
	SIM_PERSONA_CARD,    /* JPKIAPICCTOKEN2, auth certificate readable freely */
	SIM_PERSONA_ANDROID, /* JPKIAPGPSETOKEN, auth certificate after auth PIN */
	SIM_PERSONA_IPHONE,  /* JPKIAPIOSTOKEN, behaves as android */
} sim_persona;

typedef struct sim_config {
	sim_persona persona;
	/* Directory holding the test PKI made by tests/sim/make-pki.sh:
	 * auth.der auth.key.pem authca.der sign.der sign.key.pem signca.der */
	const char *pki_dir;
	const char *auth_pin; /* default "1234" */
	const char *sign_pin; /* default "ABC123" */
	/* Tries left at start: 0 = the default (3 / 5), a negative value = the
	 * PIN is blocked from the start, more than the maximum = the maximum. */
	int auth_tries; /* tries left at start, default 3 (max 3) */
	int sign_tries; /* default 5 (max 5) */
	/* Leave the field instead of answering APDU number n (1-based,
	 * counted over the whole life of the phone); 0 = never. */
	unsigned long leave_at_apdu;
	/* Extended-length APDUs: accepted when true, else 6700. */
	bool accept_extended;
	/* APDU log: one JSON object a line, PIN bytes redacted; NULL = none. */
	FILE *log;
	/* Link model bit rate for the log's cost fields: 106, 212, 424, 848;
	 * 0 (or anything else) = 106. */
	unsigned kbps;
	/* Size of the certificate EFs: 0 = exactly the DER certificate; more =
	 * the certificate followed by zero bytes up to this size (at most
	 * 32767), as on a card whose EF is larger than what it holds. */
	size_t cert_ef_size;
} sim_config;

typedef struct sim_phone sim_phone;

/* Returns NULL (and prints why to stderr) when the PKI cannot be loaded. */
sim_phone *sim_phone_new(const sim_config *cfg);
void sim_phone_free(sim_phone *p);

/* Power-on / new tap: security state and selection reset, tries kept. A
 * phone that has left the field (leave_at_apdu or sim_phone_leave) is back
 * in it; leave_at_apdu does not fire again since the count goes on. */
void sim_phone_reset(sim_phone *p);

/* Leave the field now: every transmit fails until sim_phone_reset. */
void sim_phone_leave(sim_phone *p);
bool sim_phone_present(const sim_phone *p);

/* Answer one command APDU. Returns true with the response (data + SW1 SW2)
 * in resp/resp_len, or false when the phone has left the field (fault
 * injection) and gives no answer. resp must hold 65538 bytes
 * (SIM_RESP_MAX). */
#define SIM_RESP_MAX 65538
bool sim_phone_transmit(sim_phone *p, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                        size_t *resp_len);

/* Number of APDUs answered (or refused by leaving) so far. */
unsigned long sim_phone_apdu_count(const sim_phone *p);
int sim_phone_tries_left(const sim_phone *p, bool sign_pin);

/* Totals charged to the link model since creation (or the last reset of
 * the counters): for benchmarks. */
typedef struct sim_totals {
	unsigned long apdus;
	unsigned long bytes_to_card;   /* command APDU bytes */
	unsigned long bytes_from_card; /* response APDU bytes, SW included */
	double air_ms;
	double card_ms;
} sim_totals;
void sim_phone_totals(const sim_phone *p, sim_totals *out);
void sim_phone_clear_totals(sim_phone *p);

#endif
