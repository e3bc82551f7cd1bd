/* The JPKI application over a kz_transport (see jpki-protocol.md).
 *
 * Two rules shape this file. A phone stays about a second in the field, so
 * every APDU counts: nothing is selected twice, certificates are read in as
 * few commands as the link allows, and nothing past a file's end is asked
 * for. And the other side may be any phone, so nothing it says is trusted:
 * every length is checked against what was asked for and what fits. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "apdu/apdu.h"
#include "jpki/jpki.h"
#include "kazashi/kazashi.h"
#include "util/log.h"

static const uint8_t jpki_aid[] = {0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};

#define INS_VERIFY       0x20
#define INS_CHANGE       0x24
#define INS_SIGN         0x2A
#define INS_SELECT       0xA4
#define INS_READ_BINARY  0xB0
#define INS_GET_RESPONSE 0xC0

/* Certificates are about 1.1-1.3 KB; anything claiming more than this is
 * not a JPKI certificate, and a length from the card must never size an
 * allocation unchecked. */
#define JPKI_CERT_MAX 8192
/* READ BINARY offsets have 15 bits. */
#define JPKI_OFFSET_MAX 0x7FFF
/* Bound on READ BINARY commands for one certificate, in case a card hands
 * out a few bytes at a time: twice what a short read of the largest
 * accepted certificate needs. */
#define JPKI_READS_MAX (2 * (JPKI_CERT_MAX / 256) + 2)
/* A card that keeps answering 61xx could hold the thread while the phone is
 * in the field; after this many GET RESPONSEs the answer is malformed. */
#define JPKI_GET_RESPONSE_MAX 8
/* Command buffer: every JPKI command carries at most 255 bytes of data
 * (sign input at most 245, PINs at most 16) and is sent in short form,
 * except the extended READ BINARY, which carries none. */
#define JPKI_CMD_BUF (KZ_APDU_SHORT_CMD_MAX + 2)

static bool key_ok(jpki_key key)
{
	return key == JPKI_KEY_AUTH || key == JPKI_KEY_SIGN;
}

uint16_t jpki_cert_fid(jpki_key key)
{
	return key == JPKI_KEY_SIGN ? JPKI_EF_SIGN_CERT : JPKI_EF_AUTH_CERT;
}

uint16_t jpki_ca_fid(jpki_key key)
{
	return key == JPKI_KEY_SIGN ? JPKI_EF_SIGN_CA : JPKI_EF_AUTH_CA;
}

uint16_t jpki_key_fid(jpki_key key)
{
	return key == JPKI_KEY_SIGN ? JPKI_EF_SIGN_KEY : JPKI_EF_AUTH_KEY;
}

uint16_t jpki_pin_fid(jpki_key key)
{
	return key == JPKI_KEY_SIGN ? JPKI_EF_SIGN_PIN : JPKI_EF_AUTH_PIN;
}

int jpki_pin_max_tries(jpki_key key)
{
	return key == JPKI_KEY_SIGN ? KAZASHI_SIGN_PIN_TRIES : KAZASHI_AUTH_PIN_TRIES;
}

const char *jpki_model_name(jpki_model m)
{
	switch (m) {
	case JPKI_MODEL_CARD:
		return "My Number card";
	case JPKI_MODEL_OLD_CARD:
		return "Juki card";
	case JPKI_MODEL_ANDROID:
		return "Android";
	case JPKI_MODEL_IPHONE:
		return "iPhone";
	case JPKI_MODEL_UNKNOWN:
		break;
	}
	return "unknown";
}

void jpki_card_init(jpki_card *c, kz_transport *link)
{
	if (c == NULL)
		return;
	memset(c, 0, sizeof *c);
	c->link = link;
	c->selected_fid = -1;
	c->extended = JPKI_EXT_UNKNOWN;
}

/* The extended-length verdict is kept: it is a property of the card and
 * the link, not of the card's security state. */
void jpki_card_forget_file(jpki_card *c)
{
	if (c != NULL)
		c->selected_fid = -1;
}

void jpki_card_forget(jpki_card *c)
{
	if (c == NULL)
		return;
	c->ap_selected = false;
	c->selected_fid = -1;
	for (int k = 0; k < JPKI_KEY_COUNT; k++)
		c->verified[k] = false;
}

/* ---- one exchange ------------------------------------------------------ */

/* Send cmd and receive into resp[0..cap). A transport error means the card
 * may be gone or reset by now: everything known about its state is
 * dropped, and the error goes up unchanged (KZ_E_REMOVED must reach the
 * PKCS#11 layer as it is). */
