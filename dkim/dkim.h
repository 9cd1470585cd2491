#ifndef DKIM_H
#define DKIM_H
/*
 * dkim: DKIM signing and verification (RFC 6376, RFC 8463 Ed25519,
 * RFC 8301 algorithm and key size rules). ISC licence.
 *
 * This library links OpenSSL 3 (EVP) and libc, and of lib/ only the dnsq
 * stub resolver (lib/dnsq*.o, libc only): never libowfat or lib/lib.a
 * (GPL-2.0-only and Apache-2.0 may not share a binary; see HACKING.md).
 * Link $(DKIMOBJ) (dkim/build.mk) with $(SSLLIBS) or $(SSLSTATIC).
 * Library code: it never exits and never prints.
 *
 * Messages are as in the queue: LF line ends, the header, an empty line,
 * the body. Canonicalization treats each LF as CRLF, as on the wire (a CR
 * before an LF is taken as part of that line end).
 *
 * Key layout (control/dkim under QHOME; qdkim-keygen writes it):
 *   DIR/DOMAIN/selector          the active selector: one line, e.g. "s2026"
 *   DIR/DOMAIN/SELECTOR.rsa      PEM private key, RSA (2048 bits by default)
 *   DIR/DOMAIN/SELECTOR.ed25519  PEM private key, Ed25519
 * Both files present: the message gets two signatures (RFC 8463 dual
 * signing). Rotation: make a new selector's keys, publish its records,
 * then rewrite DIR/DOMAIN/selector. DOMAIN is in lower case.
 */
#include <stddef.h>
#include <time.h>

/* canonicalization */
#define DKIM_SIMPLE 0
#define DKIM_RELAXED 1

/* key types (dkim_key_type) */
#define DKIM_RSA 1
#define DKIM_ED25519 2

/* limits */
#define DKIM_MAX_SIGS 10        /* DKIM-Signature headers checked per message */
#define DKIM_MAX_RECS 8         /* TXT records taken from one key lookup */
#define DKIM_MAX_HEADER 16384   /* one DKIM-Signature header or key record, bytes */
#define DKIM_MAX_HNAMES 64      /* names in h= */
#define DKIM_RSA_MIN_BITS 1024  /* RFC 8301 3.2: smaller keys are not accepted */

/* results; dkim_result_name() gives the RFC 8601 words "none", "pass",
 * "fail", "neutral", "policy", "temperror", "permerror" */
enum dkim_status {
  DKIM_NONE,
  DKIM_PASS,
  DKIM_FAIL,
  DKIM_NEUTRAL,
  DKIM_POLICY,
  DKIM_TEMPERROR,
  DKIM_PERMERROR
};
const char *dkim_result_name(enum dkim_status st);

/* A private key: RSA or Ed25519. */
struct dkim_key;
struct dkim_key *dkim_key_load(const char *path); /* PEM; NULL + errno (EINVAL: not
                                                     an RSA or Ed25519 key, or RSA
                                                     under DKIM_RSA_MIN_BITS or
                                                     over 8192 bits) */
void dkim_key_free(struct dkim_key *key);
int dkim_key_type(const struct dkim_key *key);    /* DKIM_RSA or DKIM_ED25519 */

/* Signs msg (len bytes) for d=domain, s=selector with key: a=rsa-sha256 or
 * ed25519-sha256, c=relaxed/relaxed, t=now, no l=, h= over-signing From,
 * To, Subject, Date, Message-ID, Reply-To, Cc, MIME-Version, Content-Type,
 * Content-Transfer-Encoding (a name present N times is listed N+1 times,
 * an absent one once). Writes a malloc'd "DKIM-Signature: ...\n" (folded,
 * LF line ends, NUL-terminated) into *out and its length into *outlen.
 * 0 ok; -1 + errno (EINVAL: bad domain/selector or no header; ENOMEM;
 * EIO: the crypto failed). */
int dkim_sign(const char *msg, size_t len, const char *domain, const char *selector,
              const struct dkim_key *key, time_t now, char **out, size_t *outlen);

/* The result of one signature. */
struct dkim_result {
  enum dkim_status status;
  char domain[256];   /* d= */
  char selector[64];  /* s= */
  char algo[24];      /* a= */
  char identity[256]; /* i= or "" */
  char bprefix[16];   /* first 8 chars of b= (RFC 6008 header.b) */
  long long bodylen;  /* l= or -1; when set, only that many body bytes were signed */
  int testing;        /* 1 if the key record says t=y (RFC 6376 3.6.1) */
  char reason[128];   /* one line, for logs and A-R comments */
};

/* Looks up the TXT records of name ("sel._domainkey.dom"): stores up to max
 * records into recs, each malloc'd and NUL-terminated (the record's
 * character-strings joined; the caller frees each), and returns their
 * count: 0 none (NXDOMAIN, no TXT), -1 temporary failure. */
typedef int (*dkim_lookup_fn)(const char *name, char **recs, int max, void *cookie);

/* The lookup through lib/dnsq (control/resolvers, else /etc/resolv.conf).
 * cookie is unused. */
int dkim_lookup_dns(const char *name, char **recs, int max, void *cookie);

/* Verifies up to max (at most DKIM_MAX_SIGS) DKIM-Signature headers of msg,
 * top down, with keys from lookup (dkim_lookup_dns or the caller's). Writes
 * one result per signature checked into res, in the order of the headers.
 * Returns the number of results written (0 = no signature), -1 only on
 * memory failure. flags: 0 checks every signature; DKIM_VERIFY_ENOUGH
 * checks the RSA ones first and leaves out (no result) an Ed25519 one whose
 * d= has already passed: one good signature per domain is enough (RFC 6376
 * 6.1), and an Ed25519 check costs about ten RSA-2048 ones. */
#define DKIM_VERIFY_ENOUGH 1
int dkim_verify(const char *msg, size_t len, struct dkim_result *res, int max,
                dkim_lookup_fn lookup, void *cookie, time_t now, int flags);

/* A signing key found for a domain. */
struct dkim_keyfile {
  char domain[256];   /* the domain that has keys (d=): the From domain or a parent */
  char selector[64];
  char path[4096];    /* DIR/DOMAIN/SELECTOR.rsa or .ed25519 */
  int type;           /* DKIM_RSA or DKIM_ED25519 */
};

/* Finds the keys for a From domain in dir (the layout above): the domain
 * itself first, then each parent domain (a.b.example.com, b.example.com,
 * example.com, com), the first that has a selector file wins. Fills up to
 * max entries (RSA first, then Ed25519) and returns their count; 0 none;
 * -1 + errno on an error other than a missing file (EINVAL: bad domain or
 * selector). Does not open the keys: dkim_key_load does. */
int dkim_keys_for(const char *dir, const char *domain, struct dkim_keyfile *keys, int max);

#endif
