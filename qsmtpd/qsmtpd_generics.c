/*
 * qsmtpd_generics: generics and masquerading (sendmail_rw.h) for mail
 * that authenticated users submit, when control/submissiongenerics is
 * present: the From:, Sender: and Reply-To: fields, and, with
 * control/masquerade_envelope, the envelope sender, are rewritten the way
 * the sendmail front end rewrites mail sent on this host. Mail from
 * clients that did not log in is never rewritten.
 */
#include <string.h>

#include <stralloc.h>

#include "addr.h"
#include "qsmtpd.h"
#include "sendmail_hdr.h"
#include "sendmail_rw.h"

#define SPANS_MAX 100 /* addresses rewritten in one field; the rest stay */

static struct rw rw;
static stralloc field_out;

int generics_start(const stralloc *me)
{
  if (!stralloc_copy(&rw.me, me)) return -1;
  if (rw.me.len > 0 && rw.me.s[rw.me.len - 1] == '\0') rw.me.len--;
  return rw_init(&rw);
}

int generics_sender(char *sender, size_t size)
{
  stralloc out = {0};
  size_t len = strlen(sender);
  int r;

  if (!rw.masq_envelope || len == 0) return 0;
  r = rw_address(&rw, sender, len, &out);
  if (r == 1 && out.len < size) {
    memcpy(sender, out.s, out.len);
    sender[out.len] = '\0';
  }
  stralloc_free(&out);
  return r == -1 ? -1 : 0;
}

size_t generics_field(void *cookie, const char *f, size_t flen, const char **out)
{
  static struct hdr_span spans[SPANS_MAX];
  stralloc rewritten = {0};
  struct addr a;
  char quoted[ADDR_QUOTED_MAX];
  const char *colon = memchr(f, ':', flen);
  size_t vstart;
  size_t vlen;
  size_t copied = 0;
  long count;
  long k;

  (void)cookie;
  *out = f;
  if (colon == NULL) return flen;
  vstart = (size_t)(colon - f) + 1;
  vlen = flen - vstart;
  while (vlen > 0 && (f[vstart + vlen - 1] == '\n' || f[vstart + vlen - 1] == '\r')) vlen--;
  count = hdr_addrlist(f + vstart, vlen, spans, SPANS_MAX);
  if (count <= 0) return flen;
  if (count > SPANS_MAX) count = SPANS_MAX;
  field_out.len = 0;
  for (k = 0; k < count; k++) {
    const char *text = f + vstart + spans[k].start;
    size_t tlen = spans[k].len;
    size_t used;

    if (memchr(text, '@', tlen) == NULL) continue;
    used = addr_parse(&a, text, tlen, ADDR_ALLOW_NOBRACKET | ADDR_ALLOW_UTF8);
    if (used != tlen || a.null) continue;
    if (rw_address(&rw, a.s, a.len, &rewritten) != 1) continue;
    if (rewritten.len > ADDR_MAX) continue;
    if (!stralloc_catb(&field_out, f + copied, vstart + spans[k].start - copied) ||
        !stralloc_catb(&field_out, quoted, addr_quote(quoted, rewritten.s, rewritten.len)))
      goto keep;
    copied = vstart + spans[k].start + tlen;
  }
  stralloc_free(&rewritten);
  if (copied == 0) return flen;
  if (!stralloc_catb(&field_out, f + copied, flen - copied)) return flen;
  *out = field_out.s;
  return field_out.len;
keep:
  stralloc_free(&rewritten);
  return flen; /* out of memory: the field as it came */
}
