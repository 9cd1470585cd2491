/*
 * dnsq_parse: reads a DNS answer packet (RFC 1035 4.1) strictly: every
 * length is checked against the packet and against its record, a
 * compression pointer must point before the labels it replaces (so that
 * no chain can loop), CNAME links are followed within the answer up to
 * DNSQ_CNAME_MAX. Library code (dnsq.h); libc only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsq.h"

#define HEADER_LEN 12
#define RR_FIXED 10      /* type, class, TTL, RDLENGTH: RFC 1035 4.1.3 */
#define CLASS_IN 1
#define RCODE_FORMERR 1
#define RCODE_NXDOMAIN 3
#define SOA_NUMBERS 20   /* serial refresh retry expire minimum */

static unsigned int get16(const unsigned char *p)
{
  return ((unsigned int)p[0] << 8) | p[1];
}

static unsigned long get32(const unsigned char *p)
{
  return ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) |
         ((unsigned long)p[2] << 8) | p[3];
}

static unsigned char lower(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* The name at *pos into out[DNSQ_NAME_MAX] in wire form, lowercased;
 * *pos moves past the name as it stands there. Its length, 0 if malformed. */
static size_t getname(const unsigned char *pkt, size_t len, size_t *pos, unsigned char *out)
{
  size_t p = *pos;
  size_t limit = p;     /* a pointer must point before this */
  size_t end = 0;
  size_t outlen = 0;
  int jumped = 0;

  for (;;) {
    unsigned int c;

    if (p >= len) return 0;
    c = pkt[p];
    if ((c & 0xc0) == 0xc0) {
      size_t target;

      if (p + 1 >= len) return 0;
      target = ((size_t)(c & 0x3f) << 8) | pkt[p + 1];
      if (!jumped) end = p + 2;
      jumped = 1;
      if (target >= limit) return 0; /* forwards or onto itself: a possible loop */
      p = target;
      limit = target;
      continue;
    }
    if ((c & 0xc0) != 0) return 0;   /* 0x40, 0x80: no such label types now */
    if (c == 0) {
      if (outlen + 1 > DNSQ_NAME_MAX) return 0;
      out[outlen++] = 0;
      if (!jumped) end = p + 1;
      break;
    }
    if (c > len - p - 1) return 0;
    if (outlen + 1 + c + 1 > DNSQ_NAME_MAX) return 0;
    out[outlen++] = (unsigned char)c;
    for (unsigned int i = 0; i < c; i++) out[outlen++] = lower(pkt[p + 1 + i]);
    p += 1 + c;
  }
  *pos = end;
  return outlen;
}

/* A wire name as text (no final dot) into out[DNSQ_TEXT_MAX + 1], NUL-ended.
 * Its length, or (size_t)-1 if a label holds a dot, NUL or a control byte. */
static size_t wire_text(char *out, const unsigned char *w)
{
  size_t n = 0;

  while (*w != 0) {
    unsigned int c = *w++;

    if (n > 0) out[n++] = '.';
    for (unsigned int i = 0; i < c; i++) {
      unsigned char b = w[i];
      if (b == '.' || b < 0x21 || b == 0x7f) return (size_t)-1;
      out[n++] = (char)b;
    }
    w += c;
  }
  out[n] = 0;
  return n;
}

static size_t wire_len(const unsigned char *w)
{
  size_t n = 0;
  while (w[n] != 0) n += 1 + (size_t)w[n];
  return n + 1;
}

static int same_name(const unsigned char *a, const unsigned char *b)
{
  size_t n = wire_len(a);
  return n == wire_len(b) && memcmp(a, b, n) == 0;
}

struct rr_head {
  unsigned char owner[DNSQ_NAME_MAX];
  unsigned int type;
  unsigned int class;
  unsigned long ttl;
  size_t rdpos;
  size_t rdlen;
};

/* The record at *pos; *pos moves past it. 0, or -1 if malformed. */
static int next_rr(const unsigned char *pkt, size_t len, size_t *pos, struct rr_head *h)
{
  if (getname(pkt, len, pos, h->owner) == 0) return -1;
  if (len - *pos < RR_FIXED) return -1;
  h->type = get16(pkt + *pos);
  h->class = get16(pkt + *pos + 2);
  h->ttl = get32(pkt + *pos + 4);
  if (h->ttl > 0x7fffffffUL) h->ttl = 0; /* RFC 2181 8 */
  h->rdlen = get16(pkt + *pos + 8);
  h->rdpos = *pos + RR_FIXED;
  if (h->rdlen > len - h->rdpos) return -1;
  *pos = h->rdpos + h->rdlen;
  return 0;
}

static int fail(struct dnsq_answer *ans, int e)
{
  dnsq_free(ans);
  errno = e;
  return DNSQ_TEMP;
}

/* The name in RDATA at pos that must end exactly at end, as text into out.
 * Its length; (size_t)-1 unprintable (the record is skipped), (size_t)-2
 * malformed. */
static size_t rdata_name(const unsigned char *pkt, size_t len, size_t pos, size_t end,
                         char *out)
{
  unsigned char w[DNSQ_NAME_MAX];

  if (getname(pkt, len, &pos, w) == 0 || pos != end) return (size_t)-2;
  return wire_text(out, w);
}

/* The RDATA of h into r, its data at *data. 1 kept, 0 skipped, -1 malformed. */
static int take_rr(const unsigned char *pkt, size_t len, const struct rr_head *h,
                   struct dnsq_rr *r, char *data)
{
  size_t end = h->rdpos + h->rdlen;
  size_t n;

  r->type = h->type;
  r->pref = 0;
  r->ttl = h->ttl;
  r->data = data;
  switch (h->type) {
    case DNSQ_T_A:
    case DNSQ_T_AAAA:
      if (h->rdlen != (h->type == DNSQ_T_A ? 4U : 16U)) return -1;
      memcpy(data, pkt + h->rdpos, h->rdlen);
      r->len = h->rdlen;
      return 1;
    case DNSQ_T_MX:
      if (h->rdlen < 3) return -1;
      r->pref = get16(pkt + h->rdpos);
      n = rdata_name(pkt, len, h->rdpos + 2, end, data);
      break;
    case DNSQ_T_PTR:
    case DNSQ_T_CNAME:
      n = rdata_name(pkt, len, h->rdpos, end, data);
      break;
    case DNSQ_T_TXT: {
      size_t p = h->rdpos;
      n = 0;
      if (h->rdlen == 0) return 0; /* no character-string: not valid, skipped (RFC 7208 3.3) */
      while (p < end) {
        size_t seg = pkt[p];
        if (seg > end - p - 1) return -1;
        memcpy(data + n, pkt + p + 1, seg);
        n += seg;
        p += 1 + seg;
      }
      data[n] = 0;
      r->len = n;
      return 1;
    }
    default:
      memcpy(data, pkt + h->rdpos, h->rdlen);
      data[h->rdlen] = 0;
      r->len = h->rdlen;
      return 1;
  }
  if (n == (size_t)-2) return -1;
  if (n == (size_t)-1) return 0;
  r->len = n;
  return 1;
}

int dnsq_parse(const unsigned char *pkt, size_t len, const unsigned char *qwire,
               size_t qwirelen, unsigned int qtype, struct dnsq_answer *ans)
{
  unsigned char want[DNSQ_NAME_MAX];
  unsigned char name[DNSQ_NAME_MAX];
  struct rr_head h;
  unsigned int rcode;
  unsigned int an;
  unsigned int ns;
  size_t pos;
  size_t answers;
  size_t keep;
  size_t room;
  char *data;
  unsigned long ttl = DNSQ_TTL_MAX;

  memset(ans, 0, sizeof *ans);
  if (qwirelen == 0 || qwirelen > DNSQ_NAME_MAX) return fail(ans, EINVAL);
  for (size_t i = 0; i < qwirelen; i++) want[i] = lower(qwire[i]);
  if (len < HEADER_LEN || len > 65535) return fail(ans, EPROTO);
  if ((pkt[2] & 0x80) == 0 || (pkt[2] & 0x78) != 0) return fail(ans, EPROTO); /* QR, QUERY */
  rcode = pkt[3] & 0x0f;
  if (rcode == RCODE_FORMERR) return fail(ans, EINVAL);
  if (get16(pkt + 4) != 1) return fail(ans, EPROTO);
  an = get16(pkt + 6);
  ns = get16(pkt + 8);

  /* the question must be ours */
  pos = HEADER_LEN;
  if (getname(pkt, len, &pos, name) == 0 || !same_name(name, want)) return fail(ans, EPROTO);
  if (len - pos < 4 || get16(pkt + pos) != qtype || get16(pkt + pos + 2) != CLASS_IN)
    return fail(ans, EPROTO);
  pos += 4;
  if (rcode != 0 && rcode != RCODE_NXDOMAIN) return fail(ans, EAGAIN);
  ans->ad = (pkt[3] & 0x20) != 0;
  answers = pos;

  /* follow the CNAME links from the name asked to the name that holds the data */
  for (unsigned int links = 0;;) {
    int moved = 0;

    pos = answers;
    for (unsigned int i = 0; i < an; i++) {
      if (next_rr(pkt, len, &pos, &h) == -1) return fail(ans, EPROTO);
      if (qtype == DNSQ_T_CNAME || h.type != DNSQ_T_CNAME || h.class != CLASS_IN) continue;
      if (!same_name(h.owner, want)) continue;
      size_t p = h.rdpos;
      if (getname(pkt, len, &p, name) == 0 || p != h.rdpos + h.rdlen) return fail(ans, EPROTO);
      if (++links > DNSQ_CNAME_MAX) return fail(ans, EPROTO);
      if (h.ttl < ttl) ttl = h.ttl;
      memcpy(want, name, wire_len(name));
      moved = 1;
      break;
    }
    if (!moved) break;
  }

  /* room: the records kept, the data of each (no more than its RDATA, or a
   * name as text), and a NUL after each */
  keep = an < DNSQ_RR_MAX ? an : DNSQ_RR_MAX;
  room = keep * sizeof(struct dnsq_rr) + len + keep * (DNSQ_TEXT_MAX + 2) + 1;
  ans->block = malloc(room);
  if (ans->block == NULL) return fail(ans, ENOMEM);
  ans->blocklen = room;
  ans->rr = ans->block;
  data = (char *)ans->block + keep * sizeof(struct dnsq_rr);

  pos = answers;
  for (unsigned int i = 0; i < an; i++) {
    int r;

    if (next_rr(pkt, len, &pos, &h) == -1) return fail(ans, EPROTO);
    if (h.type != qtype || h.class != CLASS_IN || !same_name(h.owner, want)) continue;
    if (ans->count == keep) continue;
    r = take_rr(pkt, len, &h, &ans->rr[ans->count], data);
    if (r == -1) return fail(ans, EPROTO);
    if (r == 0) continue;
    data += ans->rr[ans->count].len + 1;
    if (h.ttl < ttl) ttl = h.ttl;
    ans->count++;
  }

  if (ans->count > 0) {
    ans->status = DNSQ_OK;
    ans->ttl = ttl;
    return DNSQ_OK;
  }
  /* negative: cached for the SOA's TTL, at most its minimum (RFC 2308 5) */
  ans->ttl = 0;
  for (unsigned int i = 0; i < ns; i++) {
    if (next_rr(pkt, len, &pos, &h) == -1) return fail(ans, EPROTO);
    if (h.type != DNSQ_T_SOA || h.rdlen < SOA_NUMBERS + 2) continue;
    unsigned long minimum = get32(pkt + h.rdpos + h.rdlen - 4);
    unsigned long t = h.ttl < minimum ? h.ttl : minimum;
    ans->ttl = t < ttl ? t : ttl;
    break;
  }
  ans->status = rcode == RCODE_NXDOMAIN ? DNSQ_NXDOMAIN : DNSQ_NODATA;
  return ans->status;
}

void dnsq_free(struct dnsq_answer *ans)
{
  free(ans->block);
  memset(ans, 0, sizeof *ans);
}

int dnsq_copy(struct dnsq_answer *dst, const struct dnsq_answer *src)
{
  char *b;

  *dst = *src;
  if (src->block == NULL) return 0;
  b = malloc(src->blocklen);
  if (b == NULL) {
    memset(dst, 0, sizeof *dst);
    errno = ENOMEM;
    return -1;
  }
  memcpy(b, src->block, src->blocklen);
  dst->block = b;
  dst->rr = (struct dnsq_rr *)(void *)(b + ((const char *)src->rr - (const char *)src->block));
  for (size_t i = 0; i < src->count; i++)
    dst->rr[i].data = b + (src->rr[i].data - (const char *)src->block);
  return 0;
}