static kz_err exchange(jpki_card *c, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t cap,
                       size_t *resp_len)
{
	kz_transport *t = c->link;
	size_t room = cap;
	if (t->max_resp != 0 && room > t->max_resp)
		room = t->max_resp;
	size_t n = room;
	c->apdu_count++;
	kz_err err = t->transmit(t->ctx, cmd, cmd_len, resp, &n);
	if (err != KZ_OK) {
		kz_log_apdu(t->name, cmd, cmd_len, NULL, 0);
		KZ_DEBUG("%s: transmit: %s", t->name != NULL ? t->name : "?", kz_err_str(err));
		jpki_card_forget(c);
		return err;
	}
	if (n > room) { /* a back end that wrote past the buffer: stop here */
		jpki_card_forget(c);
		return KZ_E_PROTOCOL;
	}
	kz_log_apdu(t->name, cmd, cmd_len, resp, n);
	*resp_len = n;
	return KZ_OK;
}

/* Encode a and exchange it once. The command buffer may hold a PIN: it is
 * wiped whatever happens. */
static kz_err send_once(jpki_card *c, const kz_apdu *a, uint8_t *resp, size_t cap, size_t *resp_len)
{
	uint8_t cmd[JPKI_CMD_BUF];
	size_t cmd_len = 0;
	kz_err err = kz_apdu_encode(a, cmd, sizeof cmd, &cmd_len);
	if (err == KZ_OK && c->link->max_cmd != 0 && cmd_len > c->link->max_cmd)
		err = KZ_E_DATA_LEN; /* the link cannot carry it */
	if (err == KZ_OK)
		err = exchange(c, cmd, cmd_len, resp, cap, resp_len);
	OPENSSL_cleanse(cmd, sizeof cmd);
	return err;
}

/* send_once, then split the answer into data and status word: one shorter
 * than the status word is malformed. */
static kz_err send_split(jpki_card *c, const kz_apdu *a, uint8_t *resp, size_t cap, kz_rapdu *r)
{
	size_t n = 0;
	kz_err err = send_once(c, a, resp, cap, &n);
	if (err != KZ_OK)
		return err;
	return kz_apdu_split(resp, n, r);
}

/* Ne as a number of bytes: what a response may carry at most. */
static size_t le_of_sw2(uint16_t sw)
{
	return (sw & 0xFF) != 0 ? (sw & 0xFF) : 256;
}

/* 61xx: the card has xx more bytes for us (T=0 style). Fetch them with
 * GET RESPONSE, each answer written just after the data already in resp,
 * so that the data stays contiguous and the last status word ends it. */
static kz_err get_responses(jpki_card *c, size_t ne, uint8_t *resp, size_t cap, kz_rapdu *r)
{
	for (int i = 0; (r->sw & 0xFF00) == 0x6100; i++) {
		if (i == JPKI_GET_RESPONSE_MAX)
			return KZ_E_PROTOCOL;
		size_t got = r->len;
		size_t want = le_of_sw2(r->sw);
		if (got + want > ne || got + want + 2 > cap)
			return KZ_E_PROTOCOL; /* more than was asked for */
		kz_apdu gr = {.cla = 0x00, .ins = INS_GET_RESPONSE, .le = want};
		kz_rapdu part;
		kz_err err = send_split(c, &gr, resp + got, cap - got, &part);
		if (err != KZ_OK)
			return err;
		if (part.len > want)
			return KZ_E_PROTOCOL;
		r->len = got + part.len;
		r->sw = part.sw;
	}
	return KZ_OK;
}

