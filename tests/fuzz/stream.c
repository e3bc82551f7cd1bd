/* The answer stream of stream.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "stream.h"

void stream_init(stream *s, const uint8_t *data, size_t size)
{
	s->p = data;
	s->left = size;
	s->answers = 0;
}

static bool take(stream *s, size_t n, const uint8_t **out)
{
	if (s->left < n)
		return false;
	*out = s->p;
	s->p += n;
	s->left -= n;
	return true;
}

static bool take_len(stream *s, size_t *n)
{
	const uint8_t *b;
	if (!take(s, 2, &b))
		return false;
	*n = (size_t)b[0] << 8 | b[1];
	return true;
}

/* Copy n bytes to resp, or report n without writing when they do not fit:
 * the module must refuse an answer longer than its buffer, not read it. */
static void put(uint8_t *resp, size_t *resp_len, const uint8_t *src, size_t n)
{
	if (n <= *resp_len)
		memcpy(resp, src, n);
	*resp_len = n;
}

bool stream_answer(stream *s, uint8_t *resp, size_t *resp_len)
{
	const uint8_t *k, *b;
	size_t n = 0;
	if (!take(s, 1, &k))
		return false;
	s->answers++;
	switch (*k) {
	case STREAM_LEAVE:
		return false;
	case STREAM_OVERRUN:
		if (!take_len(s, &n))
			return false;
		*resp_len += 1 + n;
		return true;
	case STREAM_RAW:
		if (!take_len(s, &n) || !take(s, n, &b))
			return false;
		put(resp, resp_len, b, n);
		return true;
	case STREAM_FULL:
		n = 256 + 2;
		break;
	default:
		n = (size_t)*k + 2;
		break;
	}
	if (!take(s, n, &b))
		return false;
	put(resp, resp_len, b, n);
	return true;
}

bool stream_record(uint8_t *out, size_t cap, size_t *len, const uint8_t *resp, size_t resp_len)
{
	uint8_t head[3];
	size_t head_len = 1;
	if (resp_len >= 2 && resp_len - 2 <= STREAM_DATA_MAX) {
		head[0] = (uint8_t)(resp_len - 2);
	} else if (resp_len == 256 + 2) {
		head[0] = STREAM_FULL;
	} else if (resp_len <= 0xFFFF) {
		head[0] = STREAM_RAW;
		head[1] = (uint8_t)(resp_len >> 8);
		head[2] = (uint8_t)resp_len;
		head_len = 3;
	} else {
		return false;
	}
	if (cap - *len < head_len + resp_len)
		return false;
	memcpy(out + *len, head, head_len);
	memcpy(out + *len + head_len, resp, resp_len);
	*len += head_len + resp_len;
	return true;
}
