/* vpcd transport for kazashi-phone-sim. Only framing lives here: what the
 * messages mean is main.c's business. */
#include "config.h"

#include "vpcd.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

int vpcd_connect(const char *host, unsigned short port)
{
	struct addrinfo hints, *res = NULL, *ai;
	char service[8];
	int fd = -1, err, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	err = getaddrinfo(host, service, &hints, &res);
	if (err != 0) {
		errno = err == EAI_SYSTEM ? errno : EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
		errno = err;
	}
	freeaddrinfo(res);
	/* APDUs are small and answered one at a time: do not let Nagle hold
	 * an answer back. */
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* 1 = n bytes read, 0 = closed before any byte, -1 = error or closed in
 * the middle of a message. */
static int read_full(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		/* vpcd writes a message's length and its payload separately;
		 * with delayed ACKs on our side the payload waits ~40 ms for
		 * Nagle on vpcd's. Quick ACKs must be asked for before every
		 * read: the kernel turns them off again by itself. */
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		ssize_t r = recv(fd, buf + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return got == 0 ? 0 : -1;
		got += (size_t)r;
	}
	return 1;
}

int vpcd_recv(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t hdr[2];
	size_t n;
	int r;

	r = read_full(fd, hdr, sizeof(hdr));
	if (r <= 0)
		return r;
	n = (size_t)hdr[0] << 8 | hdr[1];
	if (n > cap) {
		errno = EMSGSIZE;
		return -1;
	}
	if (n > 0 && read_full(fd, buf, n) != 1)
		return -1;
	*len = n;
	return 1;
}

int vpcd_send(int fd, const uint8_t *buf, size_t len)
{
	uint8_t msg[2 + VPCD_MSG_MAX];
	size_t sent = 0, total = len + 2;

	if (len > VPCD_MSG_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	/* one write, so that vpcd never sees a length without its payload */
	msg[0] = (uint8_t)(len >> 8);
	msg[1] = (uint8_t)len;
	if (len > 0)
		memcpy(msg + 2, buf, len);
	while (sent < total) {
		ssize_t r = send(fd, msg + sent, total - sent, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		sent += (size_t)r;
	}
	return 0;
}