kz_err jpki_transmit(jpki_card *c, const kz_apdu *a, uint8_t *resp, size_t cap, kz_rapdu *out)
{
	if (c == NULL || c->link == NULL || c->link->transmit == NULL || a == NULL ||
	    resp == NULL || cap < 2 || out == NULL)
		return KZ_E_ARGS;
	kz_rapdu r;
	kz_err err = send_split(c, a, resp, cap, &r);
	if (err != KZ_OK)
		return err;
	size_t ne = a->le;

	/* 6Cxx: wrong Le, xx is right. Sent again once, with Le = xx, and
	 * only for a short READ BINARY: reading twice changes nothing on the
	 * card, whereas a second VERIFY could cost a try (or verify a PIN the
	 * user did not mean to give twice) and a second signature costs the
	 * phone's time in the field. Extended reads get the 6Cxx back and
	 * fall back to short ones. */
	if ((r.sw & 0xFF00) == 0x6C00 && a->ins == INS_READ_BINARY && !a->extended && a->le > 0) {
		kz_apdu again = *a;
		again.le = le_of_sw2(r.sw);
		if (again.le > a->le || again.le + 2 > cap)
			return KZ_E_PROTOCOL;
		err = send_split(c, &again, resp, cap, &r);
		if (err != KZ_OK)
			return err;
		ne = again.le;
	}
	if (r.len > ne)
		return KZ_E_PROTOCOL; /* more data than asked for, or any for none */

	/* GET RESPONSE only when data was asked for: a command with no Le has
	 * nothing to fetch, and its 61xx goes up as an unexpected status. */
	if (ne > 0) {
		err = get_responses(c, ne, resp, cap, &r);
		if (err != KZ_OK)
			return err;
	}
	*out = r;
	return KZ_OK;
}

/* ---- selection --------------------------------------------------------- */

/* Send a command that answers no data; *sw gets its status. */
static kz_err send_no_data(jpki_card *c, const kz_apdu *a, uint16_t *sw)
{
	uint8_t resp[KZ_APDU_SHORT_RESP_MAX];
	kz_rapdu r;
	kz_err err = jpki_transmit(c, a, resp, sizeof resp, &r);
	if (err == KZ_OK)
		*sw = r.sw;
	return err;
}

kz_err jpki_select_app(jpki_card *c)
{
	if (c == NULL)
		return KZ_E_ARGS;
	/* Whatever the answer, the card's security state and current file
	 * are no longer what we knew. */
	jpki_card_forget(c);
	kz_apdu a = {.cla = 0x00,
	             .ins = INS_SELECT,
	             .p1 = 0x04,
	             .p2 = 0x0C,
	             .data = jpki_aid,
	             .lc = sizeof jpki_aid};
	uint16_t sw = 0;
	kz_err err = send_no_data(c, &a, &sw);
	if (err != KZ_OK)
		return err;
	if (sw != KZ_SW_OK)
		return kz_sw_to_err(sw);
	c->ap_selected = true;
	return KZ_OK;
}

/* SELECT of an EF of the current DF by its FID, no answer data. */
static kz_err select_child(jpki_card *c, uint16_t fid)
{
	uint8_t id[2] = {(uint8_t)(fid >> 8), (uint8_t)fid};
	kz_apdu a = {.cla = 0x00, .ins = INS_SELECT, .p1 = 0x02, .p2 = 0x0C, .data = id, .lc = 2};
	uint16_t sw = 0;
	kz_err err = send_no_data(c, &a, &sw);
	if (err != KZ_OK)
		return err;
	return sw == KZ_SW_OK ? KZ_OK : kz_sw_to_err(sw);
}

kz_err jpki_resume_app(jpki_card *c)
{
	if (c == NULL)
		return KZ_E_ARGS;
	jpki_card_forget(c);
	/* A SELECT of a child EF answers 9000 only inside the application;
	 * unlike a SELECT of the application, it leaves the card's security
	 * state as another program left it. */
	kz_err err = select_child(c, JPKI_EF_TOKEN_INFO);
	if (err != KZ_OK)
		return err;
	c->ap_selected = true;
	c->selected_fid = JPKI_EF_TOKEN_INFO;
	return KZ_OK;
}

static kz_err ensure_app(jpki_card *c)
{
	return c->ap_selected ? KZ_OK : jpki_select_app(c);
}

/* Select an EF unless it is the current one. */
static kz_err select_ef(jpki_card *c, uint16_t fid)
{
	kz_err err = ensure_app(c);
	if (err != KZ_OK)
		return err;
	if (c->selected_fid == (int)fid)
		return KZ_OK;
	c->selected_fid = -1;
	err = select_child(c, fid);
	if (err != KZ_OK)
		return err;
	c->selected_fid = fid;
	return KZ_OK;
}

/* After a malformed answer the card's current file is in doubt; selecting
 * again is cheap and, unlike re-selecting the AP, keeps verified PINs. */
static kz_err doubt(jpki_card *c, kz_err err)
{
	if (err == KZ_E_PROTOCOL)
		c->selected_fid = -1;
	return err;
}

