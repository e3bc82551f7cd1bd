/* The emulated PN532: frames and commands as NXP's PN532 user manual (UM0701)
 * describes them, limited to what libnfc 1.8's pn532_uart driver sends to
 * open a device, poll for ISO/IEC 14443 Type B, exchange APDUs, check
 * presence and close. Written from the manual and from watching libnfc talk
 * to it (LIBNFC_LOG_LEVEL=3), not from any other emulator.
 *
 * Two state machines meet here: the chip's (is the RF field on, does it
 * hold an activated target) and the phone's, as ISO/IEC 14443-3 Type B has
 * it: away, IDLE (in the field, answers a poll), ACTIVE (selected by
 * ATTRIB, speaks ISO-DEP), HALT (deselected: answers the next poll only
 * after a wake-up, which the chip's poll is taken to send). A phone that
 * leaves and comes back is IDLE again while the chip still believes in its
 * old target: exchanges then time out, as they would on the air. */
#include "config.h"

#include "pn532.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linkmodel.h"

#define TFI_HOST 0xD4
#define TFI_CHIP 0xD5

/* Commands (UM0701 section 7) and the statuses sent back (section 7.1). */
enum {
	CMD_DIAGNOSE = 0x00,
	CMD_GET_FIRMWARE = 0x02,
	CMD_GET_STATUS = 0x04,
	CMD_READ_REGISTER = 0x06,
	CMD_WRITE_REGISTER = 0x08,
	CMD_READ_GPIO = 0x0C,
	CMD_SET_PARAMETERS = 0x12,
	CMD_SAM_CONFIGURATION = 0x14,
	CMD_POWER_DOWN = 0x16,
	CMD_RF_CONFIGURATION = 0x32,
	CMD_IN_DATA_EXCHANGE = 0x40,
	CMD_IN_COMMUNICATE_THRU = 0x42,
	CMD_IN_DESELECT = 0x44,
	CMD_IN_LIST_PASSIVE = 0x4A,
	CMD_IN_RELEASE = 0x52,
	CMD_IN_SELECT = 0x54,
	CMD_IN_AUTO_POLL = 0x60,
};
#define ST_OK          0x00
#define ST_TIMEOUT     0x01 /* the target did not answer */
#define ST_NOT_CONTEXT 0x27 /* command not acceptable now (no such target) */
#define ST_MORE        0x40 /* more information: the rest follows */

#define DIAG_ECHO     0x00 /* communication line test */
#define DIAG_PRESENCE 0x06 /* attention request / ISO-DEP presence test */
#define RF_ITEM_FIELD 0x01
#define BRTY_106B     0x03 /* InListPassiveTarget: 106 kbit/s Type B */

/* A frame's TFI and data: LEN is one byte in a normal frame (up to 255),
 * two in an extended one. The chip's buffer takes 264 data bytes; libnfc
 * 1.8 cannot take more than 264 either (status byte included). */
#define FRAME_DATA_MAX 265
/* Response APDU bytes one InDataExchange answer carries at most: 264 data
 * bytes less the command code and the status byte. */
#define EXCHANGE_CHUNK_MAX 262
#define IN_BUF             1024
#define OUT_BUF            (FRAME_DATA_MAX + 16)
#define ANSWER_ERROR       ((size_t)-1)   /* handler: send the error frame */
#define NEED_MORE          ((size_t)-1)   /* parser: frame incomplete */
#define NO_ANSWER          ((size_t)-2)   /* handler: ACK only, the card is silent */
#define UART_MS_PER_BYTE   (10.0 / 115.2) /* 115200 baud, 10 bits a byte */

enum phone_state { PHONE_AWAY, PHONE_IDLE, PHONE_ACTIVE, PHONE_HALT };

struct pn532_emu {
	sim_phone *sim;
	pn532_options opt;
	pn532_write_fn write;
	void *ctx;

	uint8_t in[IN_BUF];
	size_t in_len;
	uint8_t last[OUT_BUF]; /* last answer frame, sent again on a NACK */
	size_t last_len;

