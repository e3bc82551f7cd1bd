/* The JPKI application of a My Number card or a phone (jpki-protocol.md) as
 * a state machine. Strict where a card is known to be strict, so that the
 * module under test cannot get away with APDUs a real phone would refuse,
 * and it never trusts a length it was given. */
#include "config.h"

#include "phone.h"

#include "linkmodel.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* Status words. */
#define SW_OK           0x9000
#define SW_EOF_SHORT    0x6282 /* end of file before Le bytes */
#define SW_TRIES        0x63C0 /* | tries left */
#define SW_WRONG_LENGTH 0x6700
#define SW_SEC_NOT_SAT  0x6982 /* security status not satisfied */
#define SW_BLOCKED      0x6984 /* reference data not usable */
#define SW_NOT_ALLOWED  0x6986 /* command not allowed (no or wrong current EF) */
#define SW_WRONG_DATA   0x6A80
#define SW_NOT_FOUND    0x6A82
#define SW_WRONG_P1P2   0x6A86
#define SW_WRONG_OFFSET 0x6B00
#define SW_INS_UNKNOWN  0x6D00
#define SW_CLA_UNKNOWN  0x6E00
#define SW_NO_DIAGNOSIS 0x6F00

static const uint8_t jpki_aid[] = {0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};

#define TOKEN_INFO_LEN  160
#define TOKEN_LABEL_LEN 32
#define EF_MAX_LEN      32767 /* READ BINARY offsets are 15 bits */
#define PIN_MAX_LEN     16
#define SIG_LEN         256            /* RSA-2048 */
#define SIG_MAX_INPUT   (SIG_LEN - 11) /* PKCS#1 v1.5 type 1 needs 11 bytes */

enum { PIN_AUTH, PIN_SIGN, PIN_COUNT };
#define PIN_NONE (-1)

enum ef_kind { EF_BINARY, EF_KEY, EF_PIN };

struct sim_ef {
	uint16_t fid;
	enum ef_kind kind;
	/* EF_BINARY: PIN needed to read it (PIN_NONE = free); EF_KEY: PIN needed
	 * to sign with it; EF_PIN: the PIN it is. */
	int pin;
	uint8_t *data;
	size_t len;
	EVP_PKEY *key;
};

struct sim_pin {
	char value[PIN_MAX_LEN];
	size_t len;
	int tries;
	int max_tries;
	bool verified;
};

#define EF_COUNT 9

struct sim_phone {
	sim_persona persona;
	unsigned long leave_at_apdu;
	bool accept_extended;
	FILE *log;
	unsigned kbps;

	struct sim_ef ef[EF_COUNT];
	struct sim_pin pin[PIN_COUNT];

	/* Security state of the current tap. */
	bool ap_selected;
	struct sim_ef *cur;

	bool gone;
	unsigned long apdu_n;
	sim_totals totals;
};

/* One parsed command APDU (ISO/IEC 7816-4 cases 1 to 4, short and
 * extended). */
struct apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t lc;
	bool has_le;
	size_t le;
	bool extended;
	size_t lc_field; /* bytes the Lc field takes in the encoding */
};

/* --- APDU parsing ------------------------------------------------------- */

static size_t get16(const uint8_t *b)
{
	return (size_t)b[0] << 8 | b[1];
}

/* Returns false for any encoding that is not exactly one of the cases. */
static bool apdu_parse(const uint8_t *c, size_t n, struct apdu *a)
{
	memset(a, 0, sizeof(*a));
	if (c == NULL || n < 4)
		return false;
	a->cla = c[0];
	a->ins = c[1];
	a->p1 = c[2];
	a->p2 = c[3];
	if (n == 4)
		return true; /* case 1 */
	if (n == 5) {        /* case 2 short */
		a->has_le = true;
		a->le = c[4] ? c[4] : 256;
		return true;
	}
	if (c[4] != 0) { /* case 3 or 4 short */
		a->lc = c[4];
		a->lc_field = 1;
		a->data = c + 5;
		if (n == 5 + a->lc)
			return true;
		if (n == 6 + a->lc) {
			a->has_le = true;
			a->le = c[n - 1] ? c[n - 1] : 256;
			return true;
		}
		return false;
	}
	/* extended: 00 then two length bytes */
	a->extended = true;
	if (n == 7) { /* case 2 extended */
		a->has_le = true;
		a->le = get16(c + 5) ? get16(c + 5) : 65536;
		return true;
	}
	if (n < 8)
		return false;
	a->lc = get16(c + 5);
	a->lc_field = 3;
	a->data = c + 7;
	if (a->lc == 0)
		return false;
	if (n == 7 + a->lc)
		return true;
	if (n == 9 + a->lc) {
		a->has_le = true;
		a->le = get16(c + n - 2) ? get16(c + n - 2) : 65536;
		return true;
	}
	return false;
}