static kz_err read_binary(jpki_card *c, size_t offset, size_t le, bool extended, uint8_t *resp,
                          size_t cap, kz_rapdu *r)
{
	if (offset > JPKI_OFFSET_MAX)
		return KZ_E_PROTOCOL;
	kz_apdu a = {.cla = 0x00,
	             .ins = INS_READ_BINARY,
	             .p1 = (uint8_t)(offset >> 8),
	             .p2 = (uint8_t)offset,
	             .le = le,
	             .extended = extended};
	return jpki_transmit(c, &a, resp, cap, r);
}

/* ---- token info -------------------------------------------------------- */

static jpki_model model_of(const char *text)
{
	static const struct {
		const char *text;
		jpki_model model;
	} models[] = {
	    {"JPKIAPICCTOKEN2", JPKI_MODEL_CARD},
	    {"JPKIAPICCTOKEN", JPKI_MODEL_OLD_CARD},
	    {"JPKIAPGPSETOKEN", JPKI_MODEL_ANDROID},
	    {"JPKIAPIOSTOKEN", JPKI_MODEL_IPHONE},
	};
	for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
		if (strcmp(text, models[i].text) == 0)
			return models[i].model;
	return JPKI_MODEL_UNKNOWN;
}

/* text = data without trailing spaces and NULs; PROTOCOL unless the rest is
 * printable ASCII, since the text ends up in token labels and logs. */
static kz_err token_text(const uint8_t *data, size_t len, char text[JPKI_TOKEN_INFO_LEN + 1])
{
	while (len > 0 && (data[len - 1] == ' ' || data[len - 1] == '\0'))
		len--;
	for (size_t i = 0; i < len; i++)
		if (data[i] < 0x20 || data[i] > 0x7E)
			return KZ_E_PROTOCOL;
	memcpy(text, data, len);
	text[len] = '\0';
	return KZ_OK;
}

kz_err jpki_read_token_info(jpki_card *c, char text[JPKI_TOKEN_INFO_LEN + 1], jpki_model *model)
{
	if (c == NULL || text == NULL || model == NULL)
		return KZ_E_ARGS;
	text[0] = '\0';
	*model = JPKI_MODEL_UNKNOWN;
	kz_err err = select_ef(c, JPKI_EF_TOKEN_INFO);
	if (err != KZ_OK)
		return err;
	/* Room for any short answer, so that one longer than asked for is
	 * seen here as malformed rather than refused by the reader. */
	uint8_t resp[KZ_APDU_SHORT_RESP_MAX];
	kz_rapdu r;
	err = read_binary(c, 0, JPKI_TOKEN_INFO_LEN, false, resp, sizeof resp, &r);
	if (err != KZ_OK)
		return doubt(c, err);
	if (r.sw != KZ_SW_OK && r.sw != KZ_SW_EOF_WARNING)
		return kz_sw_to_err(r.sw);
	if (r.len == 0)
		return doubt(c, KZ_E_PROTOCOL);
	err = token_text(r.data, r.len, text);
	if (err != KZ_OK)
		return doubt(c, err);
	*model = model_of(text);
	return KZ_OK;
}

/* ---- certificates ------------------------------------------------------ */

/* A certificate being read: total is 0 until the DER header was seen. */
typedef struct cert_read {
	uint8_t *buf;
	size_t got;
	size_t total;
	unsigned reads;
} cert_read;

/* Total DER length from the first bytes of a SEQUENCE: 30 LL, 30 81 LL or
 * 30 82 LL LL. Longer length forms cannot be a JPKI certificate. */
static kz_err der_total(const uint8_t *p, size_t n, size_t *total)
{
	if (n < 2 || p[0] != 0x30)
		return KZ_E_PROTOCOL;
	if (p[1] < 0x80)
		*total = 2 + (size_t)p[1];
	else if (p[1] == 0x81 && n >= 3)
		*total = 3 + (size_t)p[2];
	else if (p[1] == 0x82 && n >= 4)
		*total = 4 + ((size_t)p[2] << 8 | p[3]);
	else
		return KZ_E_PROTOCOL;
	return *total <= JPKI_CERT_MAX ? KZ_OK : KZ_E_PROTOCOL;
}

/* One DER tag and length at p[*off..n): *off moves to the contents. Short
 * and one- or two-byte long lengths only, as in der_total. */
static bool der_header(const uint8_t *p, size_t n, size_t *off, uint8_t *tag, size_t *len)
{
	size_t o = *off;
	if (n < 2 || o > n - 2)
		return false;
	*tag = p[o++];
	size_t l = p[o++];
	if (l & 0x80) {
		size_t k = l & 0x7F;
		if (k == 0 || k > 2 || k > n - o)
			return false;
		for (l = 0; k > 0; k--)
			l = l << 8 | p[o++];
	}
	if (l > n - o)
		return false;
	*off = o;
	*len = l;
	return true;
}