	bool field;     /* RF field on */
	bool tg_active; /* the chip holds an activated target, Tg 1 */
	enum phone_state phone;
	bool frozen; /* the card is silent: see pn532_frozen */
	unsigned long activations;

	uint8_t *resp; /* the phone's last answer, for MI chaining */
	size_t resp_len, resp_off;

	uint8_t regs[0x10000]; /* ReadRegister gives back what was written */
};

/* ATQB: 50, PUPI, application data, protocol info (bit rates: 106 only;
 * max frame 256 bytes, ISO/IEC 14443-4 compliant; FWI 8, no NAD or CID). */
static const uint8_t atqb[12] = {0x50, 0x4A, 0x50, 0x4B, 0x49, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x81, 0x80};

static void sleep_ms(double ms)
{
	struct timespec t;

	if (ms <= 0)
		return;
	t.tv_sec = (time_t)(ms / 1000);
	t.tv_nsec = (long)((ms - (double)t.tv_sec * 1000) * 1e6);
	while (nanosleep(&t, &t) != 0 && errno == EINTR) {
	}
}

static void trace(const pn532_emu *e, const char *dir, const uint8_t *b, size_t n)
{
	if (e->opt.trace == NULL)
		return;
	fputs(dir, e->opt.trace);
	for (size_t i = 0; i < n; i++)
		fprintf(e->opt.trace, " %02X", b[i]);
	fputc('\n', e->opt.trace);
	fflush(e->opt.trace);
}

static void send_raw(pn532_emu *e, const uint8_t *b, size_t n)
{
	trace(e, "<", b, n);
	if (e->opt.pace)
		sleep_ms((double)n * UART_MS_PER_BYTE);
	e->write(e->ctx, b, n);
}

static void send_ack(pn532_emu *e)
{
	static const uint8_t ack[] = {0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00};

	send_raw(e, ack, sizeof(ack));
}

/* The application-level error frame: the chip's answer to a command it does
 * not know or cannot parse. */
static void send_error(pn532_emu *e)
{
	static const uint8_t err[] = {0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00};

	memcpy(e->last, err, sizeof(err));
	e->last_len = sizeof(err);
	send_raw(e, err, sizeof(err));
}

/* One answer frame: code, then n data bytes. Exactly one 00 preamble byte:
 * libnfc reads the first five bytes as preamble, start code, LEN, LCS. */
static void send_answer(pn532_emu *e, uint8_t code, const uint8_t *data, size_t n)
{
	uint8_t *f = e->last;
	size_t len = n + 2, i = 0; /* TFI, code, data */
	uint8_t sum = TFI_CHIP + code;

	f[i++] = 0x00;
	f[i++] = 0x00;
	f[i++] = 0xFF;
	if (len <= 0xFF) {
		f[i++] = (uint8_t)len;
		f[i++] = (uint8_t)(0x100 - len);
	} else {
		f[i++] = 0xFF;
		f[i++] = 0xFF;
		f[i++] = (uint8_t)(len >> 8);
		f[i++] = (uint8_t)len;
		f[i++] = (uint8_t)(0x100 - ((len >> 8) + (len & 0xFF)));
	}
	f[i++] = TFI_CHIP;
	f[i++] = code;
	for (size_t k = 0; k < n; k++) {
		f[i++] = data[k];
		sum = (uint8_t)(sum + data[k]);
	}
	f[i++] = (uint8_t)(0x100 - sum);
	f[i++] = 0x00;
	e->last_len = i;
	send_raw(e, f, i);
}

/* ---- the field and the phone --------------------------------------------- */

/* The chip forgets its target; a phone that was selected is deselected. */
static void release_target(pn532_emu *e)
{
	if (e->tg_active && e->phone == PHONE_ACTIVE)
		e->phone = PHONE_HALT;
	e->tg_active = false;
	e->resp_len = e->resp_off = 0;
}

/* Field off: a phone in it loses power and starts over from IDLE. */
static void field_off(pn532_emu *e)
{
	e->field = false;
	e->tg_active = false;
	e->resp_len = e->resp_off = 0;
	if (e->phone != PHONE_AWAY)
		e->phone = PHONE_IDLE;
}

