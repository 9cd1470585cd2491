#ifndef AUTHRES_H
#define AUTHRES_H
/*
 * authres: the Authentication-Results header field, RFC 8601: writing one
 * (method results with their properties, folded, values quoted when they
 * are neither a token nor an address or domain), and telling whether one
 * that arrived names our authserv-id (such a field from outside is a
 * forgery and is removed, RFC 8601 5).
 *
 * Licence family: these files (lib/authres*.c) use libc alone (and
 * authres_dmarc the dmarc module, libc and lib/dnsq), neither libowfat nor
 * OpenSSL, so that qdkimd (OpenSSL) and qsmtpd (libowfat) may both link
 * them (HACKING.md, Libraries). Library code: it never exits and never
 * prints.
 *
 * Output (LF line ends, as in the queue; every line under 78 bytes unless
 * one value alone is longer):
 *   Authentication-Results: mx.example.net;
 *   \tspf=pass smtp.mailfrom=example.org;
 *   \tdkim=pass header.d=example.org header.s=s2026 header.a=rsa-sha256
 *   \t  header.b="AbCd/123";
 *   \tdmarc=pass (p=reject) header.from=example.org policy.dmarc=reject
 * and with no method: "Authentication-Results: mx.example.net; none".
 *
 * Use:
 *   char buf[AUTHRES_MAX];
 *   struct authres b;
 *   authres_start(&b, buf, sizeof buf, "mx.example.net");
 *   authres_method(&b, "dkim", "pass", NULL);
 *   authres_prop(&b, "header.d", "example.org");
 *   authres_prop(&b, "header.s", "s2026");
 *   authres_add(&b, "spf", "pass", "smtp.mailfrom", "example.org");
 *   len = authres_end(&b);   (-1: did not fit, or an invalid argument)
 */
#include <stddef.h>

#define AUTHRES_MAX 4096  /* a buffer that holds any header we write */
#define AUTHRES_FOLD 78   /* RFC 5322 2.1.1: lines SHOULD be under 78 bytes */

/* The header being written into the caller's buffer. Fields are private. */
struct authres {
  char *s;          /* the caller's buffer */
  size_t size;      /* its size */
  size_t len;       /* bytes written (the text stays NUL-terminated) */
  size_t col;       /* bytes on the current line */
  int methods;      /* method results written */
  int failed;       /* 1 once something did not fit or was invalid */
};

/* Starts "Authentication-Results: AUTHSERVID;" in buf (size bytes).
 * authservid: a token (a domain name); anything else makes authres_end
 * fail. */
void authres_start(struct authres *b, char *buf, size_t size, const char *authservid);

/* Starts a method result "method=result" on a line of its own, and
 * " reason=VALUE" when reason is not NULL (quoted when needed).
 * method and result: tokens ("spf", "pass", "dkim", "temperror"...). */
void authres_method(struct authres *b, const char *method, const char *result,
                    const char *reason);

/* Adds a comment " (text)" to the current method result: parentheses and
 * backslashes in text are escaped, control bytes become '?'. */
void authres_comment(struct authres *b, const char *text);

/* Adds " ptype.property=value" to the current method result (e.g.
 * "smtp.mailfrom", "header.d"): value as is when it is a token, a domain
 * or local-part@domain, else as a quoted-string (control bytes become
 * '?'). An empty value is written as "". */
void authres_prop(struct authres *b, const char *ptypeprop, const char *value);

/* authres_method(b, method, result, NULL) and, when ptypeprop is not NULL,
 * authres_prop(b, ptypeprop, value). */
void authres_add(struct authres *b, const char *method, const char *result,
                 const char *ptypeprop, const char *value);

/* Ends the header with its final LF (" none" first when no method was
 * written). Its length, or -1 if something did not fit or an argument was
 * invalid (the buffer then holds no usable header). */
long authres_end(struct authres *b);

struct dmarc_out;
/* Writes the DMARC result of dmarc_eval: "dmarc=RESULT (p=P[ applied=A]
 * [ t=y][ dis=D]) header.from=DOMAIN policy.dmarc=A" where P is the
 * record's p=, A the policy that applies when it is not P (sp= or np=), D
 * the given disposition ("none", "quarantine", "reject": what the caller
 * does; NULL leaves it out). The comment and policy.dmarc only when a
 * record was found, header.from only when out->domain is not empty. */
void authres_dmarc(struct authres *b, const struct dmarc_out *out, const char *disposition);

/* 1 if an Authentication-Results field value (value, len bytes: what
 * follows "Authentication-Results:", folding included) names authservid:
 * its first token or quoted-string after comments and white space (RFC
 * 8601 2.2), compared without regard to ASCII case; 0 if not or if it
 * cannot be read. Used to drop forged fields. */
int authres_is_ours(const char *value, size_t len, const char *authservid);

#endif
