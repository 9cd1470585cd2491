/*
 * fuzz_pop3: libFuzzer target for what qpop3d parses of a client's input
 * (qpop3d/qpop3d_cmd.c, through qpop3d_io.c's pop_getline and lib's
 * line_get): the first byte chooses how many bytes each read returns, the
 * rest is what a client sends. Every line goes through pop_cmd_parse,
 * pop_scan_number, pop_top_split, pop_sasl_plain, and into a login request that
 * pop_req_parse must read back unchanged; the whole input is also given to
 * pop_req_parse as the root parent would get it from a subverted front
 * end. Checks beyond the sanitizers: the lines are exactly those of a
 * plain split of the input (too long ones reported as such), the command
 * word is the line's first word lowercased, numbers read back as written,
 * and parsed fields stay inside the record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fmt.h>

#include "addr.h"
#include "qpop3d.h"

static const char *src;
static size_t srclen;
static size_t srcpos;
static size_t chunk;

/* pop_in's read op: the input, chunk bytes at a time; never fails */
static ssize_t fuzz_read(int fd, char *buf, size_t len, void *cookie)
{
  size_t n = srclen - srcpos;

  (void)fd;
  (void)cookie;
  if (n > len) n = len;
  if (n > chunk) n = chunk;
  memcpy(buf, src + srcpos, n);
  srcpos += n;
  return (ssize_t)n;
}

static void check_number(const char *arg)
{
  unsigned long n;
  char back[FMT_ULONG];
  size_t i;

  if (!pop_scan_number(arg, &n)) return;
  for (i = 0; arg[i] == '0' && arg[i + 1] != '\0'; i++) {}
  back[fmt_ulong(back, n)] = '\0';
  if (strcmp(back, arg + i) != 0) abort();
}

static void check_top(const char *arg)
{
  char first[FMT_ULONG + 2]; /* as qpop3d_session.c */
  unsigned long lines = 0;
  const char *sp = strchr(arg, ' ');

  switch (pop_top_split(arg, first, sizeof first, &lines)) {
    case 1:
      if (sp == NULL || strlen(first) != (size_t)(sp - arg) || memcmp(first, arg, strlen(first)))
        abort();
      check_number(sp + 1);
      break;
    case 0:
      if (sp != NULL && pop_scan_number(sp + 1, &lines)) abort();
      break;
    case -1:
      if (sp == NULL || (sp != arg && (size_t)(sp - arg) < sizeof first)) abort();
      break;
    default: abort();
  }
}

static void check_req(const struct pop_cmd *c, const char *line)
{
  char req[POP_MAX_REQUEST];
  struct pop_req q;
  struct pop_req r;
  size_t len;

  q.kind = c->word[0] == 's' ? 'S' : 'P';
  q.proto = q.kind == 'S' ? "TLSv1.3" : "";
  q.cipher = c->word;
  q.user = line;
  q.ulen = strlen(line) > ADDR_MAX ? ADDR_MAX : strlen(line);
  q.pass = c->arg;
  q.plen = strlen(c->arg);
  len = pop_req_fmt(req, &q);
  if (len == 0) {
    if (7 + strlen(q.proto) + strlen(q.cipher) + q.ulen + q.plen <= POP_MAX_REQUEST) abort();
    return;
  }
  if (len > POP_MAX_REQUEST || ((size_t)(unsigned char)req[0] << 8 | (unsigned char)req[1]) != len - 2)
    abort();
  if (pop_req_parse(&r, req + 2, len - 2) != 1) abort();
  if (r.kind != q.kind || strcmp(r.proto, q.proto) != 0 || strcmp(r.cipher, q.cipher) != 0)
    abort();
  if (r.ulen != q.ulen || memcmp(r.user, q.user, q.ulen) != 0 || r.user[r.ulen] != '\0') abort();
  if (r.plen != q.plen || memcmp(r.pass, q.pass, q.plen) != 0 || r.pass[r.plen] != '\0') abort();
}