void pn532_phone_arrive(pn532_emu *e)
{
	if (e->phone != PHONE_AWAY)
		return;
	/* A new tap: whatever the phone had selected or verified is gone. */
	sim_phone_reset(e->sim);
	e->phone = PHONE_IDLE;
	e->frozen = false;
}

void pn532_phone_leave(pn532_emu *e)
{
	sim_phone_leave(e->sim);
	e->phone = PHONE_AWAY;
	e->frozen = false;
}

bool pn532_phone_in_field(const pn532_emu *e)
{
	return e->phone != PHONE_AWAY;
}

bool pn532_frozen(const pn532_emu *e)
{
	return e->frozen;
}

void pn532_thaw(pn532_emu *e)
{
	e->frozen = false;
	/* The frozen APDU never reached the phone, so its count did not move:
	 * without this, --freeze-at would freeze the next one again. */
	e->opt.freeze.freeze_at = 0;
}

unsigned long pn532_activations(const pn532_emu *e)
{
	return e->activations;
}

/* ---- commands --------------------------------------------------------------
 * Each handler gets the command code and its parameters (cmd[0] is the code)
 * and writes the answer's data (after the answer code) to out; it returns
 * the data's length, or ANSWER_ERROR for the error frame. */

static size_t do_diagnose(pn532_emu *e, const uint8_t *cmd, size_t n, uint8_t *out)
{
	if (n < 2)
		return ANSWER_ERROR;
	switch (cmd[1]) {
	case DIAG_ECHO:
		/* libnfc checks the line with "libnfc" and wants it back. */
		memcpy(out, cmd + 1, n - 1);
		return n - 1;
	case DIAG_PRESENCE:
		/* Is the selected target still there? The chip asks it with an
		 * ISO-DEP R(NAK) (it answers R(ACK)), which changes nothing of
		 * the phone's state. */
		out[0] = e->tg_active && e->phone == PHONE_ACTIVE ? ST_OK : ST_TIMEOUT;
		return 1;
	default:
		out[0] = ST_OK;
		return 1;
	}
}

static size_t do_get_status(pn532_emu *e, uint8_t *out)
{
	size_t i = 0;

	out[i++] = 0x00; /* last error */
	out[i++] = e->field ? 1 : 0;
	out[i++] = e->tg_active ? 1 : 0;
	if (e->tg_active) {
		out[i++] = 0x01;      /* Tg */
		out[i++] = 0x00;      /* BrRx: 106 kbit/s */
		out[i++] = 0x00;      /* BrTx */
		out[i++] = BRTY_106B; /* modulation */
	}
	out[i++] = 0x00; /* SAM status */
	return i;
}

static size_t do_read_register(pn532_emu *e, const uint8_t *cmd, size_t n, uint8_t *out)
{
	size_t k = 0;

	if (n < 3 || (n - 1) % 2 != 0)
		return ANSWER_ERROR;
	for (size_t i = 1; i + 1 < n; i += 2)
		out[k++] = e->regs[(size_t)cmd[i] << 8 | cmd[i + 1]];
	return k;
}

static size_t do_write_register(pn532_emu *e, const uint8_t *cmd, size_t n)
{
	if (n < 4 || (n - 1) % 3 != 0)
		return ANSWER_ERROR;
	for (size_t i = 1; i + 2 < n; i += 3)
		e->regs[(size_t)cmd[i] << 8 | cmd[i + 1]] = cmd[i + 2];
	return 0;
}

static size_t do_rf_configuration(pn532_emu *e, const uint8_t *cmd, size_t n)
{
	if (n < 2)
		return ANSWER_ERROR;
	if (cmd[1] == RF_ITEM_FIELD && n >= 3) {
		if (cmd[2] & 0x01)
			e->field = true;
		else
			field_off(e);
	}
	return 0;
}

