/* kz-rawsign: another local program that talks to the card through plain
 * PC/SC, with no PIN and no PKCS#11: it selects a key's EF and asks for a
 * signature, as an attacker sharing the reader would. It must get one only
 * when the card still holds that key's PIN verified.
 *
 *   kz-rawsign READER-SUBSTRING auth|sign
 *
 * Prints one line: "select=SW sign=SW len=N" (SW in hex), or
 * "error=<call>:<pcsc error>" when the card cannot be reached. Gives up
 * after 10 seconds ("error=timeout") so that a held card never hangs a
 * test. Exit 0 in every case where a line was printed. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <PCSC/winscard.h>

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "error=timeout\n";
	if (write(STDOUT_FILENO, msg, sizeof msg - 1) < 0)
		_exit(1);
	_exit(0);
}

static int fail(const char *call, LONG rv)
{
	printf("error=%s:%s\n", call, pcsc_stringify_error(rv));
	return 0;
}

/* A DigestInfo of SHA-256 over nothing in particular: what is signed does
 * not matter, only whether the card signs at all. */
static const BYTE digest_info[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                                   0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20, 1,    2,    3,
                                   4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,
                                   15,   16,   17,   18,   19,   20,   21,   22,   23,   24,   25,
                                   26,   27,   28,   29,   30,   31,   32};

int main(int argc, char **argv)
{
	if (argc != 3) {
		fputs("usage: kz-rawsign READER-SUBSTRING auth|sign\n", stderr);
		return 2;
	}
	signal(SIGALRM, on_alarm);
	alarm(10);
	BYTE key_ef = strcmp(argv[2], "sign") == 0 ? 0x1A : 0x17;

	SCARDCONTEXT ctx;
	LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rv != SCARD_S_SUCCESS)
		return fail("SCardEstablishContext", rv);
	char readers[4096];
	DWORD len = sizeof readers;
	rv = SCardListReaders(ctx, NULL, readers, &len);
	if (rv != SCARD_S_SUCCESS)
		return fail("SCardListReaders", rv);
	const char *reader = NULL;
	for (const char *p = readers; *p != '\0'; p += strlen(p) + 1)
		if (strstr(p, argv[1]) != NULL) {
			reader = p;
			break;
		}
	if (reader == NULL)
		return fail("SCardListReaders", SCARD_E_UNKNOWN_READER);
	SCARDHANDLE card;
	DWORD proto;
	rv = SCardConnect(ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
	                  &card, &proto);
	if (rv != SCARD_S_SUCCESS)
		return fail("SCardConnect", rv);
	const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;

	BYTE select[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, key_ef};
	BYTE resp[300];
	DWORD resp_len = sizeof resp;
	rv = SCardTransmit(card, pci, select, sizeof select, NULL, resp, &resp_len);
	if (rv != SCARD_S_SUCCESS)
		return fail("SCardTransmit", rv);
	unsigned select_sw = resp_len >= 2 ? (resp[resp_len - 2] << 8) | resp[resp_len - 1] : 0;

	BYTE sign[5 + sizeof digest_info + 1] = {0x80, 0x2A, 0x00, 0x80, sizeof digest_info};
	memcpy(sign + 5, digest_info, sizeof digest_info);
	sign[sizeof sign - 1] = 0x00; /* Le: 256 */
	resp_len = sizeof resp;
	rv = SCardTransmit(card, pci, sign, sizeof sign, NULL, resp, &resp_len);
	if (rv != SCARD_S_SUCCESS)
		return fail("SCardTransmit", rv);
	unsigned sign_sw = resp_len >= 2 ? (resp[resp_len - 2] << 8) | resp[resp_len - 1] : 0;
	printf("select=%04X sign=%04X len=%lu\n", select_sw, sign_sw,
	       (unsigned long)(resp_len >= 2 ? resp_len - 2 : 0));
	SCardDisconnect(card, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	return 0;
}
