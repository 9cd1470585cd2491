#ifndef QDKIMD_H
#define QDKIMD_H
/*
 * qdkimd internals (qdkimd.c and its qdkimd_*.c siblings). libc, OpenSSL
 * through dkim/, lib/dnsq, lib/fdpass, lib/dmarc, lib/authres: never
 * libowfat or lib/lib.a.
 */
#include <stddef.h>

#include "dkimproto.h"

/* A parsed request (dkimproto.h); the strings point into the packet. */
struct dkreq {
  int op;                 /* DKREQ_SIGN or DKREQ_VERIFY */
  unsigned long long off;
  unsigned long long len;
  const char *id;         /* "" when not given */
  const char *ip;
  const char *helo;
  const char *from;
  const char *spf;        /* "" when SPF did not run */
  const char *spfd;
  int spfhelo;
};
#define DKREQ_SIGN 1
#define DKREQ_VERIFY 2

/* Parses the request in buf (len bytes; lines are cut in place). 0, or
 * -1 malformed (no op, no off or len, a bad number, no final empty line). */
int dkreq_parse(struct dkreq *r, char *buf, size_t len);

/* An answer being built: "C LEN\n" fields note. */
struct dkans {
  char code;
  char fields[DKIMP_RESP_MAX - 64 - DKIMP_REASON_MAX];
  size_t fieldslen;
  char note[DKIMP_REASON_MAX + 1];
};
/* Appends s to the fields: 0, or -1 (no room). */
int dkans_add(struct dkans *a, const char *s, size_t len);
/* The note (cut to DKIMP_REASON_MAX). */
void dkans_note(struct dkans *a, const char *s);

/* The key directory, relative to QHOME */
#define DKIM_KEYDIR "control/dkim"

/* Signs msg (sign role): the DKIM-Signature fields for its From domain's
 * keys into a (code A, nothing when there is no key), or code T. */
void qdkimd_sign(const char *msg, size_t len, struct dkans *a);
/* Verifies msg (verify role): DKIM, DMARC with r's SPF result, the A-R
 * field; code A, or R for a DMARC reject (only with control/dmarcreject). */
void qdkimd_verify(const char *msg, size_t len, const struct dkreq *r, struct dkans *a);

#endif