size_t jpki_cert_identity_len(const uint8_t *der, size_t der_len)
{
	if (der == NULL)
		return 0;
	size_t off = 0, len = 0;
	uint8_t tag = 0;
	/* Certificate, then into TBSCertificate. */
	for (int i = 0; i < 2; i++)
		if (!der_header(der, der_len, &off, &tag, &len) || tag != 0x30)
			return 0;
	/* version [0] (optional), serialNumber, signature, issuer: skipped
	 * whole, so that the identity ends with the issuer's last byte. */
	static const uint8_t fields[] = {0xA0, 0x02, 0x30, 0x30};
	for (size_t i = 0; i < sizeof fields; i++) {
		size_t at = off;
		if (!der_header(der, der_len, &off, &tag, &len))
			return 0;
		if (tag != fields[i]) {
			if (i > 0)
				return 0;
			off = at; /* no version: a v1 certificate */
			continue;
		}
		off += len;
	}
	return off;
}

/* Start a read from bytes already in hand (a prefix, or the first answer):
 * the DER header sizes the buffer; bytes past the DER length are file
 * padding and dropped. */
static kz_err cert_start(cert_read *cr, const uint8_t *data, size_t len)
{
	kz_err err = der_total(data, len, &cr->total);
	if (err != KZ_OK)
		return err;
	cr->buf = malloc(cr->total);
	if (cr->buf == NULL)
		return KZ_E_NOMEM;
	cr->got = len < cr->total ? len : cr->total;
	memcpy(cr->buf, data, cr->got);
	return KZ_OK;
}

static bool cert_done(const cert_read *cr)
{
	return cr->total != 0 && cr->got == cr->total;
}

/* Take the data of one READ BINARY answer (9000 or 6282). */
static kz_err cert_take(cert_read *cr, const kz_rapdu *r)
{
	if (cr->total == 0) {
		kz_err err = cert_start(cr, r->data, r->len);
		if (err != KZ_OK)
			return err;
	} else {
		size_t take = r->len;
		if (take > cr->total - cr->got)
			take = cr->total - cr->got;
		memcpy(cr->buf + cr->got, r->data, take);
		cr->got += take;
	}
	if (cert_done(cr))
		return KZ_OK;
	/* 6282: the file ended before the certificate did. No data at all
	 * would loop forever. */
	if (r->sw == KZ_SW_EOF_WARNING || r->len == 0)
		return KZ_E_PROTOCOL;
	return KZ_OK;
}

/* Status of a READ BINARY that did not succeed, for a certificate. */
static kz_err cert_sw_err(uint16_t sw)
{
	/* 6B00 is offset past the end: only asked for inside the DER length,
	 * so the file is shorter than its own header says. */
	if (sw == KZ_SW_WRONG_OFFSET)
		return KZ_E_PROTOCOL;
	return kz_sw_to_err(sw);
}

/* Statuses that answer about the file rather than the command's form: an
 * extended read that gets one of them was understood. */
static bool sw_is_about_file(uint16_t sw)
{
	return sw == KZ_SW_SEC_NOT_SAT || sw == KZ_SW_AUTH_BLOCKED || sw == KZ_SW_REF_BLOCKED ||
	       sw == KZ_SW_FILE_NOT_FND || sw == 0x6A88 || sw == KZ_SW_COND_NOT_SAT;
}

static bool want_extended(const jpki_card *c)
{
	const kz_transport *t = c->link;
	/* A link that says it cannot (libnfc: 262/258-byte frames) is never
	 * asked, whatever was learnt elsewhere. */
	if (!t->extended_ok || c->extended == JPKI_EXT_NO)
		return false;
	/* Not worth trying when the link cannot bring back a whole one. */
	return t->max_resp == 0 || t->max_resp >= JPKI_CERT_MAX + 2;
}

/* One extended READ BINARY of the rest of the file, from cr->got
 * (Le = 65536: all there is). A refusal of the form (6700, 6D00, 6E00,
 * 6A86, 68xx, ...) is learnt and the short path follows; the buffer takes
 * any answer a card may give. *fell_back: the link failed the exchange
 * and the card's state was restored on trust (see below). */
