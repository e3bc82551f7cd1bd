/* A phone's answers, one after another, from a fuzzer's input.
 *
 * Each answer starts with a byte k:
 *   0x00-0xFB  k data bytes follow, then a status word (2 bytes): every
 *              well-formed short answer, so that the fuzzer reaches deep
 *              states without having to learn where status words go;
 *   0xFC       256 data bytes and a status word (a full short answer);
 *   0xFD       a length n (2 bytes, big-endian) and n bytes, given as they
 *              are: empty answers, one byte, data without a status word,
 *              extended answers up to 64 KiB;
 *   0xFE       a length n (2 bytes): an answer reported as n bytes longer
 *              than the receive buffer, nothing written (a back end that
 *              would have overrun the module's buffer);
 *   0xFF       the phone leaves the field (the transmit fails).
 * An input that ends, even in the middle of an answer, is the phone
 * leaving. Seeds in the corpora are made by recording the simulated
 * phone's answers in this form (fuzz-module --record). */
#ifndef KZ_FUZZ_STREAM_H
#define KZ_FUZZ_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STREAM_DATA_MAX 0xFB
#define STREAM_FULL     0xFC
#define STREAM_RAW      0xFD
#define STREAM_OVERRUN  0xFE
#define STREAM_LEAVE    0xFF

typedef struct stream {
	const uint8_t *p;
	size_t left;
	unsigned long answers; /* answers given so far */
} stream;

void stream_init(stream *s, const uint8_t *data, size_t size);

/* The next answer into resp (capacity *resp_len; *resp_len gets its
 * length, which may exceed the capacity for STREAM_OVERRUN, with nothing
 * written past it). False when the phone leaves. */
bool stream_answer(stream *s, uint8_t *resp, size_t *resp_len);

/* Append the encoding of one answer to out (capacity cap, *len used so
 * far): for recording seeds. False when it does not fit. */
bool stream_record(uint8_t *out, size_t cap, size_t *len, const uint8_t *resp, size_t resp_len);

#endif