/* InListPassiveTarget: one Type B target at 106 kbit/s is all this chip
 * finds. The phone answers the poll when it is in the field and not
 * already selected (an ACTIVE phone ignores REQB/WUPB); the chip then sends
 * ATTRIB itself and the phone is ACTIVE. A new activation is a new session
 * for the phone's application: its security state starts over. */
static size_t do_list_passive(pn532_emu *e, const uint8_t *cmd, size_t n, uint8_t *out)
{
	size_t i = 0;

	if (n < 3)
		return ANSWER_ERROR;
	e->field = true;
	e->tg_active = false;
	e->resp_len = e->resp_off = 0;
	if (cmd[1] < 1 || cmd[2] != BRTY_106B ||
	    (e->phone != PHONE_IDLE && e->phone != PHONE_HALT)) {
		out[0] = 0; /* no target */
		return 1;
	}
	sim_phone_reset(e->sim);
	e->phone = PHONE_ACTIVE;
	e->tg_active = true;
	e->activations++;
	out[i++] = 1; /* NbTg */
	out[i++] = 1; /* Tg */
	memcpy(out + i, atqb, sizeof(atqb));
	i += sizeof(atqb);
	out[i++] = 1;    /* ATTRIB_RES length */
	out[i++] = 0x00; /* MBLI 0, CID 0 */
	return i;
}

/* The next piece of the phone's answer: status (with the MI bit when more
 * follows) and at most one chunk of response bytes. */
static size_t next_chunk(pn532_emu *e, uint8_t *out)
{
	size_t chunk = EXCHANGE_CHUNK_MAX, left = e->resp_len - e->resp_off;

	if (e->opt.chain_at != 0 && e->opt.chain_at < chunk)
		chunk = e->opt.chain_at;
	if (left > chunk) {
		out[0] = ST_MORE;
		memcpy(out + 1, e->resp + e->resp_off, chunk);
		e->resp_off += chunk;
		return chunk + 1;
	}
	out[0] = ST_OK;
	memcpy(out + 1, e->resp + e->resp_off, left);
	e->resp_len = e->resp_off = 0;
	return left + 1;
}

static void pace_exchange(const pn532_emu *e, const uint8_t *apdu, size_t n, size_t resp_len)
{
	if (!e->opt.pace)
		return;
	sleep_ms(link_direction_ms(n, e->opt.kbps) + link_card_ms(n >= 2 ? apdu[1] : 0) +
	         link_direction_ms(resp_len, e->opt.kbps));
}

/* InDataExchange: Tg, then the APDU; the chip does the ISO-DEP blocks,
 * chaining and waiting-time extensions itself. `40 01` alone while a
 * chained answer is pending fetches its next piece. Status 0x80 (NAD) is
 * never sent: libnfc 1.8 abort()s on it. */
static size_t do_data_exchange(pn532_emu *e, const uint8_t *cmd, size_t n, uint8_t *out)
{
	size_t len = 0;

	if (n < 2)
		return ANSWER_ERROR;
	if (n == 2 && e->resp_off != 0 && e->resp_off < e->resp_len)
		return next_chunk(e, out);
	e->resp_len = e->resp_off = 0;
	if (cmd[1] != 1 || !e->tg_active) {
		out[0] = ST_NOT_CONTEXT;
		return 1;
	}
	if (e->phone != PHONE_ACTIVE) {
		/* Gone, or back but not selected: nobody answers the I-block. */
		out[0] = ST_TIMEOUT;
		return 1;
	}
	if (e->frozen ||
	    answer_freezes(&e->opt.freeze, sim_phone_apdu_count(e->sim) + 1, n >= 4 ? cmd[3] : 0)) {
		e->frozen = true;
		return NO_ANSWER;
	}
	if (!sim_phone_transmit(e->sim, cmd + 2, n - 2, e->resp, &len)) {
		/* Fault injection: the phone left instead of answering. */
		e->phone = PHONE_AWAY;
		out[0] = ST_TIMEOUT;
		return 1;
	}
	pace_exchange(e, cmd + 2, n - 2, len);
	e->resp_len = len;
	e->resp_off = 0;
	return next_chunk(e, out);
}

