/*
 * qdkim: signs a message or checks its DKIM signatures, from the command
 * line (a tool: never on the SMTP path). ISC licence.
 *
 *   qdkim sign -d DOMAIN -s SELECTOR -k KEYFILE [-m] [FILE]
 *   qdkim verify [-K KEYS] [-t MS] [FILE]
 *
 * The message (FILE or standard input, at most QDKIM_MSG_MAX bytes) has LF
 * or CRLF line ends. sign prints the DKIM-Signature header, or with -m the
 * header followed by the message. verify prints one line per signature in
 * the form of Authentication-Results ("dkim=pass header.d=example.com
 * header.s=sel header.a=rsa-sha256 header.b=abcdefgh"), a reason in
 * parentheses when it did not pass; "dkim=none" when there is none. Keys
 * come from DNS (lib/dnsq: control/resolvers, else /etc/resolv.conf), or
 * with -K from a file of lines "sel._domainkey.domain [IN TXT] RECORD" (RECORD
 * as text, or as quoted strings that are joined; TEMPFAIL: the lookup fails
 * for now): qdkim-keygen's output is such a file. -t: milliseconds per DNS try (1 to 86400).
 * Exit: sign 0 ok, 100 usage or unusable key or message, 111 system error;
 * verify 0 a signature passed, 1 none passed, 111 none passed and a key
 * lookup failed for now, 100 usage.
 * Plain POSIX, OpenSSL and the dkim library only: never libowfat.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dkim.h"
#include "dkim_int.h"
#include "dnsq.h"
#include "qtls.h"

#define USAGE "usage: qdkim sign -d domain -s selector -k keyfile [-m] [file]" \
              " | qdkim verify [-K keys] [-t ms] [file]"
#define QDKIM_MSG_MAX (64UL << 20) /* bytes of one message */
#define KEYS_FILE_MAX (1UL << 20)  /* bytes of a -K file */

static void die_usage(void)
{
  qtls_die(100, USAGE);
}

static void die_nomem(void)
{
  qtls_die(111, "out of memory");
}

/* the whole of fd into b, at most max bytes */
static void read_all(int fd, struct dkim_buf *b, size_t max, const char *what)
{
  char chunk[65536];

  for (;;) {
    ssize_t got = read(fd, chunk, sizeof chunk);
    if (got == -1) {
      if (errno == EINTR) continue;
      qtls_die_sys(111, "unable to read ", what);
    }
    if (got == 0) break;
    if (b->len + (size_t)got > max) qtls_die(100, what, " is too large");
    if (dkim_buf_put(b, chunk, (size_t)got) == -1) die_nomem();
  }
  if (b->s == NULL && dkim_buf_put(b, "", 0) == -1) die_nomem();
}

static void read_file(const char *fn, struct dkim_buf *b, size_t max)
{
  int fd = fn == NULL ? 0 : open(fn, O_RDONLY | O_CLOEXEC);

  if (fd == -1) qtls_die_sys(errno == ENOENT ? 100 : 111, "unable to open ", fn);
  read_all(fd, b, max, fn == NULL ? "standard input" : fn);
  if (fn != NULL) close(fd);
}

static void out(const char *s, size_t len)
{
  if (qtls_write_all(1, s, len) == -1) qtls_die_sys(111, "unable to write output");
}

static int do_sign(int argc, char **argv)
{
  const char *domain = NULL;
  const char *selector = NULL;
  const char *keyfile = NULL;
  int whole = 0;
  struct dkim_buf msg = { 0 };
  struct dkim_key *key;
  char *sig;
  size_t siglen;
  int opt;

  while ((opt = getopt(argc, argv, "d:s:k:m")) != -1) {
    switch (opt) {
    case 'd': domain = optarg; break;
    case 's': selector = optarg; break;
    case 'k': keyfile = optarg; break;
    case 'm': whole = 1; break;
    default: die_usage();
    }
  }
  if (domain == NULL || selector == NULL || keyfile == NULL || argc - optind > 1) die_usage();
  key = dkim_key_load(keyfile);
  if (key == NULL)
    qtls_die_sys(errno == EINVAL || errno == ENOENT ? 100 : 111, "unable to load key ", keyfile);
  read_file(argv[optind], &msg, QDKIM_MSG_MAX);
  if (dkim_sign(msg.s, msg.len, domain, selector, key, time(NULL), &sig, &siglen) == -1) {
    if (errno == EINVAL) qtls_die(100, "unable to sign: bad domain, selector or message");
    qtls_die_sys(111, "unable to sign");
  }
  out(sig, siglen);
  if (whole) out(msg.s, msg.len);
  free(sig);
  dkim_key_free(key);
  dkim_buf_free(&msg);
  return 0;
}

/* -K: the key records of a file */
static struct dkim_buf keys;

/* past the blanks at k, and past word and the blanks after it if it is next */
static size_t skip_word(const char *line, size_t len, size_t k, const char *word)
{
  size_t n = strlen(word);

  while (k < len && (line[k] == ' ' || line[k] == '\t')) k++;
  if (len - k > n && memcmp(line + k, word, n) == 0 &&
      (line[k + n] == ' ' || line[k + n] == '\t')) {
    k += n;
    while (k < len && (line[k] == ' ' || line[k] == '\t')) k++;
  }
  return k;
}

