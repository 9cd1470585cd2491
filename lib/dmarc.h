#ifndef DMARC_H
#define DMARC_H
/*
 * dmarc: Domain-based Message Authentication, Reporting and Conformance,
 * RFC 9989 (which obsoletes RFC 7489): the record, policy discovery and the
 * organizational domain by the DNS tree walk (no public suffix list),
 * identifier alignment (relaxed and strict) and the result.
 *
 * Licence family: these files (lib/dmarc*.c) use libc and lib/dnsq alone,
 * neither libowfat nor OpenSSL, so that qdkimd (OpenSSL) and qsmtpd
 * (libowfat) may both link them (HACKING.md, Libraries).
 * Library code: it never exits and never prints.
 *
 * Use: dmarc_from_domain on the message's header, then dmarc_eval with the
 * SPF and DKIM verdicts; authres_dmarc (authres.h) writes the result.
 */
#include <stddef.h>

/* results (struct dmarc_out.result); dmarc_result_name gives the RFC 8601
 * words "none", "pass", "fail", "temperror", "permerror" */
#define DMARC_NONE 0       /* no policy record, or nothing to evaluate */
#define DMARC_PASS 1       /* SPF or DKIM passed for an aligned identifier */
#define DMARC_FAIL 2       /* a policy exists and nothing aligned passed */
#define DMARC_TEMPERROR 3  /* a DNS lookup failed for now */
#define DMARC_PERMERROR 4  /* the From field cannot be evaluated */

/* policies (p=, sp=, np=) */
#define DMARC_P_UNSET (-1) /* tag absent */
#define DMARC_P_NONE 0
#define DMARC_P_QUARANTINE 1
#define DMARC_P_REJECT 2

/* psd= */
#define DMARC_PSD_U 0      /* absent or "u": unknown */
#define DMARC_PSD_Y 1      /* a public suffix domain */
#define DMARC_PSD_N 2      /* the organizational domain itself */

#define DMARC_WALK_MAX 8   /* DNS queries of one tree walk (RFC 9989) */
#define DMARC_RECS_MAX 8   /* TXT records taken from one _dmarc name */
#define DMARC_DOMAIN_MAX 253 /* a domain as text, without the final dot */

/* One DMARC record (RFC 9989's tags). Unknown tags are ignored; so are the
 * reporting tags (rua ruf fo) apart from noting that rua has a URI. */
struct dmarc_record {
  int p;           /* DMARC_P_*; DMARC_P_UNSET when absent or invalid */
  int sp;          /* DMARC_P_*; DMARC_P_UNSET: as p */
  int np;          /* DMARC_P_*; DMARC_P_UNSET: as sp, then p */
  int adkim_strict; /* adkim=s */
  int aspf_strict;  /* aspf=s */
  int testing;     /* t=y */
  int psd;         /* DMARC_PSD_* */
  int has_rua;     /* rua= holds at least one syntactically valid URI */
  int bad_policy;  /* p= absent or invalid, or sp= or np= invalid */
};

/* Parses a TXT record's text (NUL-terminated). Tags: "v=DMARC1" first
 * (required, at the very start, "DMARC1" in upper case), then name=value
 * pairs split by ';', white space around names, '=' and values ignored,
 * names and keyword values in any case, the first of a repeated tag wins,
 * an invalid value of adkim, aspf, t or psd is taken as absent. Returns 1
 * for a DMARC record (r filled), 0 for a record that is not one (the tree
 * walk discards it). A record with bad_policy set counts, when it is the
 * one that applies, as "p=none" if it has rua=, else as no record at all
 * (RFC 9989 policy discovery). */
int dmarc_record_parse(const char *txt, struct dmarc_record *r);

/* The DNS as dmarc_eval sees it. txt: stores up to max TXT records of name
 * into recs, each malloc'd and NUL-terminated (the caller frees each), and
 * returns their count: 0 none (NXDOMAIN or no TXT), -1 temporary failure
 * (the same contract as dkim's dkim_lookup_fn). exists: 0 if name does
 * not exist (NXDOMAIN: RFC 9989's non-existent domain, as in RFC 8020), 1
 * if it does, -1 temporary failure. */
typedef int (*dmarc_txt_fn)(const char *name, char **recs, int max, void *cookie);
typedef int (*dmarc_exists_fn)(const char *name, void *cookie);
struct dmarc_dns {
  dmarc_txt_fn txt;
  dmarc_exists_fn exists;
  void *cookie;
};

/* The same through lib/dnsq (control/resolvers, else /etc/resolv.conf);
 * cookie unused. dmarc_dns_default holds both; dmarc_eval takes it when
 * given NULL. */
int dmarc_txt_dns(const char *name, char **recs, int max, void *cookie);
int dmarc_exists_dns(const char *name, void *cookie);
extern const struct dmarc_dns dmarc_dns_default;

/* One authenticated identifier. */
struct dmarc_auth {
  const char *domain; /* SPF: the MAIL FROM domain (HELO when MAIL FROM is
                         empty); DKIM: d=. NULL: no result */
  int pass;           /* 1: SPF pass, DKIM pass */
};

struct dmarc_in {
  const char *from_domain;       /* from dmarc_from_domain */
  struct dmarc_auth spf;         /* spf.domain NULL: SPF was not checked */
  int spf_temperror;             /* SPF gave temperror */
  const struct dmarc_auth *dkim; /* one per DKIM signature, ndkim of them */
  int ndkim;
  int dkim_temperror;            /* a DKIM key lookup gave temperror */
};