/* --- loading the PKI ---------------------------------------------------- */

static bool path_join(char *out, size_t cap, const char *dir, const char *name)
{
	int r = snprintf(out, cap, "%s/%s", dir, name);

	if (r < 0 || (size_t)r >= cap) {
		fprintf(stderr, "sim: path too long: %s/%s\n", dir, name);
		return false;
	}
	return true;
}

/* Reads a whole file of at most max bytes. */
static uint8_t *read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "sim: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n == 0 || n > max) {
		fprintf(stderr, "sim: %s: %s\n", path,
		        ferror(f) ? "read error"
		        : n       ? "too large"
		                  : "empty");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Loads a DER certificate into ef (padded to ef_size if larger) and returns
 * it parsed, so that its key can be checked against the private key. */
static X509 *load_cert(struct sim_ef *ef, const char *dir, const char *name, size_t ef_size)
{
	char path[PATH_MAX];
	const uint8_t *q;
	uint8_t *der, *padded;
	size_t len;
	X509 *x;

	if (!path_join(path, sizeof(path), dir, name))
		return NULL;
	der = read_file(path, EF_MAX_LEN, &len);
	if (der == NULL)
		return NULL;
	q = der;
	x = d2i_X509(NULL, &q, (long)len);
	if (x == NULL || q != der + len) {
		fprintf(stderr, "sim: %s is not one DER certificate\n", path);
		X509_free(x);
		free(der);
		return NULL;
	}
	if (ef_size > len) {
		if (ef_size > EF_MAX_LEN)
			ef_size = EF_MAX_LEN;
		padded = realloc(der, ef_size);
		if (padded == NULL) {
			X509_free(x);
			free(der);
			return NULL;
		}
		der = padded;
		memset(der + len, 0, ef_size - len);
		len = ef_size;
	}
	ef->data = der;
	ef->len = len;
	return x;
}