/* InCommunicateThru: raw frames, past the chip's own ISO-DEP. libnfc 1.8
 * sends one thing this way: its presence check of a Type B target on a
 * PN532 (nfc_initiator_target_is_present), an R(NAK) block with CID 1,
 * `BA 01`; any answer means present. An ISO-DEP card answers an R(NAK)
 * with an R(ACK) (or its last block again) and its state does not move,
 * so the check disturbs nothing. Anything else gets no answer. */
static size_t do_communicate_thru(pn532_emu *e, const uint8_t *cmd, size_t n, uint8_t *out)
{
	bool r_nak = n >= 2 && (cmd[1] & 0xF6) == 0xB2; /* R-block, NAK, any CID/bn */

	if (e->frozen && e->phone == PHONE_ACTIVE)
		return NO_ANSWER; /* a silent card ignores the presence check too */
	if (!r_nak || !e->tg_active || e->phone != PHONE_ACTIVE) {
		out[0] = ST_TIMEOUT;
		return 1;
	}
	out[0] = ST_OK;
	out[1] = (uint8_t)(0xA2 | (cmd[1] & 0x09)); /* R(ACK), same CID bit, bn */
	if ((cmd[1] & 0x08) && n >= 3) {
		out[2] = cmd[2]; /* the CID */
		return 3;
	}
	return 2;
}

static size_t do_release(pn532_emu *e, uint8_t *out)
{
	release_target(e);
	out[0] = ST_OK;
	return 1;
}

static size_t answer(pn532_emu *e, const uint8_t *cmd, size_t n, uint8_t *out)
{
	switch (cmd[0]) {
	case CMD_DIAGNOSE:
		return do_diagnose(e, cmd, n, out);
	case CMD_GET_FIRMWARE:
		/* IC 0x32 (PN532), firmware 1.6, support: ISO 14443 A and B,
		 * ISO 18092. libnfc needs the B bit to poll Type B at all. */
		memcpy(out, "\x32\x01\x06\x07", 4);
		return 4;
	case CMD_GET_STATUS:
		return do_get_status(e, out);
	case CMD_READ_REGISTER:
		return do_read_register(e, cmd, n, out);
	case CMD_WRITE_REGISTER:
		return do_write_register(e, cmd, n);
	case CMD_READ_GPIO:
		memcpy(out, "\xFF\xFF\x00", 3);
		return 3;
	case CMD_SET_PARAMETERS:
	case CMD_SAM_CONFIGURATION:
		return 0;
	case CMD_POWER_DOWN:
		field_off(e);
		out[0] = ST_OK;
		return 1;
	case CMD_RF_CONFIGURATION:
		return do_rf_configuration(e, cmd, n);
	case CMD_IN_DATA_EXCHANGE:
		return do_data_exchange(e, cmd, n, out);
	case CMD_IN_COMMUNICATE_THRU:
		return do_communicate_thru(e, cmd, n, out);
	case CMD_IN_DESELECT:
	case CMD_IN_RELEASE:
		return do_release(e, out);
	case CMD_IN_SELECT:
		out[0] = e->tg_active ? ST_OK : ST_NOT_CONTEXT;
		return 1;
	case CMD_IN_LIST_PASSIVE:
		return do_list_passive(e, cmd, n, out);
	case CMD_IN_AUTO_POLL:
		out[0] = 0; /* nothing found */
		return 1;
	default:
		return ANSWER_ERROR;
	}
}

/* One host frame's data: TFI, command code, parameters. */
static void dispatch(pn532_emu *e, const uint8_t *data, size_t n)
{
	uint8_t out[OUT_BUF];
	size_t len;

	if (n < 2 || data[0] != TFI_HOST)
		return; /* not for us: a real chip stays silent too */
	if (e->opt.pace)
		sleep_ms((double)(n + 7) * UART_MS_PER_BYTE);
	send_ack(e);
	len = answer(e, data + 1, n - 1, out);
	if (len == NO_ANSWER)
		return; /* the host's timeout ends it; its next frame is a new command */
	if (len == ANSWER_ERROR)
		send_error(e);
	else
		send_answer(e, (uint8_t)(data[1] + 1), out, len);
}