static int lookup_file(const char *name, char **recs, int max, void *cookie)
{
  size_t namelen = strlen(name);
  size_t i = 0;
  int n = 0;

  (void)cookie;
  while (i < keys.len) {
    const char *line = keys.s + i;
    const char *nl = memchr(line, '\n', keys.len - i);
    size_t len = nl != NULL ? (size_t)(nl - line) : keys.len - i;
    size_t k = 0;
    size_t nend;
    struct dkim_buf rec = { 0 };

    i += len + 1;
    while (k < len && line[k] != ' ' && line[k] != '\t') k++;
    nend = k;
    if (nend > 0 && line[nend - 1] == '.') nend--;
    if (!dkim_eqi(line, nend, name, namelen) || n == max) continue;
    k = skip_word(line, len, k, "IN");
    k = skip_word(line, len, k, "TXT");
    while (len > k && (line[len - 1] == '\r' || line[len - 1] == ' ')) len--;
    if (len - k == 8 && memcmp(line + k, "TEMPFAIL", 8) == 0) {
      while (n > 0) free(recs[--n]);
      return -1;
    }
    if (k < len && line[k] == '"') { /* "..." "..." joined */
      while (k < len) {
        if (line[k++] != '"') continue;
        while (k < len && line[k] != '"') {
          if (line[k] == '\\' && k + 1 < len) k++;
          if (dkim_buf_put(&rec, line + k, 1) == -1) die_nomem();
          k++;
        }
        k++;
      }
    } else if (dkim_buf_put(&rec, line + k, len - k) == -1) {
      die_nomem();
    }
    if (rec.s == NULL && dkim_buf_put(&rec, "", 0) == -1) die_nomem();
    recs[n++] = rec.s;
  }
  return n;
}

static int do_verify(int argc, char **argv)
{
  struct dkim_result res[DKIM_MAX_SIGS];
  struct dkim_buf msg = { 0 };
  struct dkim_buf line = { 0 };
  dkim_lookup_fn lookup = dkim_lookup_dns;
  unsigned int ms;
  int passed = 0;
  int temp = 0;
  int n;
  int i;
  int opt;

  while ((opt = getopt(argc, argv, "K:t:")) != -1) {
    switch (opt) {
    case 'K':
      read_file(optarg, &keys, KEYS_FILE_MAX);
      lookup = lookup_file;
      break;
    case 't':
      if (qtls_scan_uint(optarg, &ms) == -1) die_usage();
      dnsq_settimeout(ms, 0);
      break;
    default: die_usage();
    }
  }
  if (argc - optind > 1) die_usage();
  read_file(argv[optind], &msg, QDKIM_MSG_MAX);
  n = dkim_verify(msg.s, msg.len, res, DKIM_MAX_SIGS, lookup, NULL, time(NULL), 0);
  if (n == -1) die_nomem();
  if (n == 0) out("dkim=none\n", 10);
  for (i = 0; i < n; i++) {
    const struct dkim_result *r = &res[i];
    line.len = 0;
    if (dkim_buf_puts(&line, "dkim=") == -1 ||
        dkim_buf_puts(&line, dkim_result_name(r->status)) == -1 ||
        dkim_buf_puts(&line, " header.d=") == -1 || dkim_buf_puts(&line, r->domain) == -1 ||
        dkim_buf_puts(&line, " header.s=") == -1 || dkim_buf_puts(&line, r->selector) == -1 ||
        dkim_buf_puts(&line, " header.a=") == -1 || dkim_buf_puts(&line, r->algo) == -1 ||
        dkim_buf_puts(&line, " header.b=") == -1 || dkim_buf_puts(&line, r->bprefix) == -1)
      die_nomem();
    if (r->status != DKIM_PASS || r->testing || r->bodylen != -1) {
      if (dkim_buf_puts(&line, " (") == -1 || dkim_buf_puts(&line, r->reason) == -1)
        die_nomem();
      if (r->bodylen != -1) {
        char num[QTLS_ULONG];
        if (dkim_buf_puts(&line, "; l=") == -1 ||
            dkim_buf_puts(&line, qtls_ulong(num, (unsigned long long)r->bodylen)) == -1)
          die_nomem();
      }
      if (dkim_buf_puts(&line, ")") == -1) die_nomem();
    }
    if (dkim_buf_puts(&line, "\n") == -1) die_nomem();
    out(line.s, line.len);
    if (r->status == DKIM_PASS) passed = 1;
    if (r->status == DKIM_TEMPERROR) temp = 1;
  }
  dkim_buf_free(&line);
  dkim_buf_free(&msg);
  dkim_buf_free(&keys);
  if (passed) return 0;
  return temp ? 111 : 1;
}

int main(int argc, char **argv)
{
  qtls_prog = "qdkim";
  opterr = 0; /* getopt says nothing: the usage line does */
  if (argc < 2) die_usage();
  if (strcmp(argv[1], "sign") == 0) return do_sign(argc - 1, argv + 1);
  if (strcmp(argv[1], "verify") == 0) return do_verify(argc - 1, argv + 1);
  die_usage();
}