static kz_err read_extended(jpki_card *c, cert_read *cr, bool *fell_back)
{
	size_t cap = KZ_APDU_EXT_RESP_MAX;
	if (c->link->max_resp != 0 && cap > c->link->max_resp)
		cap = c->link->max_resp;
	uint8_t *resp = malloc(cap);
	if (resp == NULL)
		return KZ_E_NOMEM;
	/* What exchange() forgets on a transport error, to restore below. */
	bool ap_selected = c->ap_selected;
	bool verified[JPKI_KEY_COUNT];
	memcpy(verified, c->verified, sizeof verified);
	kz_rapdu r;
	kz_err err = read_binary(c, cr->got, 65536, true, resp, cap, &r);
	if (err == KZ_OK) {
		if (r.sw == KZ_SW_OK || r.sw == KZ_SW_EOF_WARNING) {
			c->extended = JPKI_EXT_YES;
			err = cert_take(cr, &r);
		} else if (sw_is_about_file(r.sw)) {
			err = cert_sw_err(r.sw);
		} else {
			KZ_DEBUG("jpki: extended READ BINARY refused (SW %04X); short reads", r.sw);
			c->extended = JPKI_EXT_NO;
		}
	} else if (err == KZ_E_COMM) {
		/* PC/SC offers extended APDUs on every reader, and a reader
		 * that cannot carry one may fail the exchange rather than pass
		 * the card's refusal on. A READ BINARY changes nothing on the
		 * card, whether or not it got there, so the card's state is
		 * what it was: restore it (verified PINs included, which a
		 * re-select of the application would lose) but the current
		 * file, and read on in short APDUs in this same call. Learnt,
		 * so that it costs one failed exchange, not one a certificate.
		 * READ BINARY only: a VERIFY or a signature whose answer is
		 * lost is reported, never sent again. */
		KZ_DEBUG("jpki: extended READ BINARY failed on the link; short reads from now");
		c->extended = JPKI_EXT_NO;
		c->ap_selected = ap_selected;
		memcpy(c->verified, verified, sizeof verified);
		c->selected_fid = -1;
		*fell_back = true;
		err = KZ_OK;
	}
	free(resp);
	return err;
}

/* Short READ BINARYs from cr->got to the DER end. The first asks 256 bytes
 * (Le 00) so that the header and the first chunk come in one command; the
 * following ones never ask past the DER length, since a card may answer a
 * read past the end of the file with an error rather than 6282. */
static kz_err read_short(jpki_card *c, cert_read *cr)
{
	uint8_t resp[KZ_APDU_SHORT_RESP_MAX];
	while (!cert_done(cr)) {
		if (++cr->reads > JPKI_READS_MAX)
			return KZ_E_PROTOCOL;
		size_t ask = 256;
		if (cr->total != 0 && cr->total - cr->got < ask)
			ask = cr->total - cr->got;
		kz_rapdu r;
		kz_err err = read_binary(c, cr->got, ask, false, resp, sizeof resp, &r);
		if (err != KZ_OK)
			return err;
		if (r.sw != KZ_SW_OK && r.sw != KZ_SW_EOF_WARNING)
			return cert_sw_err(r.sw);
		err = cert_take(cr, &r);
		if (err != KZ_OK)
			return err;
	}
	return KZ_OK;
}

/* Read fid from where prefix[0..prefix_len) ends (nothing read yet when
 * prefix_len is 0): one extended READ BINARY when the link and the card
 * take it, else short ones. */
static kz_err read_cert(jpki_card *c, uint16_t fid, const uint8_t *prefix, size_t prefix_len,
                        uint8_t **der, size_t *der_len)
{
	if (c == NULL || c->link == NULL || der == NULL || der_len == NULL ||
	    (prefix == NULL && prefix_len > 0))
		return KZ_E_ARGS;
	*der = NULL;
	*der_len = 0;
	cert_read cr = {0};
	kz_err err = prefix_len > 0 ? cert_start(&cr, prefix, prefix_len) : KZ_OK;
	if (err == KZ_OK && !cert_done(&cr))
		err = select_ef(c, fid);
	bool fell_back = false;
	if (err == KZ_OK && !cert_done(&cr) && want_extended(c))
		err = read_extended(c, &cr, &fell_back);
	/* Also continues where an extended read stopped short with 9000
	 * (some cards cap one response below the file size), and after a
	 * link failure, with the file selected again. */
	if (err == KZ_OK && !cert_done(&cr)) {
		err = select_ef(c, fid);
		if (err == KZ_OK)
			err = read_short(c, &cr);
	}
	if (err != KZ_OK) {
		free(cr.buf);
		/* The state restored after a link failure was taken on trust;
		 * whatever went wrong next, trust it no longer. */
		if (fell_back && err != KZ_E_REMOVED)
			jpki_card_forget(c);
		return doubt(c, err);
	}
	*der = cr.buf;
	*der_len = cr.total;
	return KZ_OK;
}

