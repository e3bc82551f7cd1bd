/* Readers: how a phone is reached. One interface, several back ends
 * (pcsc.c for pcsc-lite, nfc.c for libnfc, and in test builds an
 * in-process simulated phone). The layers above see readers by name,
 * their presence state, and a link that carries APDUs. */
#ifndef KZ_READER_READER_H
#define KZ_READER_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define KZ_READER_NAME_MAX 128

/* What a back end knows of one reader without talking to the card. */
typedef struct kz_reader_state {
	char name[KZ_READER_NAME_MAX]; /* unique, stable across re-plugs */
	bool card_present;
	/* Changes on every insertion or removal, so that a quick remove and
	 * re-insert between two looks is still seen as a new tap. */
	unsigned long event_count;
} kz_reader_state;

/* What carries APDUs to the card in one reader: all the JPKI layer sees. */
typedef struct kz_transport {
	/* Send cmd, receive the response (data + SW) into resp; *resp_len is
	 * the capacity on entry and the length on return. KZ_E_REMOVED when
	 * the card left; never blocks longer than the back end's timeout. */
	kz_err (*transmit)(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
	                   size_t *resp_len);
	void *ctx;
	/* What the link can carry at all (libnfc: short APDUs, 262/258 bytes). */
	size_t max_cmd;
	size_t max_resp;
	bool extended_ok;
	/* Other applications may send APDUs between our transactions (PC/SC
	 * shared access): what we believe is selected may no longer be. */
	bool shared;
	/* Another program had the card connected when we connected (PC/SC's
	 * SCARD_STATE_INUSE): it may have the JPKI application selected and
	 * a PIN verified, which selecting the application would undo. */
	bool in_use;
	const char *name; /* reader name, for logs */
} kz_transport;

typedef struct kz_backend_ops kz_backend_ops;

/* Each back end embeds these as the first member of its own structures. */
typedef struct kz_backend {
	const kz_backend_ops *ops;
} kz_backend;

typedef struct kz_link {
	const kz_backend_ops *ops;
	kz_transport transport; /* what the JPKI layer uses */
} kz_link;

struct kz_backend_ops {
	const char *name; /* "pcsc", "nfc", "sim" */
	/* Open the back end; options are its part of the configuration (may be
	 * NULL). Succeeds with no service running: readers are then none. */
	kz_err (*open)(const char *options, kz_backend **out);
	void (*close)(kz_backend *b);
	/* Current readers and their states, at most cap. */
	kz_err (*list)(kz_backend *b, kz_reader_state *out, size_t cap, size_t *count);
	/* Block until the reader list or any state differs from known[0..n),
	 * or timeout_ms passes (KZ_E_TIMEOUT), or cancel() (KZ_E_CANCELLED). */
	kz_err (*wait)(kz_backend *b, const kz_reader_state *known, size_t n, unsigned timeout_ms);
	/* Wake every waiter of b; thread-safe, callable from any thread. */
	void (*cancel)(kz_backend *b);
	/* Connect to the card in the named reader. KZ_E_NO_CARD if none. */
	kz_err (*connect)(kz_backend *b, const char *reader, kz_link **out);
	/* Hold the card for a sequence of APDUs (PC/SC transaction). A false
	 * *reset means nobody else reset the card since the last hold. */
	kz_err (*begin)(kz_link *l, bool *reset);
	void (*end)(kz_link *l);
	/* Cheap check, no APDU: is the card of this link still there? */
	bool (*present)(kz_link *l);
	void (*disconnect)(kz_link *l);
};

extern const kz_backend_ops kz_pcsc_backend;
extern const kz_backend_ops kz_nfc_backend;

#endif
