/*
 * qremote_sts: MTA-STS (RFC 8461) for qremote. The policy of a domain
 * comes from its cache file sts/DOMAIN (in QHOME; the directory belongs
 * to qremote's user), which holds what qmtasts(8) printed and two lines
 * of ours:
 *     id ID            the _mta-sts TXT record's id when it was fetched
 *     expires SECONDS  the fetch's time plus max_age
 *     mode enforce|testing|none
 *     max_age SECONDS
 *     mx PATTERN       (one line each)
 * Each job looks up the TXT record (lib/dnsq caches it for its TTL); only
 * when its id differs from the cache's, or the cache has expired, does
 * qremote run qmtasts, with the address of mta-sts.DOMAIN it looked up
 * itself (-a), and write the cache anew (tmp file, rename). A failed fetch
 * keeps an unexpired cache (RFC 8461 3.3, 5.1); without a TXT record an
 * unexpired cache still counts (5.1).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt.h>
#include <scan.h>
#include <stralloc.h>

#include "dnsq.h"
#include "qlog.h"
#include "qremote.h"

#define STS_DIR "sts"
#define STS_HELPER "qmtasts"
#define STS_ID_MAX 32          /* RFC 8461 3.1: 1 to 32 letters and digits */
#define STS_OUT_MAX 16384      /* what qmtasts prints: 32 patterns at most */
#define STS_FETCH_TIMEOUT 30   /* seconds for qmtasts */

/* The cache's file name for domain: sts/DOMAIN, lowercase; 0, or -1 if
 * the domain has a byte that does not belong in a host name. */
static int cache_path(char *path, size_t size, const char *domain)
{
  size_t len = strlen(domain);

  if (len == 0 || len + sizeof STS_DIR + 1 > size || domain[0] == '.') return -1;
  memcpy(path, STS_DIR "/", sizeof STS_DIR);
  for (size_t i = 0; i < len; ++i) {
    char c = domain[i];

    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return -1;
    path[sizeof STS_DIR + i] = c;
  }
  path[sizeof STS_DIR + len] = '\0';
  return 0;
}

/* Reads qmtasts's normal form (and our id/expires lines) from text. 0, -1. */
static int policy_read(struct sts_cache *c, const char *text, size_t len)
{
  size_t pos = 0;
  int have_mode = 0;

  memset(c, 0, sizeof *c);
  while (pos < len) {
    const char *l = text + pos;
    size_t n = 0;
    const char *v;
    size_t vlen;

    while (pos + n < len && l[n] != '\n') ++n;
    pos += n + 1;
    v = memchr(l, ' ', n);
    if (v == NULL) return -1;
    ++v;
    vlen = n - (size_t)(v - l);
    if (vlen == 0) return -1;
    if (v - l == 3 && memcmp(l, "id ", 3) == 0) {
      if (vlen > STS_ID_MAX) return -1;
      memcpy(c->id, v, vlen);
      c->id[vlen] = '\0';
    } else if (v - l == 8 && memcmp(l, "expires ", 8) == 0) {
      if (scan_ulong(v, &c->expires) != vlen) return -1;
    } else if (v - l == 8 && memcmp(l, "max_age ", 8) == 0) {
      if (scan_ulong(v, &c->policy.max_age) != vlen) return -1;
    } else if (v - l == 5 && memcmp(l, "mode ", 5) == 0) {
      if (vlen == 7 && memcmp(v, "enforce", 7) == 0) c->policy.mode = STS_ENFORCE;
      else if (vlen == 7 && memcmp(v, "testing", 7) == 0) c->policy.mode = STS_TESTING;
      else if (vlen == 4 && memcmp(v, "none", 4) == 0) c->policy.mode = STS_NONE;
      else return -1;
      have_mode = 1;
    } else if (v - l == 3 && memcmp(l, "mx ", 3) == 0) {
      if (c->policy.mx_count == STS_MX_MAX || vlen > STS_NAME_MAX) return -1;
      memcpy(c->policy.mx[c->policy.mx_count], v, vlen);
      c->policy.mx[c->policy.mx_count++][vlen] = '\0';
    }
  }
  return have_mode ? 0 : -1;
}

static int cache_read(struct sts_cache *c, const char *path)
{
  char buf[STS_OUT_MAX + 128];
  size_t n = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd == -1) return -1;
  for (;;) {
    ssize_t r = read(fd, buf + n, sizeof buf - n);

    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
    if (n == sizeof buf) break;
  }
  close(fd);
  if (n == sizeof buf) return -1;
  return policy_read(c, buf, n);
}

static void cache_write(const char *path, const char *id, unsigned long expires,
                        const char *out, size_t outlen)
{
  char tmp[QR_HOST_MAX + 64];
  char head[STS_ID_MAX + FMT_ULONG + 32];
  size_t n = 0;
  size_t t = 0;
  int fd;
  int ok;

  mkdir(STS_DIR, 0700);
  t += fmt_str(tmp + t, STS_DIR "/.tmp.");
  t += fmt_ulong(tmp + t, (unsigned long)getpid());
  tmp[t] = '\0';
  n += fmt_str(head + n, "id ");
  n += fmt_str(head + n, id);
  n += fmt_str(head + n, "\nexpires ");
  n += fmt_ulong(head + n, expires);
  n += fmt_str(head + n, "\n");
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd == -1) {
    qwarn_sys("unable to write the MTA-STS cache ", tmp);
    return;
  }
  ok = write(fd, head, n) == (ssize_t)n && write(fd, out, outlen) == (ssize_t)outlen;
  if (close(fd) == -1) ok = 0;
  if (!ok || rename(tmp, path) == -1) {
    qwarn_sys("unable to write the MTA-STS cache ", path);
    unlink(tmp);
  }
}

