/* The simulated phone as a reader back end of the module, in-process: for
 * unit tests, benchmarks and fuzzing of the whole PKCS#11 stack without
 * pcscd. One reader, "Simulated Reader 0". Test builds only. */
#ifndef KZ_SIM_BACKEND_H
#define KZ_SIM_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reader/reader.h"
#include "phone.h"

#define SIM_READER_NAME "Simulated Reader 0"

extern const kz_backend_ops sim_backend_ops;

/* Who answers APDUs: a simulated phone (the default), or any function
 * (fuzzers, hostile-answer tests). The function returns false when the
 * phone is gone; it must fit at most *resp_len bytes. */
typedef bool (*sim_answer_fn)(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                              size_t *resp_len);
void sim_backend_use_phone(sim_phone *phone);
void sim_backend_use_function(sim_answer_fn fn, void *ctx);

/* The phone enters (a new tap: the phone is reset) or leaves the field. */
void sim_backend_tap(void);
void sim_backend_leave(void);
/* How many transmits the back end carried, for tests of APDU counts. */
unsigned long sim_backend_transmits(void);
/* Make the module use this back end at its next C_Initialize. */
void sim_backend_install(void);

#endif
