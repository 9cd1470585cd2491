#ifndef SENDMAIL_HDR_H
#define SENDMAIL_HDR_H
/*
 * sendmail_hdr: the pieces of RFC 5322 that sendmail needs: header field
 * names, and the addr-specs inside an address list (From, To, Cc, ...).
 *
 *   "Ann <ann@example.org>, bob (Bob), team: c@x.example, d@y.example;"
 *   -> spans of "ann@example.org", "bob", "c@x.example", "d@y.example"
 *
 * Comments "(...)" and quoted strings are skipped as RFC 5322 3.2 says; a
 * group's display name and its ':' and ';' are not addresses; inside
 * "<...>" a source route "@a,@b:" is left out of the span. An element
 * with nothing in it ("undisclosed-recipients:;") gives no span.
 */
#include <stddef.h>

struct hdr_span {
  size_t start; /* offset of the addr-spec in the value */
  size_t len;
};

#define HDR_SPANS_MAX 10000 /* addresses taken from one field */

/* Finds the addr-specs in the address list v (len bytes); fills at most
 * max spans. Returns the number found (also those over max, which are not
 * stored), or -1 if the list is malformed (an unterminated quoted string,
 * comment or angle address). */
long hdr_addrlist(const char *v, size_t len, struct hdr_span *spans, size_t max);

/* If line (len bytes) starts a header field ("Name:"), the length of the
 * name (without trailing blanks); else 0. */
size_t hdr_fieldname(const char *line, size_t len);

/* 1 if the field name (len bytes) is name, without regard to case. */
int hdr_is(const char *field, size_t len, const char *name);

#endif