/* The id of the domain's _mta-sts TXT record (RFC 8461 3.1): 1 found,
 * 0 none (or not exactly one STSv1 record), -1 lookup failed. */
static int txt_id(const char *domain, char *id)
{
  struct dnsq_answer ans;
  int found = 0;

  if (qdns_txt("_mta-sts.", domain, &ans) < 0) return -1;
  for (size_t i = 0; i < ans.count; ++i) {
    const char *t = ans.rr[i].data;
    size_t len = ans.rr[i].len;

    if (ans.rr[i].type != DNSQ_T_TXT) continue;
    if (len < 7 || memcmp(t, "v=STSv1", 7) != 0 || (len > 7 && t[7] != ';' && t[7] != ' '))
      continue;
    if (found++) break; /* two records: no policy */
    id[0] = '\0';
    for (size_t k = 7; k + 3 <= len; ++k) {
      size_t n = 0;

      if (memcmp(t + k, "id=", 3) != 0 || (t[k - 1] != ';' && t[k - 1] != ' ')) continue;
      k += 3;
      while (k + n < len && n <= STS_ID_MAX &&
             ((t[k + n] >= 'a' && t[k + n] <= 'z') || (t[k + n] >= 'A' && t[k + n] <= 'Z') ||
              (t[k + n] >= '0' && t[k + n] <= '9')))
        ++n;
      if (n == 0 || n > STS_ID_MAX) break;
      memcpy(id, t + k, n);
      id[n] = '\0';
      break;
    }
  }
  dnsq_free(&ans);
  return found == 1 && id[0] != '\0' ? 1 : 0;
}

/* Runs qmtasts -a IP:443 domain; its output into out. 0, or -1 (*why). */
static int fetch(const char *domain, stralloc *out, const char **why)
{
  char host[QR_HOST_MAX + 16];
  char addr[IP_FMT_MAX + 16];
  char timetext[FMT_ULONG];
  stralloc ips = {0};
  int secure;
  int pipefd[2];
  pid_t pid;
  int status;
  size_t n = 0;
  size_t dlen = strlen(domain);

  *why = "no address for the policy host";
  out->len = 0;
  if (dlen + 9 > QR_HOST_MAX) return -1;
  memcpy(host, "mta-sts.", 8);
  memcpy(host + 8, domain, dlen + 1);
  if (qdns_ip(&ips, host, &secure) != QDNS_OK || ips.len < 16) {
    stralloc_free(&ips);
    return -1;
  }
  if (net_ismapped(ips.s)) {
    net_fmtip(addr, ips.s);
    n = strlen(addr);
  } else {
    addr[0] = '[';
    net_fmtip(addr + 1, ips.s);
    n = strlen(addr);
    addr[n++] = ']';
  }
  n += fmt_str(addr + n, ":443");
  addr[n] = '\0';
  stralloc_free(&ips);
  timetext[fmt_ulong(timetext, STS_FETCH_TIMEOUT)] = '\0';

  *why = "unable to run qmtasts";
  if (pipe2(pipefd, O_CLOEXEC) == -1) return -1;
  pid = fork();
  if (pid == -1) {
    close(pipefd[0]);
    close(pipefd[1]);
    return -1;
  }
  if (pid == 0) {
    const char *argv[] = {STS_HELPER, "-t", timetext, "-a", addr, domain, NULL};

    if (dup2(pipefd[1], 1) == -1) _exit(111);
    helper_exec(argv);
  }
  close(pipefd[1]);
  for (;;) {
    char buf[4096];
    ssize_t r;

    if (net_wait(pipefd[0], POLLIN, STS_FETCH_TIMEOUT + 5) != 1) {
      kill(pid, SIGTERM);
      break;
    }
    r = read(pipefd[0], buf, sizeof buf);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    if (out->len + (size_t)r > STS_OUT_MAX || !stralloc_catb(out, buf, (size_t)r)) {
      kill(pid, SIGTERM);
      break;
    }
  }
  close(pipefd[0]);
  while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *why = WIFEXITED(status) && WEXITSTATUS(status) == 100 ? "invalid policy"
                                                          : "fetch failed (see qmtasts)";
    return -1;
  }
  *why = NULL;
  return 0;
}

int sts_lookup(const char *domain, struct sts_cache *c)
{
  char path[QR_HOST_MAX + 16];
  char id[STS_ID_MAX + 1];
  unsigned long now = (unsigned long)time(NULL);
  int have;
  int txt;
  stralloc out = {0};
  const char *why;
  struct sts_cache fresh;

  if (cache_path(path, sizeof path, domain) == -1) return 0;
  have = cache_read(c, path) == 0 && now < c->expires;
  txt = txt_id(domain, id);
  if (txt != 1) return have;            /* no record or no answer: the cache, if any */
  if (have && strcmp(c->id, id) == 0) return 1;
  if (fetch(domain, &out, &why) == 0) {
    if (policy_read(&fresh, out.s, out.len) == -1) why = "unreadable output of qmtasts";
    else if (fresh.policy.max_age == 0) why = "max_age 0";
  }
  if (why != NULL) {
    qlog("MTA-STS policy of ", domain, " not fetched: ", why,
         have ? " (the cached one stays)" : "");
    stralloc_free(&out);
    return have;
  }
  memcpy(fresh.id, id, strlen(id) + 1);
  fresh.expires = now + fresh.policy.max_age;
  cache_write(path, id, fresh.expires, out.s, out.len);
  qlog("MTA-STS policy of ", domain, " fetched: id ", id, " mode ",
       sts_mode_name(fresh.policy.mode));
  stralloc_free(&out);
  *c = fresh;
  return 1;
}
