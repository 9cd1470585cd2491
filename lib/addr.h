#ifndef ADDR_H
#define ADDR_H
/*
 * addr: RFC 5321 paths and mailboxes.
 *
 * Internal form of an address everywhere (envelope, queue, logs, maps):
 * "local@domain" with the local part unquoted (a quoted local part is
 * stored decoded: "\"a b\"@x" becomes "a b@x"), the domain lowercased and
 * without a trailing dot. The split is at the LAST '@'. The null sender is
 * the empty string. addr_quote turns the internal form back into what goes
 * on the wire.
 */
#include <stddef.h>

#define ADDR_MAX_LOCAL 64    /* RFC 5321 4.5.3.1.1 */
#define ADDR_MAX_DOMAIN 255  /* RFC 5321 4.5.3.1.2 */
#define ADDR_MAX 320         /* local + '@' + domain, without NUL */

struct addr {
  char s[ADDR_MAX + 1];  /* internal form, NUL-terminated */
  size_t len;            /* strlen(s) */
  size_t at;             /* index of the '@' in s; len if none (postmaster, null) */
  int null;              /* <> */
  int utf8;              /* has bytes >= 0x80 (needs SMTPUTF8) */
  int literal;           /* the domain is an address literal "[...]" */
  int quoted;            /* the local part was quoted on the wire */
  int routed;            /* a source route "@a,@b:" was given and dropped */
};

#define ADDR_ALLOW_NULL 1      /* accept <> (reverse-path) */
#define ADDR_ALLOW_BARE 2      /* accept a bare "postmaster" without domain (RCPT) */
#define ADDR_ALLOW_NOBRACKET 4 /* accept a path without < > (lenient clients) */
#define ADDR_ALLOW_UTF8 8      /* accept bytes >= 0x80 (SMTPUTF8 given) */

/*
 * Parses a path as in "MAIL FROM:<path> params": s points at '<' (or the
 * address when ADDR_ALLOW_NOBRACKET), len bytes are available. Returns the
 * bytes used (up to and including '>'), 0 if invalid. Checks RFC 5321
 * syntax: dot-atom or quoted-string local part, domain of labels
 * (letters, digits, hyphens; UTF-8 labels when ADDR_ALLOW_UTF8), address
 * literals [1.2.3.4] and [IPv6:...], the length limits. A source route is
 * dropped (a->routed = 1) as RFC 5321 4.1.1.3 allows.
 */
size_t addr_parse(struct addr *a, const char *s, size_t len, int flags);

/*
 * Parses an address already in internal form (from the queue or a map).
 * 1 valid, 0 not. Used to validate what crosses a process boundary.
 */
int addr_set(struct addr *a, const char *s, size_t len);

/*
 * Writes the wire form of internal address s (len bytes) into dest, without
 * angle brackets: the local part quoted when it is not a dot-atom. Returns
 * the length; dest NULL only measures. At most 2 * ADDR_MAX + 2 bytes.
 * Returns 0 (and writes nothing) if len > ADDR_MAX.
 */
size_t addr_quote(char *dest, const char *s, size_t len);
#define ADDR_QUOTED_MAX (2 * ADDR_MAX + 4)

/*
 * Helpers of the parser, exported for qsmtpd (HELO) and the map compilers.
 *
 * addr_scandomain: parses a domain or an address literal at s (len bytes
 * available) and stops at the first byte that cannot continue it. Writes
 * the internal form (ASCII lowercased, one trailing dot removed, IPv4
 * literal octets without leading zeros, "[IPv6:" + lowercase hex) into out
 * (at least ADDR_MAX_DOMAIN + 2 bytes), its length into *outlen, and sets
 * *literal. UTF-8 labels only with ADDR_ALLOW_UTF8 (then *utf8 = 1).
 * Returns the bytes used, 0 if invalid.
 */
size_t addr_scandomain(const char *s, size_t len, int flags, char *out, size_t *outlen,
                       int *literal, int *utf8);

/* Length of the well-formed UTF-8 sequence (RFC 3629) at s, 0 if it is
 * malformed, overlong, a surrogate, above U+10FFFF or a C1 control.
 * An ASCII byte is a sequence of 1. */
size_t addr_utf8seq(const char *s, size_t len);

/* 1 if s (len bytes) is an RFC 5321 Dot-string (bytes >= 0x80 count as
 * atext, as RFC 6531 allows), 0 if not: then it must be quoted. */
int addr_isdotatom(const char *s, size_t len);

/* Domain part of internal address s (after the last '@'), or "" if none. */
const char *addr_domain(const char *s, size_t len, size_t *dlen);

#endif