struct dmarc_out {
  int result;               /* DMARC_NONE PASS FAIL TEMPERROR PERMERROR */
  int policy;               /* the policy that applies (p, sp or np):
                               DMARC_P_NONE QUARANTINE REJECT; DMARC_P_NONE
                               unless a record was found */
  int p;                    /* the record's p= (DMARC_P_NONE when absent) */
  int testing;              /* t=y (RFC 9989's t tag): the owner tests its
                               policy and expects one level less to be
                               applied to a fail: reject as quarantine,
                               quarantine as none */
  int spf_aligned;          /* 1 if SPF passed for an aligned domain */
  int dkim_aligned;         /* 1 if a DKIM signature passed aligned */
  char domain[DMARC_DOMAIN_MAX + 1];        /* the From domain (header.from) */
  char policy_domain[DMARC_DOMAIN_MAX + 1]; /* where the record was found, "" */
  char org_domain[DMARC_DOMAIN_MAX + 1];    /* the From domain's organizational
                                               domain, "" when not looked for */
  char reason[128];         /* one line, for logs and A-R comments */
};

/* Evaluates DMARC (RFC 9989) for in; dns NULL: the dnsq
 * functions above. Policy discovery (RFC 9989): the record at _dmarc.FROM;
 * without one, a tree walk finds the organizational domain, whose record
 * applies, else that of a public suffix domain (psd=y) above it; several
 * DMARC records at one name count as none. The record at FROM applies p=,
 * another sp= (np= when FROM does not exist), each falling back to p=.
 * Relaxed alignment compares organizational domains found by tree walks.
 * in->from_domain NULL or empty: result DMARC_NONE. Temporary DNS failures
 * (memory too) give DMARC_TEMPERROR, and so does an SPF or DKIM temperror
 * when nothing aligned passed. Returns out->result. */
int dmarc_eval(const struct dmarc_in *in, struct dmarc_out *out, const struct dmarc_dns *dns);

/* The pieces, exported for the tests. */

/* The names a tree walk from domain (lower case, no final dot) asks, in
 * order (RFC 9989's DNS tree walk): domain itself, then, when it has 8 labels or
 * more, its last 7 labels, then one label less each time down to the last
 * label. Pointers into domain; their count (at most DMARC_WALK_MAX). */
int dmarc_walk_names(const char *domain, const char *names[DMARC_WALK_MAX]);

/* The DMARC record of domain: TXT at _dmarc.DOMAIN, records that are not
 * DMARC discarded. 1: exactly one (r filled); 0: none, or several (RFC
 * 9989: then none is used); -1: temporary DNS failure. */
int dmarc_lookup(const char *domain, struct dmarc_record *r, const struct dmarc_dns *dns);

/* What one DNS tree walk from a domain found (RFC 9989's DNS tree walk and
 * its choice of the Organizational Domain). The walk stops after a record
 * with psd=y or psd=n. */
struct dmarc_walk {
  int count;                          /* names asked */
  const char *names[DMARC_WALK_MAX];  /* from dmarc_walk_names */
  int found[DMARC_WALK_MAX];          /* 1: names[i] had one DMARC record */
  struct dmarc_record rec[DMARC_WALK_MAX];
  int org;                            /* index of the organizational domain in
                                         names when it has a record, else -1 */
  int psd;                            /* index of a psd=y record above the
                                         organizational domain, else -1 */
  char org_domain[DMARC_DOMAIN_MAX + 1];
};
#define DMARC_WALK_ASK (-2)           /* dmarc_walk: first not known yet */

/* Walks from domain (lower case, no final dot). first: dmarc_lookup's
 * result for domain itself when the caller has it (first_rec then holds
 * the record if it is 1), or DMARC_WALK_ASK. 0, or -1 on a temporary DNS
 * failure. */
int dmarc_walk(const char *domain, int first, const struct dmarc_record *first_rec,
               struct dmarc_walk *w, const struct dmarc_dns *dns);

/* The organizational domain of domain (RFC 9989) into org (room
 * DMARC_DOMAIN_MAX + 1). 0, or -1 on a temporary DNS failure. */
int dmarc_org_domain(const char *domain, char *org, const struct dmarc_dns *dns);

/* The RFC5322.From domain of a message's header section (msg, len bytes,
 * LF or CRLF line ends; it ends at the first empty line or at len): the
 * domain of the one address of the one From field, lower case, without a
 * final dot, into dom (domsize bytes, NUL-terminated).
 * Returns its length (> 0); -1 when there is nothing to evaluate (no From
 * field, or a group with no address: DMARC "none"); -2 when the From
 * cannot be evaluated (several From fields, several addresses, no domain,
 * a domain literal or an invalid domain, or longer than domsize - 1: DMARC
 * "permerror"). A label in UTF-8 (RFC 6532) is given as its A-label
 * (dmarc_alabel), as RFC 9989 asks. */
int dmarc_from_domain(const char *msg, size_t len, char *dom, size_t domsize);

/* The A-label of a U-label (label, len bytes of UTF-8) into out (outsize
 * bytes, NUL-terminated): "xn--" and its Punycode (RFC 3492), taken as it
 * is (no Unicode normalization). Its length; -1 if the label is all ASCII,
 * not UTF-8, or its A-label is over 63 bytes or does not fit. */
int dmarc_alabel(const char *label, size_t len, char *out, size_t outsize);

/* "none", "pass", "fail", "temperror", "permerror" */
const char *dmarc_result_name(int result);

/* "none", "quarantine", "reject" (DMARC_P_UNSET: "none") */
const char *dmarc_policy_name(int policy);

#endif