kz_err jpki_read_certificate(jpki_card *c, uint16_t fid, uint8_t **der, size_t *der_len)
{
	return read_cert(c, fid, NULL, 0, der, der_len);
}

kz_err jpki_read_certificate_rest(jpki_card *c, uint16_t fid, const uint8_t *prefix,
                                  size_t prefix_len, uint8_t **der, size_t *der_len)
{
	return read_cert(c, fid, prefix, prefix_len, der, der_len);
}

kz_err jpki_read_at(jpki_card *c, uint16_t fid, size_t offset, size_t n, uint8_t *buf, size_t *got)
{
	if (c == NULL || c->link == NULL || buf == NULL || got == NULL || n == 0 || n > 256 ||
	    offset > JPKI_OFFSET_MAX)
		return KZ_E_ARGS;
	*got = 0;
	kz_err err = select_ef(c, fid);
	if (err != KZ_OK)
		return err;
	/* Room for any short answer: one longer than asked for is malformed
	 * (jpki_transmit), not refused by the reader. */
	uint8_t resp[KZ_APDU_SHORT_RESP_MAX];
	kz_rapdu r;
	err = read_binary(c, offset, n, false, resp, sizeof resp, &r);
	if (err != KZ_OK)
		return doubt(c, err);
	if (r.sw != KZ_SW_OK && r.sw != KZ_SW_EOF_WARNING)
		return cert_sw_err(r.sw);
	if (r.len == 0)
		return doubt(c, KZ_E_PROTOCOL);
	memcpy(buf, r.data, r.len);
	*got = r.len;
	return KZ_OK;
}

kz_err jpki_read_cert_prefix(jpki_card *c, uint16_t fid, size_t n, uint8_t *buf, size_t *got)
{
	return jpki_read_at(c, fid, 0, n, buf, got);
}

/* ---- PINs -------------------------------------------------------------- */

kz_err jpki_pin_tries(jpki_card *c, jpki_key key, int *tries)
{
	if (c == NULL || !key_ok(key) || tries == NULL)
		return KZ_E_ARGS;
	*tries = -1;
	kz_err err = select_ef(c, jpki_pin_fid(key));
	if (err != KZ_OK)
		return err;
	/* VERIFY without data: asks, costs no try. */
	kz_apdu a = {.cla = 0x00, .ins = INS_VERIFY, .p1 = 0x00, .p2 = 0x80};
	uint16_t sw = 0;
	err = send_no_data(c, &a, &sw);
	if (err != KZ_OK)
		return doubt(c, err);
	if (kz_sw_tries_left(sw) >= 0) {
		*tries = kz_sw_tries_left(sw);
		return KZ_OK;
	}
	if (sw == KZ_SW_REF_BLOCKED || sw == KZ_SW_AUTH_BLOCKED) {
		*tries = 0;
		return KZ_OK;
	}
	/* 9000 from some cards: the PIN is verified, the count not given. */
	if (sw == KZ_SW_OK)
		return KZ_OK;
	return kz_sw_to_err(sw);
}

/* Result of a VERIFY that carried a PIN. */
static kz_err verify_result(jpki_card *c, jpki_key key, uint16_t sw, int *tries_left)
{
	int tries = kz_sw_tries_left(sw);
	if (sw == KZ_SW_OK) {
		c->verified[key] = true;
		*tries_left = jpki_pin_max_tries(key); /* success resets the count */
		return KZ_OK;
	}
	if (tries > jpki_pin_max_tries(key)) {
		/* More tries than this PIN ever has: the card checked another
		 * PIN (a file selected behind our back). Say so loudly. */
		c->selected_fid = -1;
		return KZ_E_PROTOCOL;
	}
	if (tries >= 0) {
		*tries_left = tries;
		return tries == 0 ? KZ_E_PIN_LOCKED : KZ_E_PIN_INCORRECT;
	}
	if (sw == KZ_SW_REF_BLOCKED || sw == KZ_SW_AUTH_BLOCKED) {
		*tries_left = 0;
		return KZ_E_PIN_LOCKED;
	}
	if (sw == KZ_SW_WRONG_LENGTH)
		return KZ_E_PIN_LENGTH;
	return kz_sw_to_err(sw);
}

