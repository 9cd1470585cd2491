#ifndef SENDMAIL_RW_H
#define SENDMAIL_RW_H
/*
 * sendmail_rw: rewriting of addresses in mail sent from this host
 * (sendmail's genericstable and masquerading). Used by sendmail, and by
 * qsmtpd for authenticated clients when control/submissiongenerics is
 * present (qsmtpd_generics.c); qinject's qmail-queue face never rewrites.
 *
 * control/generics (or its compiled control/generics.cdb, preferred when
 * present): "key <blanks> new-address", key "user" (that user at any local
 * host name: control/me or an entry of control/locals) or "user@host",
 * looked up lowercased: the full address first, then the local part.
 * control/masquerade: a domain that replaces the host part of a local
 * address that generics left alone, unless the local part is listed in
 * control/masquerade_exceptions (e.g. root).
 * control/masquerade_envelope: present (and not "0"): the envelope sender
 * is rewritten too; else only the From, Sender and Reply-To headers.
 */
#include <stddef.h>
#include <stralloc.h>

struct rw {
  stralloc me;          /* control/me */
  stralloc locals;      /* control/locals, ctl_readlist form */
  stralloc generics;    /* control/generics entries when there is no .cdb */
  int generics_cdb;     /* 1: look keys up in control/generics.cdb */
  stralloc masq;        /* control/masquerade, lowercased; empty: none */
  stralloc masq_except; /* control/masquerade_exceptions */
  int masq_envelope;
};

/* Reads the control files; the caller has chdir'd to QHOME and filled
 * r->me. 0, or -1 + errno (a control file could not be read). */
int rw_init(struct rw *r);
/* 1 if domain d (dlen bytes) is one of ours (control/me, control/locals). */
int rw_islocal(const struct rw *r, const char *d, size_t dlen);
/* Rewrites internal address a (len bytes, with '@') into out (not
 * NUL-terminated): 1 rewritten, 0 left alone (out holds a copy), -1 error
 * + errno. */
int rw_address(struct rw *r, const char *a, size_t len, stralloc *out);
void rw_free(struct rw *r);

#endif
