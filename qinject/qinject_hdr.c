/*
 * qinject_hdr: drops Authentication-Results fields naming us from the
 * header of local mail (qinject_hdr.h).
 */
#include <string.h>

#include "authres.h"
#include "qinject_hdr.h"

enum { H_START, H_NAME, H_PASS, H_HOLD, H_DROP, H_BODY };

static void flush(struct hdrfilter *h)
{
  if (h->buflen > 0) h->out(h->buf, h->buflen);
  h->buflen = 0;
}

static void emit(struct hdrfilter *h, const char *s, size_t len)
{
  if (len > sizeof h->buf - h->buflen) {
    flush(h);
    if (len > sizeof h->buf) {
      h->out(s, len);
      return;
    }
  }
  memcpy(h->buf + h->buflen, s, len);
  h->buflen += len;
}

/* name (trailing blanks ignored) is "Authentication-Results", any case? */
static int name_is_ar(const char *name, size_t len)
{
  static const char want[] = "authentication-results";
  size_t i;

  while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t')) len--;
  if (len != sizeof want - 1) return 0;
  for (i = 0; i < len; i++) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    if (c != want[i]) return 0;
  }
  return 1;
}

/* The held field, now complete: out, unless it names us. */
static void release(struct hdrfilter *h)
{
  const char *colon = memchr(h->hold, ':', h->holdlen);

  if (colon == NULL ||
      !authres_is_ours(colon + 1, h->holdlen - (size_t)(colon + 1 - h->hold), h->authservid))
    emit(h, h->hold, h->holdlen);
  h->holding = 0;
  h->holdlen = 0;
}

static void hold_byte(struct hdrfilter *h, char c)
{
  if (h->holdlen < sizeof h->hold) {
    h->hold[h->holdlen++] = c;
    h->state = c == '\n' ? H_START : H_HOLD;
    return;
  }
  /* too long to read: dropped with what follows */
  h->holding = 0;
  h->holdlen = 0;
  h->drop_cont = 1;
  h->state = c == '\n' ? H_START : H_DROP;
}

static void name_end(struct hdrfilter *h, char c)
{
  if (c == ':' && name_is_ar(h->name, h->namelen)) {
    memcpy(h->hold, h->name, h->namelen);
    h->holdlen = h->namelen;
    h->holding = 1;
    hold_byte(h, c);
  } else {
    emit(h, h->name, h->namelen);
    emit(h, &c, 1);
    h->state = c == '\n' ? H_START : H_PASS;
  }
  h->namelen = 0;
}

static void byte(struct hdrfilter *h, char c)
{
  switch (h->state) {
    case H_PASS:
      emit(h, &c, 1);
      if (c == '\n') h->state = H_START;
      return;
    case H_DROP:
      if (c == '\n') h->state = H_START;
      return;
    case H_HOLD:
      hold_byte(h, c);
      return;
    case H_NAME:
      if (c == ':' || c == '\n' || h->namelen == sizeof h->name) {
        name_end(h, c);
        return;
      }
      h->name[h->namelen++] = c;
      return;
    default: /* H_START */
      if (c == ' ' || c == '\t') { /* a continuation line */
        if (h->holding) hold_byte(h, c);
        else if (h->drop_cont) h->state = H_DROP;
        else {
          emit(h, &c, 1);
          h->state = H_PASS;
        }
        return;
      }
      if (h->holding) release(h);
      h->drop_cont = 0;
      if (c == '\n') { /* the empty line: the body follows */
        emit(h, &c, 1);
        h->state = H_BODY;
        return;
      }
      h->name[0] = c;
      h->namelen = 1;
      h->state = H_NAME;
  }
}

void hdr_init(struct hdrfilter *h, const char *authservid, void (*out)(const char *, size_t))
{
  memset(h, 0, sizeof *h);
  h->authservid = authservid;
  h->out = out;
  h->state = H_START;
}

void hdr_feed(struct hdrfilter *h, const char *s, size_t len)
{
  size_t i;

  for (i = 0; i < len && h->state != H_BODY; i++) byte(h, s[i]);
  if (i < len) {
    flush(h);
    h->out(s + i, len - i);
  }
}

void hdr_end(struct hdrfilter *h)
{
  if (h->holding) release(h);
  if (h->state == H_NAME) emit(h, h->name, h->namelen);
  h->namelen = 0;
  flush(h);
}
