#ifndef QINJECT_HDR_H
#define QINJECT_HDR_H
/*
 * qinject_hdr: the header filter of local mail. A message from a local
 * user (sendmail, qinject's own command line, a ~/.forward) may carry an
 * Authentication-Results field that names this host's authserv-id: a
 * forged "dkim=pass" or "auth=pass smtp.auth=ceo@..." that mail readers
 * here would believe. Such a field is dropped with its continuation
 * lines, as qsmtpd drops them from a client's message (RFC 8601 5); so is
 * one too long to read (HDR_HOLD_MAX). Everything else passes byte for
 * byte. Input: the message with LF line ends (crlf_strip).
 *
 *   hdr_init(&h, "mx.example.org", put);  hdr_feed(&h, buf, n) ...;  hdr_end(&h);
 */
#include <stddef.h>

#define HDR_NAME_MAX 32     /* bytes of a field name looked at */
#define HDR_HOLD_MAX 8192   /* bytes of an Authentication-Results field kept */
#define HDR_OUT_MAX 4096

struct hdrfilter {
  const char *authservid;
  void (*out)(const char *s, size_t len);
  int state;
  int holding;    /* an Authentication-Results field is in hold */
  int drop_cont;  /* the last field was dropped: so are its continuations */
  char name[HDR_NAME_MAX];
  size_t namelen;
  char hold[HDR_HOLD_MAX];
  size_t holdlen;
  char buf[HDR_OUT_MAX];
  size_t buflen;
};

void hdr_init(struct hdrfilter *h, const char *authservid, void (*out)(const char *, size_t));
void hdr_feed(struct hdrfilter *h, const char *s, size_t len);
/* The end of the message: what is held goes out (or is dropped), all flushed. */
void hdr_end(struct hdrfilter *h);

#endif
