/* The link model of ../shared/docs/link-model.md: what one APDU exchange
 * costs on the air of ISO/IEC 14443 Type B and in the card. */
#ifndef KZ_SIM_LINKMODEL_H
#define KZ_SIM_LINKMODEL_H

#include <stddef.h>
#include <stdint.h>

/* Air time in ms of one direction carrying n APDU bytes at kbps (106,
 * 212, 424, 848); frame size FSC = 256. */
double link_direction_ms(size_t n, unsigned kbps);
/* Card processing time in ms charged for an instruction byte. */
double link_card_ms(uint8_t ins);

#endif