kz_err jpki_verify(jpki_card *c, jpki_key key, const uint8_t *pin, size_t pin_len, int *tries_left)
{
	int dummy;
	if (tries_left == NULL)
		tries_left = &dummy;
	*tries_left = -1;
	if (c == NULL || !key_ok(key) || pin == NULL)
		return KZ_E_ARGS;
	/* Empty would be the tries query, not a check; over 255 cannot be
	 * sent in short form. Neither is any JPKI PIN. */
	if (pin_len == 0 || pin_len > 255)
		return KZ_E_PIN_LENGTH;
	kz_err err = select_ef(c, jpki_pin_fid(key));
	if (err != KZ_OK)
		return err;
	c->verified[key] = false;
	kz_apdu a = {
	    .cla = 0x00, .ins = INS_VERIFY, .p1 = 0x00, .p2 = 0x80, .data = pin, .lc = pin_len};
	uint16_t sw = 0;
	/* Sent once. Whatever goes wrong (a lost answer included) is
	 * reported, never retried: a retry could spend a second try of a PIN
	 * that blocks after three. */
	err = send_no_data(c, &a, &sw);
	if (err != KZ_OK)
		return doubt(c, err);
	return verify_result(c, key, sw, tries_left);
}

kz_err jpki_change_pin(jpki_card *c, jpki_key key, const uint8_t *new_pin, size_t new_len)
{
	if (c == NULL || !key_ok(key) || new_pin == NULL)
		return KZ_E_ARGS;
	if (new_len == 0 || new_len > 255)
		return KZ_E_PIN_LENGTH;
	/* The card wants the current PIN verified in this session; without
	 * that the command can only fail, so it is not sent. */
	if (!c->verified[key])
		return KZ_E_SECURITY;
	kz_err err = select_ef(c, jpki_pin_fid(key));
	if (err != KZ_OK)
		return err;
	kz_apdu a = {
	    .cla = 0x00, .ins = INS_CHANGE, .p1 = 0x01, .p2 = 0x80, .data = new_pin, .lc = new_len};
	uint16_t sw = 0;
	err = send_no_data(c, &a, &sw);
	if (err != KZ_OK)
		return doubt(c, err);
	switch (sw) {
	case KZ_SW_OK:
		return KZ_OK;
	case KZ_SW_SEC_NOT_SAT:
		c->verified[key] = false;
		return KZ_E_SECURITY;
	case KZ_SW_WRONG_LENGTH:
		return KZ_E_PIN_LENGTH;
	case KZ_SW_WRONG_DATA: /* the card refuses the new value's form */
		return KZ_E_PIN_FORMAT;
	default:
		return kz_sw_to_err(sw);
	}
}

/* ---- signing ----------------------------------------------------------- */

kz_err jpki_sign(jpki_card *c, jpki_key key, const uint8_t *input, size_t input_len, uint8_t *sig,
                 size_t *sig_len)
{
	if (c == NULL || !key_ok(key) || input == NULL || sig == NULL || sig_len == NULL)
		return KZ_E_ARGS;
	*sig_len = 0;
	/* The card pads to 256 bytes itself and needs 11 of them. */
	if (input_len == 0 || input_len > JPKI_SIGN_INPUT_MAX)
		return KZ_E_DATA_LEN;
	kz_err err = select_ef(c, jpki_key_fid(key));
	if (err != KZ_OK)
		return err;
	kz_apdu a = {.cla = 0x80,
	             .ins = INS_SIGN,
	             .p1 = 0x00,
	             .p2 = 0x80,
	             .data = input,
	             .lc = input_len,
	             .le = 256};
	uint8_t resp[KZ_APDU_SHORT_RESP_MAX];
	kz_rapdu r;
	err = jpki_transmit(c, &a, resp, sizeof resp, &r);
	if (err != KZ_OK)
		return doubt(c, err);
	if (r.sw == KZ_SW_SEC_NOT_SAT) {
		c->verified[key] = false;
		return KZ_E_SECURITY;
	}
	if (r.sw != KZ_SW_OK)
		return kz_sw_to_err(r.sw);
	if (r.len != JPKI_SIGNATURE_LEN)
		return doubt(c, KZ_E_PROTOCOL);
	memcpy(sig, r.data, JPKI_SIGNATURE_LEN);
	*sig_len = JPKI_SIGNATURE_LEN;
	return KZ_OK;
}