/* ---- frames ----------------------------------------------------------------
 * 00 00 FF LEN LCS TFI data DCS 00, or 00 00 FF FF FF LENm LENl LCS ...
 * for extended frames; ACK 00 00 FF 00 FF 00, NACK 00 00 FF FF 00 00.
 * The host may send any junk before a frame (libnfc wakes the chip up with
 * 55 55 00 00 ...): everything up to the start code 00 FF is skipped. */

/* Parse the frame whose LEN is at in[i] (just after a start code). Returns
 * the bytes it used from i, NEED_MORE when incomplete, 0 when it is no
 * frame after all (the start code alone is skipped then). */
static size_t frame_at(pn532_emu *e, size_t i)
{
	const uint8_t *b = e->in + i;
	size_t have = e->in_len - i, hdr = 2, len;
	uint8_t sum = 0;

	if (have < 2)
		return NEED_MORE;
	if (b[0] == 0x00 && b[1] == 0xFF)
		return 2; /* ACK from the host: aborts a command; none is running */
	if (b[0] == 0xFF && b[1] == 0x00) {
		trace(e, "> NACK", NULL, 0);
		send_raw(e, e->last, e->last_len);
		return 2;
	}
	if (b[0] == 0xFF && b[1] == 0xFF) {
		if (have < 5)
			return NEED_MORE;
		if ((uint8_t)(b[2] + b[3] + b[4]) != 0)
			return 0;
		len = (size_t)b[2] << 8 | b[3];
		hdr = 5;
	} else {
		if ((uint8_t)(b[0] + b[1]) != 0)
			return 0;
		len = b[0];
	}
	if (len == 0 || len > FRAME_DATA_MAX)
		return 0;
	if (have < hdr + len + 1)
		return NEED_MORE;
	for (size_t k = 0; k <= len; k++)
		sum = (uint8_t)(sum + b[hdr + k]);
	trace(e, ">", b + hdr, len);
	if (sum != 0)
		trace(e, "> (bad checksum, ignored)", NULL, 0);
	else
		dispatch(e, b + hdr, len);
	return hdr + len + 1;
}

static void parse(pn532_emu *e)
{
	size_t pos = 0;

	for (;;) {
		size_t s = pos, used;

		while (s + 1 < e->in_len && !(e->in[s] == 0x00 && e->in[s + 1] == 0xFF))
			s++;
		if (s + 1 >= e->in_len) {
			pos = s; /* keep a last 00: it may start the next frame */
			break;
		}
		used = frame_at(e, s + 2);
		if (used == NEED_MORE) {
			pos = s;
			break;
		}
		pos = s + 2 + used;
	}
	memmove(e->in, e->in + pos, e->in_len - pos);
	e->in_len -= pos;
}

void pn532_feed(pn532_emu *e, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		size_t take = sizeof(e->in) - e->in_len;

		if (take > len)
			take = len;
		memcpy(e->in + e->in_len, buf, take);
		e->in_len += take;
		buf += take;
		len -= take;
		parse(e);
		if (e->in_len == sizeof(e->in))
			e->in_len = 0; /* a full buffer with no frame: junk */
	}
}

pn532_emu *pn532_new(sim_phone *phone, const pn532_options *opt, pn532_write_fn write, void *ctx)
{
	pn532_emu *e;

	if (phone == NULL || write == NULL)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->resp = malloc(SIM_RESP_MAX);
	if (e->resp == NULL) {
		free(e);
		return NULL;
	}
	if (opt != NULL)
		e->opt = *opt;
	e->sim = phone;
	e->write = write;
	e->ctx = ctx;
	e->phone = PHONE_AWAY;
	sim_phone_leave(phone);
	return e;
}

void pn532_free(pn532_emu *e)
{
	if (e == NULL)
		return;
	free(e->resp);
	free(e);
}
