/*
 * qpop3d_cmd: the parsing of what a POP3 client sends, kept apart from
 * the I/O so that tests/unit/u_qpop3d_cmd.c and fuzz/fuzz_pop3.c link it
 * as it is: the line end, the command word and its argument, message
 * numbers, TOP's two arguments, the AUTH PLAIN response, and the login
 * request the unprivileged front end sends to its root parent (which must
 * distrust it).
 */
#include <string.h>

#include "addr.h"
#include "b64.h"
#include "qpop3d.h"

size_t pop_line_chomp(const char *line, size_t len)
{
  if (len > 0 && line[len - 1] == '\n') len--;
  if (len > 0 && line[len - 1] == '\r') len--;
  return len;
}

void pop_cmd_parse(struct pop_cmd *c, char *line, size_t len)
{
  size_t i;
  size_t w = 0;

  line[len] = '\0';
  for (i = 0; i < len && line[i] != ' '; i++) {
    if (w + 1 < sizeof c->word) {
      char ch = line[i];
      if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
      c->word[w++] = ch;
    } else {
      w = 0;
      break;
    }
  }
  c->word[w] = '\0';
  c->arg = i < len ? line + i + 1 : "";
}

int pop_scan_number(const char *s, unsigned long *n)
{
  unsigned long v = 0;
  size_t i;

  if (s[0] < '0' || s[0] > '9') return 0;
  for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
    if (__builtin_mul_overflow(v, 10UL, &v) ||
        __builtin_add_overflow(v, (unsigned long)(s[i] - '0'), &v))
      return 0;
  }
  if (s[i] != '\0') return 0;
  *n = v;
  return 1;
}

int pop_top_split(const char *arg, char *first, size_t size, unsigned long *lines)
{
  const char *sp = strchr(arg, ' ');
  size_t len;

  if (sp == NULL || !pop_scan_number(sp + 1, lines)) return 0;
  len = (size_t)(sp - arg);
  if (len == 0 || len >= size) return -1;
  memcpy(first, arg, len);
  first[len] = '\0';
  return 1;
}

int pop_sasl_plain(const char *s, size_t len, const char **user, size_t *ulen,
                   const char **pass, size_t *plen)
{
  int r = sasl_plain_split(s, len, user, ulen, pass, plen);

  if (r == 0 || *ulen == 0 || *plen == 0 || memchr(*pass, '\0', *plen) != NULL) return 0;
  return r;
}

size_t pop_req_fmt(char *dest, const struct pop_req *r)
{
  size_t plen_tls = strlen(r->proto);
  size_t clen_tls = strlen(r->cipher);
  size_t len = 2 + 1 + 1 + 1 + 1 + 1; /* length, kind, four NULs */
  size_t off;

  if (__builtin_add_overflow(len, plen_tls, &len) ||
      __builtin_add_overflow(len, clen_tls, &len) ||
      __builtin_add_overflow(len, r->ulen, &len) || __builtin_add_overflow(len, r->plen, &len) ||
      len > POP_MAX_REQUEST)
    return 0;
  dest[0] = (char)((len - 2) >> 8);
  dest[1] = (char)((len - 2) & 255);
  dest[2] = r->kind;
  off = 3;
  memcpy(dest + off, r->proto, plen_tls);
  off += plen_tls;
  dest[off++] = '\0';
  memcpy(dest + off, r->cipher, clen_tls);
  off += clen_tls;
  dest[off++] = '\0';
  memcpy(dest + off, r->user, r->ulen);
  off += r->ulen;
  dest[off++] = '\0';
  memcpy(dest + off, r->pass, r->plen);
  off += r->plen;
  dest[off++] = '\0';
  return off;
}

int pop_req_parse(struct pop_req *r, const char *body, size_t len)
{
  const char *field[4];
  size_t flen[4];
  size_t off = 1;
  int i;

  if (len < 1 || (body[0] != 'S' && body[0] != 'P')) return 0;
  for (i = 0; i < 4; i++) {
    const char *nul = off < len ? memchr(body + off, '\0', len - off) : NULL;
    if (nul == NULL) return 0;
    field[i] = body + off;
    flen[i] = (size_t)(nul - (body + off));
    off += flen[i] + 1;
  }
  if (off != len || flen[0] >= POP_MAX_TLS_NAME || flen[1] >= POP_MAX_TLS_NAME ||
      flen[2] > ADDR_MAX)
    return 0;
  r->kind = body[0];
  r->proto = field[0];
  r->cipher = field[1];
  r->user = field[2];
  r->ulen = flen[2];
  r->pass = field[3];
  r->plen = flen[3];
  return 1;
}
