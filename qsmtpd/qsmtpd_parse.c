/*
 * qsmtpd_parse: the pure parsers of qsmtpd's command lines. No I/O, no
 * global state: fuzz/fuzz_cmd.c and tests/unit/u_qsmtpd_parse.c call them
 * directly. Errors come back as reply literals, so the caller sends
 * exactly what the parser found wrong.
 */
#include <arpa/inet.h>
#include <string.h>

#include "addr.h"
#include "qsmtpd.h"

struct verb_name {
  const char *name;
  size_t len;
  int verb;
};

static const struct verb_name verbs[] = {
  { "helo", 4, VERB_HELO }, { "ehlo", 4, VERB_EHLO }, { "mail", 4, VERB_MAIL },
  { "rcpt", 4, VERB_RCPT }, { "data", 4, VERB_DATA }, { "bdat", 4, VERB_BDAT },
  { "rset", 4, VERB_RSET }, { "noop", 4, VERB_NOOP }, { "quit", 4, VERB_QUIT },
  { "vrfy", 4, VERB_VRFY }, { "expn", 4, VERB_EXPN }, { "help", 4, VERB_HELP },
  { "starttls", 8, VERB_STARTTLS }, { "auth", 4, VERB_AUTH },
};

static int lower(int c)
{
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int prefix_ci(const char *s, size_t len, const char *p)
{
  size_t n = strlen(p);
  size_t i;

  if (len < n) return 0;
  for (i = 0; i < n; i++)
    if (lower((unsigned char)s[i]) != p[i]) return 0;
  return 1;
}

static int equal_ci(const char *s, size_t len, const char *p)
{
  return strlen(p) == len && prefix_ci(s, len, p);
}

int smtp_verb(const char *line, size_t len, size_t *arg)
{
  size_t n;
  size_t i;

  for (n = 0; n < len && line[n] != ' '; n++) {}
  for (i = n; i < len && line[i] == ' '; i++) {}
  *arg = i;
  for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
    if (equal_ci(line, n, verbs[i].name)) return verbs[i].verb;
  return VERB_UNKNOWN;
}

/* ---- EHLO / HELO ---- */

static int is_alnum(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int ipv4_ok(const char *s, size_t len)
{
  size_t i = 0;
  int part;

  for (part = 0; part < 4; part++) {
    unsigned long v = 0;
    size_t digits = 0;
    if (part > 0) {
      if (i >= len || s[i] != '.') return 0;
      i++;
    }
    while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 4) {
      v = v * 10 + (unsigned long)(s[i] - '0');
      i++;
      digits++;
    }
    if (digits == 0 || digits > 3 || v > 255) return 0;
  }
  return i == len;
}

static int literal_ok(const char *s, size_t len)
{
  char buf[64];
  unsigned char bin[16];

  if (prefix_ci(s, len, "ipv6:")) {
    if (len - 5 >= sizeof buf || len == 5) return 0;
    memcpy(buf, s + 5, len - 5);
    buf[len - 5] = '\0';
    return inet_pton(AF_INET6, buf, bin) == 1;
  }
  return ipv4_ok(s, len);
}

int smtp_helo_ok(const char *s, size_t len)
{
  size_t i;
  size_t label = 0;

  if (len == 0 || len > 255) return 0;
  if (s[0] == '[') return len > 2 && s[len - 1] == ']' && literal_ok(s + 1, len - 2);
  if (s[len - 1] == '.') len--; /* a trailing dot is harmless */
  if (len == 0) return 0;
  for (i = 0; i < len; i++) {
    int c = (unsigned char)s[i];
    if (c == '.') {
      if (label == 0 || s[i - 1] == '-') return 0;
      label = 0;
      continue;
    }
    /* RFC 1123 host names; '_' is seen from real clients and harmless */
    if (!is_alnum(c) && c != '-' && c != '_') return 0;
    if (c == '-' && label == 0) return 0;
    if (++label > 63) return 0;
  }
  return label > 0 && s[len - 1] != '-';
}

/* ---- xtext ---- */

static int hexval(int c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* The byte of "+XX" at s[i] (len bytes in all), or -1. */
static int xtext_pair(const char *s, size_t len, size_t i)
{
  int hi;
  int lo;

  if (len - i < 3) return -1;
  hi = hexval((unsigned char)s[i + 1]);
  lo = hexval((unsigned char)s[i + 2]);
  return hi == -1 || lo == -1 ? -1 : hi * 16 + lo;
}

size_t smtp_xtext_decode(char *out, size_t max, const char *s, size_t len)
{
  size_t i;
  size_t n = 0;

  for (i = 0; i < len; i++) {
    int c = (unsigned char)s[i];
    if (c == '+') {
      c = xtext_pair(s, len, i);
      if (c == -1) return (size_t)-1;
      i += 2;
      if (c < 0x20 || c >= 0x7f) return (size_t)-1;
    } else if (c < 33 || c > 126 || c == '=') {
      return (size_t)-1;
    }
    if (n >= max) return (size_t)-1;
    out[n++] = (char)c;
  }
  return n;
}

/* The address of "ORCPT=utf-8;..." (RFC 6533 3): xtext's "+XX", raw
 * UTF-8 (under SMTPUTF8) and "\x{HEX}" for a code point, into UTF-8. */
size_t smtp_utf8addr_decode(char *out, size_t max, const char *s, size_t len)
{
  char raw[MAX_ORCPT];
  size_t n = 0;
  size_t o = 0;
  size_t i;

  for (i = 0; i < len; i++) { /* the xtext layer */
    int c = (unsigned char)s[i];
    if (c == '+') {
      c = xtext_pair(s, len, i);
      if (c == -1) return (size_t)-1;
      i += 2;
    } else if (c == '=') {
      return (size_t)-1;
    }
    if (c < 0x21 || c == 0x7f || n >= sizeof raw) return (size_t)-1;
    raw[n++] = (char)c;
  }
  for (i = 0; i < n;) { /* \x{HEX} and well-formed UTF-8 */
    unsigned long cp = 0;
    size_t k;
    if (raw[i] == '\\' && n - i > 3 && raw[i + 1] == 'x' && raw[i + 2] == '{') {
      for (k = i + 3; k < n && k < i + 9 && hexval((unsigned char)raw[k]) != -1; k++)
        cp = cp * 16 + (unsigned long)hexval((unsigned char)raw[k]);
      if (k == i + 3 || k >= n || raw[k] != '}' || cp < 0x80 || cp > 0x10ffff ||
          (cp >= 0xd800 && cp <= 0xdfff) || max - o < 4)
        return (size_t)-1;
      if (cp < 0x800) {
        out[o++] = (char)(0xc0 | (cp >> 6));
      } else if (cp < 0x10000) {
        out[o++] = (char)(0xe0 | (cp >> 12));
        out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      } else {
        out[o++] = (char)(0xf0 | (cp >> 18));
        out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      }
      out[o++] = (char)(0x80 | (cp & 0x3f));
      i = k + 1;
      continue;
    }
    k = addr_utf8seq(raw + i, n - i);
    if (k == 0 || max - o < k) return (size_t)-1;
    memcpy(out + o, raw + i, k);
    o += k;
    i += k;
  }
  /* what \x{} made must be well-formed too (no C1 controls) */
  for (i = 0; i < o; i += n) {
    n = addr_utf8seq(out + i, o - i);
    if (n == 0) return (size_t)-1;
  }
  return o;
}

/* ---- MAIL and RCPT ---- */

/* Splits the next parameter off s[*pos..len): key [= value]. */
static int next_param(const char *s, size_t len, size_t *pos, const char **key, size_t *klen,
                      const char **val, size_t *vlen)
{
  size_t i = *pos;
  size_t start;

  while (i < len && s[i] == ' ') i++;
  if (i >= len) return 0;
  start = i;
  while (i < len && s[i] != ' ' && s[i] != '=') i++;
  *key = s + start;
  *klen = i - start;
  *val = NULL;
  *vlen = 0;
  if (i < len && s[i] == '=') {
    i++;
    start = i;
    while (i < len && s[i] != ' ') i++;
    *val = s + start;
    *vlen = i - start;
  }
  *pos = i;
  return 1;
}

static int has_8bit(const char *s, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++)
    if ((unsigned char)s[i] >= 0x80) return 1;
  return 0;
}

/* "FROM:" or "TO:" then optional blanks: offset of the path, 0 if absent. */
static size_t path_start(const char *s, size_t len, const char *word)
{
  size_t i = strlen(word);

  if (!prefix_ci(s, len, word)) return 0;
  while (i < len && s[i] == ' ') i++;
  return i;
}

const char *smtp_mail_parse(struct mail_args *m, const char *s, size_t len, int ehlo)
{
  size_t pos;
  size_t used;
  const char *key;
  const char *val;
  size_t klen;
  size_t vlen;
  int seen_size = 0;
  int seen_body = 0;
  int seen_auth = 0;

  memset(m, 0, sizeof *m);
  pos = path_start(s, len, "from:");
  if (pos == 0) return "501 5.5.4 syntax: MAIL FROM:<address>\r\n";
  used = addr_parse(&m->addr, s + pos, len - pos,
                    ADDR_ALLOW_NULL | ADDR_ALLOW_NOBRACKET | ADDR_ALLOW_UTF8);
  if (used == 0) return "501 5.1.7 bad sender address syntax\r\n";
  pos += used;
  if (pos < len && s[pos] != ' ') return "501 5.1.7 bad sender address syntax\r\n";
  while (next_param(s, len, &pos, &key, &klen, &val, &vlen)) {
    if (!ehlo) return "555 5.5.4 parameters need EHLO\r\n";
    if (equal_ci(key, klen, "size")) {
      unsigned long long v = 0;
      size_t i;
      if (seen_size++ || val == NULL || vlen == 0 || vlen > 20)
        return "501 5.5.4 bad SIZE parameter\r\n";
      for (i = 0; i < vlen; i++) {
        if (val[i] < '0' || val[i] > '9') return "501 5.5.4 bad SIZE parameter\r\n";
        if (__builtin_mul_overflow(v, 10ULL, &v) ||
            __builtin_add_overflow(v, (unsigned long long)(val[i] - '0'), &v))
          v = ~0ULL;
      }
      m->size = v;
    } else if (equal_ci(key, klen, "body")) {
      if (seen_body++ || val == NULL) return "501 5.5.4 bad BODY parameter\r\n";
      if (equal_ci(val, vlen, "8bitmime")) m->body8 = 1;
      else if (!equal_ci(val, vlen, "7bit")) return "555 5.5.4 unsupported BODY type\r\n";
    } else if (equal_ci(key, klen, "smtputf8")) {
      if (m->smtputf8 || val != NULL) return "501 5.5.4 bad SMTPUTF8 parameter\r\n";
      m->smtputf8 = 1;
    } else if (equal_ci(key, klen, "ret")) {
      if (m->ret[0] != '\0' || val == NULL) return "501 5.5.4 bad RET parameter\r\n";
      if (equal_ci(val, vlen, "full")) memcpy(m->ret, "FULL", 5);
      else if (equal_ci(val, vlen, "hdrs")) memcpy(m->ret, "HDRS", 5);
      else return "501 5.5.4 bad RET parameter\r\n";
    } else if (equal_ci(key, klen, "envid")) {
      size_t n;
      if (m->has_envid || val == NULL) return "501 5.5.4 bad ENVID parameter\r\n";
      n = smtp_xtext_decode(m->envid, MAX_ENVID, val, vlen);
      if (n == (size_t)-1 || n == 0) return "501 5.5.4 bad ENVID parameter\r\n";
      m->envid[n] = '\0';
      m->has_envid = 1;
    } else if (equal_ci(key, klen, "auth")) {
      /* RFC 4954 5: accepted; we trust no other server's word for it */
      char tmp[ADDR_MAX + 1];
      if (seen_auth++ || val == NULL || smtp_xtext_decode(tmp, ADDR_MAX, val, vlen) == (size_t)-1)
        return "501 5.5.4 bad AUTH parameter\r\n";
    } else {
      return "555 5.5.4 unsupported parameter\r\n";
    }
  }
  if (m->addr.utf8 && !m->smtputf8) return "553 5.6.7 non-ASCII address needs SMTPUTF8\r\n";
  return NULL;
}

static const char *notify_parse(char *out, const char *s, size_t len)
{
  size_t i = 0;
  size_t n = 0;
  int seen = 0; /* bits: 1 never, 2 success, 4 failure, 8 delay */

  while (i <= len) {
    size_t start = i;
    size_t w;
    int bit;
    const char *name;
    while (i < len && s[i] != ',') i++;
    w = i - start;
    if (equal_ci(s + start, w, "never")) { bit = 1; name = "NEVER"; }
    else if (equal_ci(s + start, w, "success")) { bit = 2; name = "SUCCESS"; }
    else if (equal_ci(s + start, w, "failure")) { bit = 4; name = "FAILURE"; }
    else if (equal_ci(s + start, w, "delay")) { bit = 8; name = "DELAY"; }
    else return "501 5.5.4 bad NOTIFY parameter\r\n";
    if (seen & bit) return "501 5.5.4 bad NOTIFY parameter\r\n";
    seen |= bit;
    if (n > 0) out[n++] = ',';
    memcpy(out + n, name, strlen(name));
    n += strlen(name);
    i++;
  }
  if ((seen & 1) && seen != 1) return "501 5.5.4 NOTIFY=NEVER stands alone\r\n";
  out[n] = '\0';
  return NULL;
}

const char *smtp_rcpt_parse(struct rcpt_args *r, const char *s, size_t len, int ehlo, int utf8)
{
  size_t pos;
  size_t used;
  const char *key;
  const char *val;
  size_t klen;
  size_t vlen;
  int flags = ADDR_ALLOW_BARE | ADDR_ALLOW_NOBRACKET;

  memset(r, 0, sizeof *r);
  pos = path_start(s, len, "to:");
  if (pos == 0) return "501 5.5.4 syntax: RCPT TO:<address>\r\n";
  if (utf8) flags |= ADDR_ALLOW_UTF8;
  used = addr_parse(&r->addr, s + pos, len - pos, flags);
  if (used == 0) {
    if (!utf8 && has_8bit(s + pos, len - pos))
      return "553 5.6.7 non-ASCII address needs SMTPUTF8\r\n";
    return "501 5.1.3 bad recipient address syntax\r\n";
  }
  pos += used;
  if (pos < len && s[pos] != ' ') return "501 5.1.3 bad recipient address syntax\r\n";
  if (r->addr.null) return "501 5.1.3 bad recipient address syntax\r\n";
  while (next_param(s, len, &pos, &key, &klen, &val, &vlen)) {
    if (!ehlo) return "555 5.5.4 parameters need EHLO\r\n";
    if (equal_ci(key, klen, "notify")) {
      const char *err;
      if (r->notify[0] != '\0' || val == NULL || vlen > MAX_NOTIFY)
        return "501 5.5.4 bad NOTIFY parameter\r\n";
      err = notify_parse(r->notify, val, vlen);
      if (err != NULL) return err;
    } else if (equal_ci(key, klen, "orcpt")) {
      size_t semi;
      size_t n;
      if (r->orcpt[0] != '\0' || val == NULL) return "501 5.5.4 bad ORCPT parameter\r\n";
      for (semi = 0; semi < vlen && val[semi] != ';'; semi++)
        if (!is_alnum((unsigned char)val[semi]) && val[semi] != '-')
          return "501 5.5.4 bad ORCPT parameter\r\n";
      if (semi == 0 || semi >= vlen || semi + 1 >= MAX_ORCPT)
        return "501 5.5.4 bad ORCPT parameter\r\n";
      for (n = 0; n < semi; n++) r->orcpt[n] = (char)lower((unsigned char)val[n]);
      r->orcpt[semi] = ';';
      if (semi == 5 && memcmp(r->orcpt, "utf-8", 5) == 0) /* RFC 6533 */
        n = smtp_utf8addr_decode(r->orcpt + semi + 1, MAX_ORCPT - semi - 2, val + semi + 1,
                                 vlen - semi - 1);
      else
        n = smtp_xtext_decode(r->orcpt + semi + 1, MAX_ORCPT - semi - 1, val + semi + 1,
                              vlen - semi - 1);
      if (n == (size_t)-1 || n == 0) {
        r->orcpt[0] = '\0';
        return "501 5.5.4 bad ORCPT parameter\r\n";
      }
      r->orcpt[semi + 1 + n] = '\0';
    } else {
      return "555 5.5.4 unsupported parameter\r\n";
    }
  }
  return NULL;
}

int smtp_bdat_parse(const char *s, size_t len, unsigned long long *size, int *last)
{
  size_t i = 0;
  unsigned long long v = 0;

  *last = 0;
  if (len == 0 || s[0] < '0' || s[0] > '9') return 0;
  while (i < len && s[i] >= '0' && s[i] <= '9') {
    if (i >= 19) return 0;
    v = v * 10 + (unsigned long long)(s[i] - '0');
    i++;
  }
  *size = v;
  while (i < len && s[i] == ' ') i++;
  if (i == len) return 1;
  if (!equal_ci(s + i, len - i, "last")) return 0;
  *last = 1;
  return 1;
}