static EVP_PKEY *load_key(const char *dir, const char *name, X509 *cert)
{
	char path[PATH_MAX];
	EVP_PKEY *key;
	FILE *f;

	if (!path_join(path, sizeof(path), dir, name))
		return NULL;
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "sim: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL) {
		fprintf(stderr, "sim: %s: not a PEM private key\n", path);
		ERR_clear_error();
		return NULL;
	}
	/* The application answers 256 bytes, PKCS#1 v1.5: RSA-2048 only. */
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_size(key) != SIG_LEN) {
		fprintf(stderr, "sim: %s: not an RSA-2048 key\n", path);
		EVP_PKEY_free(key);
		return NULL;
	}
	if (X509_check_private_key(cert, key) != 1) {
		fprintf(stderr, "sim: %s does not match its certificate\n", path);
		ERR_clear_error();
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

static const char *persona_token(sim_persona persona)
{
	switch (persona) {
	case SIM_PERSONA_ANDROID:
		return "JPKIAPGPSETOKEN";
	case SIM_PERSONA_IPHONE:
		return "JPKIAPIOSTOKEN";
	case SIM_PERSONA_CARD:
	default:
		return "JPKIAPICCTOKEN2";
	}
}

static bool make_token_info(struct sim_ef *ef, sim_persona persona)
{
	const char *label = persona_token(persona);

	ef->data = calloc(1, TOKEN_INFO_LEN);
	if (ef->data == NULL)
		return false;
	memset(ef->data, ' ', TOKEN_LABEL_LEN);
	memcpy(ef->data, label, strlen(label));
	ef->len = TOKEN_INFO_LEN;
	return true;
}

static void set_ef(struct sim_ef *ef, uint16_t fid, enum ef_kind kind, int pin)
{
	ef->fid = fid;
	ef->kind = kind;
	ef->pin = pin;
}

/* A certificate EF and the key EF that goes with it. */
static bool load_pair(struct sim_ef *cert_ef, struct sim_ef *key_ef, const char *dir,
                      const char *cert_name, const char *key_name, size_t ef_size)
{
	X509 *x = load_cert(cert_ef, dir, cert_name, ef_size);

	if (x == NULL)
		return false;
	key_ef->key = load_key(dir, key_name, x);
	X509_free(x);
	return key_ef->key != NULL;
}

static bool load_ca(struct sim_ef *ef, const char *dir, const char *name, size_t ef_size)
{
	X509 *x = load_cert(ef, dir, name, ef_size);

	X509_free(x);
	return x != NULL;
}

static bool init_pin(struct sim_pin *pin, const char *value, const char *dflt, int tries,
                     int max_tries)
{
	const char *v = value ? value : dflt;
	size_t len = strlen(v);

	if (len == 0 || len > PIN_MAX_LEN) {
		fprintf(stderr, "sim: a PIN must be 1 to %d characters\n", PIN_MAX_LEN);
		return false;
	}
	memcpy(pin->value, v, len);
	pin->len = len;
	pin->max_tries = max_tries;
	if (tries == 0 || tries > max_tries)
		pin->tries = max_tries;
	else if (tries < 0)
		pin->tries = 0;
	else
		pin->tries = tries;
	return true;
}

static bool build_files(sim_phone *p, const sim_config *cfg)
{
	struct sim_ef *ef = p->ef;
	const char *dir = cfg->pki_dir;
	size_t sz = cfg->cert_ef_size;
	/* On a card anyone may read the auth certificate; a phone's GP-SE
	 * applet wants the auth PIN first. */
	int auth_cert_pin = cfg->persona == SIM_PERSONA_CARD ? PIN_NONE : PIN_AUTH;

	set_ef(&ef[0], 0x0006, EF_BINARY, PIN_NONE);
	set_ef(&ef[1], 0x000A, EF_BINARY, auth_cert_pin);
	set_ef(&ef[2], 0x000B, EF_BINARY, PIN_NONE);
	set_ef(&ef[3], 0x0017, EF_KEY, PIN_AUTH);
	set_ef(&ef[4], 0x0018, EF_PIN, PIN_AUTH);
	set_ef(&ef[5], 0x0001, EF_BINARY, PIN_SIGN);
	set_ef(&ef[6], 0x0002, EF_BINARY, PIN_NONE);
	set_ef(&ef[7], 0x001A, EF_KEY, PIN_SIGN);
	set_ef(&ef[8], 0x001B, EF_PIN, PIN_SIGN);

	return make_token_info(&ef[0], cfg->persona) &&
	       load_pair(&ef[1], &ef[3], dir, "auth.der", "auth.key.pem", sz) &&
	       load_ca(&ef[2], dir, "authca.der", sz) &&
	       load_pair(&ef[5], &ef[7], dir, "sign.der", "sign.key.pem", sz) &&
	       load_ca(&ef[6], dir, "signca.der", sz);
}

sim_phone *sim_phone_new(const sim_config *cfg)
{
	sim_phone *p;

	if (cfg == NULL || cfg->pki_dir == NULL) {
		fprintf(stderr, "sim: no PKI directory given\n");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->persona = cfg->persona;
	p->leave_at_apdu = cfg->leave_at_apdu;
	p->accept_extended = cfg->accept_extended;
	p->log = cfg->log;
	p->kbps = cfg->kbps;
	if (!init_pin(&p->pin[PIN_AUTH], cfg->auth_pin, "1234", cfg->auth_tries, 3) ||
	    !init_pin(&p->pin[PIN_SIGN], cfg->sign_pin, "ABC123", cfg->sign_tries, 5) ||
	    !build_files(p, cfg)) {
		sim_phone_free(p);
		return NULL;
	}
	sim_phone_reset(p);
	return p;
}

void sim_phone_free(sim_phone *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < EF_COUNT; i++) {
		free(p->ef[i].data);
		EVP_PKEY_free(p->ef[i].key);
	}
	OPENSSL_cleanse(p->pin, sizeof(p->pin));
	free(p);
}

/* --- security state ----------------------------------------------------- */

static void clear_security(sim_phone *p)
{
	p->cur = NULL;
	for (int i = 0; i < PIN_COUNT; i++)
		p->pin[i].verified = false;
}

void sim_phone_reset(sim_phone *p)
{
	if (p == NULL)
		return;
	p->gone = false;
	p->ap_selected = false;
	clear_security(p);
}

void sim_phone_leave(sim_phone *p)
{
	if (p != NULL)
		p->gone = true;
}

bool sim_phone_present(const sim_phone *p)
{
	return p != NULL && !p->gone;
}

static bool pin_verified(const sim_phone *p, int pin)
{
	return pin == PIN_NONE || (pin >= 0 && pin < PIN_COUNT && p->pin[pin].verified);
}

/* The PIN EF currently selected, or NULL. */
static struct sim_pin *current_pin(sim_phone *p)
{
	if (p->cur == NULL || p->cur->kind != EF_PIN)
		return NULL;
	return &p->pin[p->cur->pin];
}

/* --- instructions --------------------------------------------------------
 * Each handler writes response data to out (room for 65536 bytes), sets
 * *out_len and returns the status word. */

static uint16_t select_ap(sim_phone *p, const struct apdu *a)
{
	if (a->p2 != 0x0C && a->p2 != 0x00 && a->p2 != 0x04)
		return SW_WRONG_P1P2;
	if (a->lc == 0)
		return SW_WRONG_LENGTH;
	if (a->lc != sizeof(jpki_aid) || memcmp(a->data, jpki_aid, sizeof(jpki_aid)) != 0)
		return SW_NOT_FOUND; /* selection unchanged */
	/* a (re-)select starts a fresh security state: OpenSC's logout */
	clear_security(p);
	p->ap_selected = true;
	return SW_OK;
}

static uint16_t select_ef(sim_phone *p, const struct apdu *a)
{
	uint16_t fid;

	if (a->p2 != 0x0C)
		return SW_WRONG_P1P2;
	if (a->lc != 2 || a->has_le)
		return SW_WRONG_LENGTH;
	if (!p->ap_selected)
		return SW_NOT_ALLOWED;
	fid = (uint16_t)get16(a->data);
	for (size_t i = 0; i < EF_COUNT; i++) {
		if (p->ef[i].fid == fid) {
			/* verified PINs stay verified: only the AP resets them */
			p->cur = &p->ef[i];
			return SW_OK;
		}
	}
	return SW_NOT_FOUND;
}

static uint16_t do_select(sim_phone *p, const struct apdu *a, uint8_t *out, size_t *out_len)
{
	(void)out;
	*out_len = 0;
	switch (a->p1) {
	case 0x04:
		return select_ap(p, a);
	case 0x02:
		return select_ef(p, a);
	case 0x00:
		/* MF/DF by file id: nothing there to find for other drivers' probes */
		return a->lc == 2 ? SW_NOT_FOUND : SW_WRONG_LENGTH;
	default:
		return SW_WRONG_P1P2;
	}
}

static uint16_t do_read_binary(sim_phone *p, const struct apdu *a, uint8_t *out, size_t *out_len)
{
	const struct sim_ef *ef = p->cur;
	size_t off, n;

	*out_len = 0;
	if (a->lc != 0 || !a->has_le)
		return SW_WRONG_LENGTH;
	if (a->p1 & 0x80) /* short EF identifier: not offered */
		return SW_WRONG_P1P2;
	if (ef == NULL || ef->kind != EF_BINARY)
		return SW_NOT_ALLOWED;
	if (!pin_verified(p, ef->pin))
		return SW_SEC_NOT_SAT;
	off = (size_t)a->p1 << 8 | a->p2;
	if (off >= ef->len)
		return SW_WRONG_OFFSET;
	n = ef->len - off;
	if (n > a->le)
		n = a->le;
	memcpy(out, ef->data + off, n);
	*out_len = n;
	return n < a->le ? SW_EOF_SHORT : SW_OK;
}

static uint16_t do_verify(sim_phone *p, const struct apdu *a, uint8_t *out, size_t *out_len)
{
	struct sim_pin *pin = current_pin(p);

	(void)out;
	*out_len = 0;
	if (a->p1 != 0x00 || a->p2 != 0x80)
		return SW_WRONG_P1P2;
	if (a->has_le)
		return SW_WRONG_LENGTH;
	if (pin == NULL)
		return SW_NOT_ALLOWED;
	if (pin->tries <= 0)
		return SW_BLOCKED;
	/* no data: how many tries are left, whether verified or not */
	if (a->lc == 0)
		return (uint16_t)(SW_TRIES | pin->tries);
	if (a->lc == pin->len && memcmp(a->data, pin->value, pin->len) == 0) {
		pin->tries = pin->max_tries;
		pin->verified = true;
		return SW_OK;
	}
	/* a wrong value costs a try, whatever its form, and drops a PIN
	 * verified earlier in this tap */
	pin->tries--;
	pin->verified = false;
	return (uint16_t)(SW_TRIES | pin->tries);
}

/* The forms jpki-protocol.md gives: 4 digits; 6 to 16 of A-Z 0-9. */
static bool pin_form_ok(int which, const uint8_t *v, size_t len)
{
	if (which == PIN_AUTH) {
		if (len != 4)
			return false;
		for (size_t i = 0; i < len; i++)
			if (v[i] < '0' || v[i] > '9')
				return false;
		return true;
	}
	if (len < 6 || len > PIN_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'A' && v[i] <= 'Z')))
			return false;
	return true;
}

