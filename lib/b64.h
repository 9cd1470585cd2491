#ifndef B64_H
#define B64_H
/*
 * b64_decode: base64 (RFC 4648 4) as SASL exchanges carry it: SMTP AUTH
 * (RFC 4954) in qsmtpd and POP3 AUTH (RFC 5034) in qpop3d; and the split
 * of a PLAIN response both take. Strict: the
 * length is a multiple of 4, '=' only as the last one or two characters,
 * no blanks or line breaks.
 */
#include <stddef.h>

/* Decodes len bytes of s into out (at most max bytes). The length
 * decoded, or (size_t)-1 if s is invalid or decodes to more than max. */
size_t b64_decode(char *out, size_t max, const char *s, size_t len);

/* A SASL PLAIN response (RFC 4616), decoded (len bytes of s):
 * authzid\0authcid\0passwd. 1: *user, *pass point into s (either may
 * be empty: the caller judges); 0 malformed (not two NULs); -1 an
 * authzid other than the login (compared without ASCII case).
 * lib/sasl_plain.c. */
int sasl_plain_split(const char *s, size_t len, const char **user, size_t *ulen,
                     const char **pass, size_t *plen);

#endif
