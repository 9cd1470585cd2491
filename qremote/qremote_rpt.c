/*
 * qremote_rpt: the counts behind TLS-RPT (RFC 8460). Each session to a
 * host of a domain with a DANE or MTA-STS policy appends one line to
 * sts/rpt/YYYY-MM-DD/DOMAIN (UTC day), in one write with O_APPEND:
 *     S TYPE MXHOST             a session that met the policy
 *     F TYPE RESULT MXHOST      one that did not (RESULT: RFC 8460 4.3)
 *     R RUA                     the rua of _smtp._tls.DOMAIN (once per
 *                               process and domain, when there is one)
 * TYPE is tlsa or sts. qtlsrpt(8) turns a day's files into reports.
 * Counting never stops a delivery: a failure to write is a warning.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fmt.h>

#include "dnsq.h"
#include "qlog.h"
#include "qremote.h"

#define RPT_DIR "sts/rpt"
#define RUA_MAX 512            /* bytes of an rua we keep */

static char rua_domain[QR_HOST_MAX + 1]; /* the domain whose rua was written */

/* Two digits of v at buf. */
static void two(char *buf, int v)
{
  buf[0] = (char)('0' + v / 10 % 10);
  buf[1] = (char)('0' + v % 10);
}

/* The UTC day, YYYY-MM-DD, into buf; its length (10). */
static size_t fmt_day(char *buf)
{
  time_t now = time(NULL);
  struct tm tm;

  gmtime_r(&now, &tm);
  two(buf, (tm.tm_year + 1900) / 100);
  two(buf + 2, (tm.tm_year + 1900) % 100);
  buf[4] = '-';
  two(buf + 5, tm.tm_mon + 1);
  buf[7] = '-';
  two(buf + 8, tm.tm_mday);
  return 10;
}

/* The rua of _smtp._tls.domain (RFC 8460 3: "v=TLSRPTv1; rua=..."), or 0. */
static size_t rua_get(const char *domain, char *out)
{
  struct dnsq_answer ans;
  size_t n = 0;

  if (qdns_txt("_smtp._tls.", domain, &ans) < 0) return 0;
  for (size_t i = 0; i < ans.count && n == 0; ++i) {
    const char *t = ans.rr[i].data;
    size_t len = ans.rr[i].len;
    const char *r;

    if (ans.rr[i].type != DNSQ_T_TXT || len < 10 || memcmp(t, "v=TLSRPTv1", 10) != 0) continue;
    r = memmem(t, len, "rua=", 4);
    if (r == NULL) continue;
    r += 4;
    while (r + n < t + len && r[n] != ';' && r[n] != ' ' && n < RUA_MAX) {
      char c = r[n];

      if ((unsigned char)c < 0x21 || c == 0x7f) break;
      out[n] = c;
      ++n;
    }
  }
  dnsq_free(&ans);
  return n;
}

/* 1 if s is a host name of letters, digits, '-', '.' and '_' that does
 * not start with '.': safe as a file name and as one word of a line */
static int plain_name(const char *s)
{
  if (s[0] == '.' || s[0] == '\0') return 0;
  for (; *s != '\0'; ++s) {
    char c = *s;

    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '.' || c == '_'))
      return 0;
  }
  return 1;
}

void rpt_count(const char *domain, const char *type, const char *result, const char *mx)
{
  char path[sizeof RPT_DIR + 16 + QR_HOST_MAX];
  char line[RUA_MAX + 2 * QR_HOST_MAX + 64];
  char rua[RUA_MAX];
  size_t dlen = strlen(domain);
  size_t p = 0;
  size_t n = 0;
  int fd;

  if (dlen > QR_HOST_MAX || strlen(mx) > QR_HOST_MAX || !plain_name(domain)) return;
  if (!plain_name(mx)) mx = "-";
  mkdir("sts", 0700);
  mkdir(RPT_DIR, 0700);
  p += fmt_str(path + p, RPT_DIR "/");
  p += fmt_day(path + p);
  path[p] = '\0';
  if (mkdir(path, 0700) == -1 && errno != EEXIST) goto fail;
  path[p++] = '/';
  for (size_t i = 0; i < dlen; ++i) {
    char c = domain[i];
    path[p++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
  }
  path[p] = '\0';

  if (strcmp(rua_domain, path + p - dlen) != 0) {
    size_t r = rua_get(domain, rua);

    memcpy(rua_domain, path + p - dlen, dlen + 1);
    if (r > 0) {
      n += fmt_str(line + n, "R ");
      memcpy(line + n, rua, r);
      n += r;
      line[n++] = '\n';
    }
  }
  n += fmt_str(line + n, result == NULL ? "S " : "F ");
  n += fmt_str(line + n, type);
  line[n++] = ' ';
  if (result != NULL) {
    n += fmt_str(line + n, result);
    line[n++] = ' ';
  }
  n += fmt_str(line + n, mx);
  line[n++] = '\n';
  fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd == -1) goto fail;
  if (write(fd, line, n) != (ssize_t)n) {
    close(fd);
    goto fail;
  }
  if (close(fd) == -1) goto fail;
  return;
fail:
  qwarn_sys("unable to count for TLS-RPT in ", path);
}
