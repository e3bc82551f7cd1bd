/* Logging: one line a message, to stderr or a file, filtered by level.
 * Never pass a PIN to these functions; APDU traces redact VERIFY and
 * CHANGE REFERENCE DATA bodies through kz_log_apdu. */
#ifndef KZ_UTIL_LOG_H
#define KZ_UTIL_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef enum kz_log_level {
	KZ_LOG_NONE = 0,
	KZ_LOG_ERROR = 1,
	KZ_LOG_WARN = 2,
	KZ_LOG_INFO = 3,
	KZ_LOG_DEBUG = 4,
} kz_log_level;

/* Set from configuration and KAZASHI_DEBUG; path NULL = stderr. */
void kz_log_configure(kz_log_level level, const char *path, bool apdu_trace);
void kz_log_close(void);
bool kz_log_enabled(kz_log_level level);

void kz_log(kz_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define KZ_ERROR(...) kz_log(KZ_LOG_ERROR, __VA_ARGS__)
#define KZ_WARN(...)  kz_log(KZ_LOG_WARN, __VA_ARGS__)
#define KZ_INFO(...)  kz_log(KZ_LOG_INFO, __VA_ARGS__)
#define KZ_DEBUG(...) kz_log(KZ_LOG_DEBUG, __VA_ARGS__)

/* Trace one exchange when the APDU trace is on. The body of VERIFY (INS 20)
 * and CHANGE REFERENCE DATA (INS 24) is printed as asterisks. */
void kz_log_apdu(const char *reader, const uint8_t *cmd, size_t cmd_len, const uint8_t *resp,
                 size_t resp_len);

#endif