static uint16_t do_change(sim_phone *p, const struct apdu *a, uint8_t *out, size_t *out_len)
{
	struct sim_pin *pin = current_pin(p);

	(void)out;
	*out_len = 0;
	if (a->p1 != 0x01 || a->p2 != 0x80)
		return SW_WRONG_P1P2;
	if (a->lc == 0 || a->has_le)
		return SW_WRONG_LENGTH;
	if (pin == NULL)
		return SW_NOT_ALLOWED;
	if (pin->tries <= 0)
		return SW_BLOCKED;
	if (!pin->verified)
		return SW_SEC_NOT_SAT;
	if (!pin_form_ok(p->cur->pin, a->data, a->lc))
		return SW_WRONG_DATA;
	memcpy(pin->value, a->data, a->lc);
	pin->len = a->lc;
	return SW_OK;
}

static bool rsa_sign(EVP_PKEY *key, const uint8_t *in, size_t in_len, uint8_t *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	size_t sig_len = SIG_LEN;
	bool ok;

	/* No message digest set: the input is padded (type 1) and signed as it
	 * is, which is what the application does with the DigestInfo. */
	ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	     EVP_PKEY_sign(ctx, out, &sig_len, in, in_len) == 1 && sig_len == SIG_LEN;
	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		ERR_clear_error();
	return ok;
}