/* What the root parent reads after a length: fields inside, NUL-ended. */
static void check_monitor(const char *body, size_t len)
{
  struct pop_req r;

  if (len > POP_MAX_REQUEST || pop_req_parse(&r, body, len) != 1) return;
  if (r.kind != 'S' && r.kind != 'P') abort();
  if (strlen(r.proto) >= POP_MAX_TLS_NAME || strlen(r.cipher) >= POP_MAX_TLS_NAME) abort();
  if (r.ulen > ADDR_MAX || strlen(r.user) != r.ulen || strlen(r.pass) != r.plen) abort();
  if (r.pass + r.plen != body + len - 1) abort();
}

/* An AUTH PLAIN response as it is decoded: login and password inside
 * it, each after a NUL, the password up to its end, no NUL in either. */
static void check_plain(const char *s, size_t len)
{
  const char *user;
  const char *pass;
  size_t ulen;
  size_t plen;
  int r = pop_sasl_plain(s, len, &user, &ulen, &pass, &plen);

  if (r == 0) return;
  if (r != 1 && r != -1) abort();
  if (user <= s || user + ulen + 1 != pass || pass + plen != s + len) abort();
  if (ulen == 0 || plen == 0 || user[-1] != '\0' || pass[-1] != '\0') abort();
  if (memchr(user, '\0', ulen) != NULL || memchr(pass, '\0', plen) != NULL) abort();
}

static void check_line(char *line, size_t len)
{
  struct pop_cmd c;
  size_t i;
  size_t k;

  check_plain(line, len);
  pop_cmd_parse(&c, line, len);
  if (line[len] != '\0') abort();
  if (strlen(c.word) >= sizeof c.word) abort();
  for (i = 0; i < len && line[i] != ' '; i++) {}
  if (i < sizeof c.word) {
    /* the word is the line's first word, lowercased (a NUL in it stays) */
    for (k = 0; k < i; k++) {
      char ch = line[k];
      if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
      if (c.word[k] != ch) abort();
    }
    if (c.word[i] != '\0') abort();
    if (i < len ? c.arg != line + i + 1 : c.arg[0] != '\0') abort();
  } else if (c.word[0] != '\0') {
    abort();
  }
  if (c.arg[0] != '\0' && (c.arg <= line || c.arg >= line + len)) abort();
  check_number(c.arg);
  check_top(c.arg);
  check_req(&c, line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char line[POP_MAX_CMDLINE + 1];
  size_t len;
  size_t pos;
  int r;

  if (size < 1 || size > 16384) return 0;
  check_monitor((const char *)data, size);
  chunk = (size_t)data[0] + 1;
  src = (const char *)data + 1;
  srclen = size - 1;
  srcpos = 0;
  pop_in_discard();
  pop_in.op = fuzz_read;

  /* the model: split at LF; a piece with its LF over POP_MAX_CMDLINE is
   * too long; a last piece without LF is a line if it is not empty */
  pos = 0;
  for (;;) {
    const char *nl = memchr(src + pos, '\n', srclen - pos);
    size_t piece = nl != NULL ? (size_t)(nl - (src + pos)) + 1 : srclen - pos;

    r = pop_getline(line, POP_MAX_CMDLINE, &len);
    if (piece == 0) {
      if (r != 0) abort();
      break;
    }
    if (piece > POP_MAX_CMDLINE) {
      if (r != -2) abort();
    } else {
      size_t want = piece;
      if (src[pos + want - 1] == '\n') want--;
      if (want > 0 && src[pos + want - 1] == '\r') want--; /* CRLF or LF ends a line */
      if (r != 1 || len != want || memcmp(line, src + pos, len) != 0) abort();
      check_line(line, len);
    }
    pos += piece;
  }
  if (pop_getline(line, POP_MAX_CMDLINE, &len) != 0) abort();
  return 0;
}
