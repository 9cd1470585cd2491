#ifndef QTLS_STS_H
#define QTLS_STS_H
/*
 * MTA-STS policies (RFC 8461): the policy file's parser and the MX
 * pattern match, plain C (no OpenSSL, no libowfat), shared by qmtasts
 * and whoever reads its cache.
 *
 * A policy file (RFC 8461 3.2) is lines "key: value", ended by CRLF (a
 * bare LF is taken too), keys case-sensitive:
 *     version: STSv1
 *     mode: enforce
 *     mx: mail.example.com
 *     mx: *.example.net
 *     max_age: 604800
 * version must be STSv1; mode enforce, testing or none; max_age 0 to
 * 31557600; at least one mx unless the mode is none. A key seen twice
 * (mx aside) is an error; unknown keys are ignored (3.2: extensions).
 */
#include <stddef.h>

#define STS_NONE 0
#define STS_TESTING 1
#define STS_ENFORCE 2
#define STS_MX_MAX 32        /* mx lines kept; more is an error */
#define STS_NAME_MAX 253     /* a pattern: a host name, perhaps "*." first */
#define STS_MAX_AGE 31557600UL
#define STS_BODY_MAX 65536   /* bytes of a policy file (RFC 8461 3.3: 64 KiB) */

struct sts_policy {
  int mode;
  unsigned long max_age;
  size_t mx_count;
  char mx[STS_MX_MAX][STS_NAME_MAX + 1]; /* lowercase, no final dot */
};

/* Parses len bytes of text into p. 0, or -1 with *why a constant saying
 * what is wrong. */
int sts_parse(struct sts_policy *p, const char *text, size_t len, const char **why);
/* 1 if host (any case, a final dot allowed) matches one of p's mx
 * patterns (RFC 8461 4.1: "*." stands for exactly one label), else 0. */
int sts_mx_match(const struct sts_policy *p, const char *host);
/* The mode's name: "none", "testing", "enforce". */
const char *sts_mode_name(int mode);

/* qtls_http.c. The value of header name (any case) among the hlen bytes
 * of header lines at head (CRLF or LF ended), blanks trimmed, its length
 * in *vlen; NULL if absent. */
const char *http_header(const char *head, size_t hlen, const char *name, size_t *vlen);
/* Undoes chunked transfer coding (RFC 9112 7.1) of the len bytes at b,
 * in place: the body's length, or -1 if malformed or cut short. */
long http_dechunk(char *b, size_t len);

#endif
