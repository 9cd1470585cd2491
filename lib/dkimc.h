#ifndef DKIMC_H
#define DKIMC_H
/*
 * dkimc: the client side of qdkimd's protocol (qdkimd/dkimproto.h), for
 * qsmtpd and qinject. libc only. Library code: never exits, never prints.
 */
#include <stddef.h>

#include "../qdkimd/dkimproto.h"

struct dkimc_answer {
  char code;              /* DKIMP_ADD, DKIMP_REJECT or DKIMP_TEMP */
  const char *fields;     /* header fields to prepend (into buf) */
  size_t fieldslen;
  char note[DKIMP_REASON_MAX + 1]; /* NUL-terminated, printable ASCII */
  char buf[DKIMP_RESP_MAX];
};

/* Connects to qdkimd's socket at path (SOCK_SEQPACKET, close-on-exec),
 * waiting at most DKIMP_CONNECT_MS. The socket, or -1 + errno. */
int dkimc_connect(const char *path);
/* The same, giving a service that does not listen yet (ENOENT,
 * ECONNREFUSED: the instance is starting) up to ms milliseconds. */
int dkimc_connect_wait(const char *path, int ms);

/* Appends "key value\n" to the request in buf (size bytes, *len used):
 * bytes of value outside printable ASCII become '?', a value is cut at
 * DKIMP_VALUE_MAX. 0, or -1 (no room: *len unchanged). */
int dkimc_add(char *buf, size_t size, size_t *len, const char *key, const char *value);
/* Starts a request in buf (size bytes; *len set): "op OP", "off OFF",
 * "len LEN", the part every request has. 0, or -1 (no room). */
int dkimc_start(char *buf, size_t size, size_t *len, const char *op, unsigned long long off,
                unsigned long long msglen);

/* Sends the request (req, without its final empty line) with msgfd and
 * reads the answer into *a, waiting at most DKIMP_TIMEOUT_MS. 0, or -1 +
 * errno (ETIMEDOUT, EPROTO for a malformed answer, EPIPE: qdkimd went
 * away): the caller then closes sock (a late answer must not be taken for
 * the next request's). */
int dkimc_call(int sock, int msgfd, const char *req, size_t reqlen, struct dkimc_answer *a);

#endif
