/* The link model of link-model.md. Kept apart from the phone so that the
 * benchmark and any comparison charge exactly the same costs. */
#include "config.h"

#include "linkmodel.h"

#define LINK_FSC 256
/* Bytes an I-block spends on PCB and CRC_B; an R(ACK) is only these. */
#define LINK_BLOCK_OVERHEAD 3
/* SOF, EOF and guard times of one frame, in etu. */
#define LINK_FRAME_ETU    35
#define LINK_ETU_PER_BYTE 10
/* TR0 + TR1 before the other side answers a frame. */
#define LINK_TURNAROUND_MS 0.3

/* One etu in microseconds: fc / 128, 64, 32, 16 with fc = 13.56 MHz. An
 * unknown rate is charged as 106 kbit/s, the slowest and the only one a
 * PN532 does for Type B, so that a typo never flatters a figure. */
static double etu_us(unsigned kbps)
{
	switch (kbps) {
	case 212:
		return 4.72;
	case 424:
		return 2.36;
	case 848:
		return 1.18;
	default:
		return 9.44;
	}
}

double link_direction_ms(size_t n, unsigned kbps)
{
	const size_t payload = LINK_FSC - LINK_BLOCK_OVERHEAD;
	size_t frames = (n + payload - 1) / payload;
	double etu;

	if (frames < 1)
		frames = 1;
	etu = (double)(n + LINK_BLOCK_OVERHEAD * frames) * LINK_ETU_PER_BYTE +
	      (double)(LINK_FRAME_ETU * frames);
	/* every chained block but the last is acknowledged by an R(ACK) */
	etu += (double)(frames - 1) * (LINK_BLOCK_OVERHEAD * LINK_ETU_PER_BYTE + LINK_FRAME_ETU);
	return etu * etu_us(kbps) / 1000.0 + LINK_TURNAROUND_MS * (double)frames;
}

double link_card_ms(uint8_t ins)
{
	switch (ins) {
	case 0xA4: /* SELECT */
		return 2.0;
	case 0xB0: /* READ BINARY */
		return 3.0;
	case 0x20: /* VERIFY */
		return 15.0;
	case 0x24: /* CHANGE REFERENCE DATA */
		return 30.0;
	case 0x2A: /* COMPUTE DIGITAL SIGNATURE */
		return 250.0;
	default:
		return 1.0;
	}
}
