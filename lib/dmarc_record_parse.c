/*
 * dmarc_record_parse: one DMARC record's tags (RFC 9989). libc only
 * (dmarc.h). Library code.
 */
#include <string.h>
#include <strings.h>

#include "dmarc.h"

#define TAG_MAX 16 /* longest tag name we look at, bytes */

static int is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* 1 if s[0..len) is word in any ASCII case */
static int is_word(const char *s, size_t len, const char *word)
{
  return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* DMARC_P_* for a policy value, or DMARC_P_UNSET if it is none of them */
static int policy_value(const char *s, size_t len)
{
  if (is_word(s, len, "none")) return DMARC_P_NONE;
  if (is_word(s, len, "quarantine")) return DMARC_P_QUARANTINE;
  if (is_word(s, len, "reject")) return DMARC_P_REJECT;
  return DMARC_P_UNSET;
}

/* 1 if one of the comma-separated URIs of rua= looks like a URI: a scheme
 * (RFC 3986 3.1) and a colon with something after it */
static int has_uri(const char *s, size_t len)
{
  size_t i = 0;

  while (i < len) {
    size_t start;
    size_t n = 0;

    while (i < len && is_space(s[i])) i++;
    start = i;
    while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                       (i > start && ((s[i] >= '0' && s[i] <= '9') || s[i] == '+' ||
                                      s[i] == '-' || s[i] == '.'))))
      i++;
    if (i > start && i < len && s[i] == ':') {
      for (i++; i < len && s[i] != ',' && !is_space(s[i]); i++) n++;
      if (n > 0) return 1;
    }
    while (i < len && s[i] != ',') i++;
    i++;
  }
  return 0;
}

int dmarc_record_parse(const char *txt, struct dmarc_record *r)
{
  const char *p = txt;
  int first = 1;
  unsigned int seen = 0; /* bit per known tag: the first of a repeated tag wins */

  r->p = DMARC_P_UNSET;
  r->sp = DMARC_P_UNSET;
  r->np = DMARC_P_UNSET;
  r->adkim_strict = 0;
  r->aspf_strict = 0;
  r->testing = 0;
  r->psd = DMARC_PSD_U;
  r->has_rua = 0;
  r->bad_policy = 0;

  for (;;) {
    const char *name;
    size_t namelen;
    const char *val;
    size_t vallen;
    const char *end = strchr(p, ';');
    const char *eq;
    unsigned int bit = 0;

    if (end == NULL) end = p + strlen(p);

    /* the tag "name = value" between p and end, white space trimmed (RFC
       9989's ABNF: none before v=, which the record starts with) */
    if (!first)
      while (p < end && is_space(*p)) p++;
    for (eq = p; eq < end && *eq != '='; eq++)
      ;
    if (eq == end) {
      /* an empty tag-spec (";;", a final ";") or text that is no tag: ignored
         like an unknown tag, except in the place of v= */
      if (first) return 0;
      goto next;
    }
    name = p;
    namelen = (size_t)(eq - p);
    while (namelen > 0 && is_space(name[namelen - 1])) namelen--;
    val = eq + 1;
    while (val < end && is_space(*val)) val++;
    vallen = (size_t)(end - val);
    while (vallen > 0 && is_space(val[vallen - 1])) vallen--;

    if (first) {
      /* RFC 9989: v=DMARC1 is required and comes first */
      /* %x44.4d.41.52.43.31 in the ABNF: "DMARC1" in upper case only */
      if (!is_word(name, namelen, "v") || vallen != 6 || memcmp(val, "DMARC1", 6) != 0) return 0;
      first = 0;
      goto next;
    }
    if (namelen > TAG_MAX) goto next;

    if (is_word(name, namelen, "p")) bit = 1;
    else if (is_word(name, namelen, "sp")) bit = 2;
    else if (is_word(name, namelen, "np")) bit = 4;
    else if (is_word(name, namelen, "adkim")) bit = 8;
    else if (is_word(name, namelen, "aspf")) bit = 16;
    else if (is_word(name, namelen, "t")) bit = 32;
    else if (is_word(name, namelen, "psd")) bit = 64;
    else if (is_word(name, namelen, "rua")) bit = 128;
    if (bit == 0 || (seen & bit) != 0) goto next; /* unknown or repeated */
    seen |= bit;

    switch (bit) {
      case 1: r->p = policy_value(val, vallen); break;
      case 2:
        r->sp = policy_value(val, vallen);
        if (r->sp == DMARC_P_UNSET) r->bad_policy = 1;
        break;
      case 4:
        r->np = policy_value(val, vallen);
        if (r->np == DMARC_P_UNSET) r->bad_policy = 1;
        break;
      case 8: r->adkim_strict = is_word(val, vallen, "s"); break;
      case 16: r->aspf_strict = is_word(val, vallen, "s"); break;
      case 32: r->testing = is_word(val, vallen, "y"); break;
      case 64:
        if (is_word(val, vallen, "y")) r->psd = DMARC_PSD_Y;
        else if (is_word(val, vallen, "n")) r->psd = DMARC_PSD_N;
        break;
      case 128: r->has_rua = has_uri(val, vallen); break;
    }
  next:
    if (*end == '\0') break;
    p = end + 1;
  }
  if (first) return 0;
  if (r->p == DMARC_P_UNSET) r->bad_policy = 1;
  return 1;
}