static uint16_t do_sign(sim_phone *p, const struct apdu *a, uint8_t *out, size_t *out_len)
{
	const struct sim_ef *ef = p->cur;

	*out_len = 0;
	if (a->p1 != 0x00 || a->p2 != 0x80)
		return SW_WRONG_P1P2;
	if (a->lc == 0 || a->lc > SIG_MAX_INPUT)
		return SW_WRONG_LENGTH;
	/* the 256-byte answer must fit what was asked for */
	if (a->has_le && a->le < SIG_LEN)
		return SW_WRONG_LENGTH;
	if (ef == NULL || ef->kind != EF_KEY)
		return SW_NOT_ALLOWED;
	if (!pin_verified(p, ef->pin))
		return SW_SEC_NOT_SAT;
	if (!rsa_sign(ef->key, a->data, a->lc, out))
		return SW_NO_DIAGNOSIS;
	*out_len = SIG_LEN;
	return SW_OK;
}

typedef uint16_t (*ins_handler)(sim_phone *p, const struct apdu *a, uint8_t *out, size_t *out_len);

static const struct {
	uint8_t ins;
	uint8_t cla;
	ins_handler run;
} instructions[] = {
    {0xA4, 0x00, do_select},      /* SELECT */
    {0xB0, 0x00, do_read_binary}, /* READ BINARY */
    {0x20, 0x00, do_verify},      /* VERIFY */
    {0x24, 0x00, do_change},      /* CHANGE REFERENCE DATA */
    {0x2A, 0x80, do_sign},        /* COMPUTE DIGITAL SIGNATURE */
};

/* Answers cmd into resp; returns the response length (data + SW). */
static size_t answer(sim_phone *p, const uint8_t *cmd, size_t cmd_len, uint8_t *resp)
{
	struct apdu a;
	size_t n = 0;
	uint16_t sw = SW_INS_UNKNOWN;

	if (!apdu_parse(cmd, cmd_len, &a)) {
		sw = SW_WRONG_LENGTH;
		goto out;
	}
	for (size_t i = 0; i < sizeof(instructions) / sizeof(instructions[0]); i++) {
		if (instructions[i].ins != a.ins)
			continue;
		if (instructions[i].cla != a.cla)
			sw = SW_CLA_UNKNOWN;
		else if (a.extended && !p->accept_extended)
			sw = SW_WRONG_LENGTH;
		else
			sw = instructions[i].run(p, &a, resp, &n);
		break;
	}
out:
	resp[n] = (uint8_t)(sw >> 8);
	resp[n + 1] = (uint8_t)sw;
	return n + 2;
}

/* --- log and totals ------------------------------------------------------ */

static void put_hex(FILE *f, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02X", b[i]);
}

static void put_stars(FILE *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fputs("**", f);
}

/* The command in hex, with the data of VERIFY and CHANGE REFERENCE DATA
 * (PINs) replaced by stars; header, Lc and Le are kept. */
static void put_cmd(FILE *f, const uint8_t *cmd, size_t len)
{
	struct apdu a;
	size_t head;

	if (cmd == NULL || len < 2 || (cmd[1] != 0x20 && cmd[1] != 0x24)) {
		if (cmd != NULL)
			put_hex(f, cmd, len);
		return;
	}
	if (!apdu_parse(cmd, len, &a)) {
		/* malformed: nothing after the first 5 bytes can be trusted not
		 * to be a PIN */
		head = len < 5 ? len : 5;
		put_hex(f, cmd, head);
		put_stars(f, len - head);
		return;
	}
	head = 4 + a.lc_field;
	put_hex(f, cmd, head);
	put_stars(f, a.lc);
	put_hex(f, cmd + head + a.lc, len - head - a.lc);
}

static void put_ins(FILE *f, const uint8_t *cmd, size_t len)
{
	if (cmd != NULL && len >= 2)
		fprintf(f, "%02X", cmd[1]);
}

static void log_exchange(const sim_phone *p, const uint8_t *cmd, size_t cmd_len,
                         const uint8_t *resp, size_t resp_len, double air_ms, double card_ms)
{
	FILE *f = p->log;

	if (f == NULL)
		return;
	fprintf(f, "{\"n\":%lu,\"ins\":\"", p->apdu_n);
	put_ins(f, cmd, cmd_len);
	fputs("\",\"cmd\":\"", f);
	put_cmd(f, cmd, cmd_len);
	fputs("\",\"resp\":\"", f);
	put_hex(f, resp, resp_len);
	fprintf(f,
	        "\",\"sw\":\"%02X%02X\",\"cmd_bytes\":%zu,\"resp_bytes\":%zu,"
	        "\"air_ms\":%.3f,\"card_ms\":%.3f}\n",
	        resp[resp_len - 2], resp[resp_len - 1], cmd_len, resp_len, air_ms, card_ms);
	fflush(f);
}

static void log_left(const sim_phone *p, const uint8_t *cmd, size_t cmd_len)
{
	FILE *f = p->log;

	if (f == NULL)
		return;
	fprintf(f, "{\"n\":%lu,\"ins\":\"", p->apdu_n);
	put_ins(f, cmd, cmd_len);
	fputs("\",\"cmd\":\"", f);
	put_cmd(f, cmd, cmd_len);
	fputs("\",\"left\":true}\n", f);
	fflush(f);
}

bool sim_phone_transmit(sim_phone *p, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                        size_t *resp_len)
{
	double air_ms, card_ms;

	if (p == NULL || resp == NULL || resp_len == NULL || p->gone)
		return false;
	if (cmd == NULL)
		cmd_len = 0;
	p->apdu_n++;
	if (p->leave_at_apdu != 0 && p->apdu_n == p->leave_at_apdu) {
		p->gone = true;
		log_left(p, cmd, cmd_len);
		return false;
	}
	*resp_len = answer(p, cmd, cmd_len, resp);

	air_ms = link_direction_ms(cmd_len, p->kbps) + link_direction_ms(*resp_len, p->kbps);
	card_ms = link_card_ms(cmd_len >= 2 ? cmd[1] : 0);
	p->totals.apdus++;
	p->totals.bytes_to_card += cmd_len;
	p->totals.bytes_from_card += *resp_len;
	p->totals.air_ms += air_ms;
	p->totals.card_ms += card_ms;
	log_exchange(p, cmd, cmd_len, resp, *resp_len, air_ms, card_ms);
	return true;
}

unsigned long sim_phone_apdu_count(const sim_phone *p)
{
	return p ? p->apdu_n : 0;
}

int sim_phone_tries_left(const sim_phone *p, bool sign_pin)
{
	if (p == NULL)
		return -1;
	return p->pin[sign_pin ? PIN_SIGN : PIN_AUTH].tries;
}

void sim_phone_totals(const sim_phone *p, sim_totals *out)
{
	if (p == NULL || out == NULL)
		return;
	*out = p->totals;
}

void sim_phone_clear_totals(sim_phone *p)
{
	if (p != NULL)
		memset(&p->totals, 0, sizeof(p->totals));
}
