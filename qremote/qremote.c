/*
 * qremote: deliver messages to the mail servers of one destination by SMTP.
 * Run by qrspawn as qmta-remote (never needs more), in QHOME.
 *
 * argv: qremote [-r route] domain
 *   domain: the recipients' domain; its route comes from control/smtproutes
 *   or, without an entry, from its MX records. -r gives the route instead
 *   ("host[:port][ option...]", as the right-hand side of smtproutes).
 * fd 0: jobs from qrspawn, text0 records, one job after the other:
 *   "I1234\0" "Sbob@example.org\0" ["Vret\0"] ["Xenvid\0"]
 *   "Rann@example.net\0" ["Nnotify\0"] ["Oorcpt\0"] ... "\0"
 *   The message is queue/mess/NN/1234, read from offset 24 (queue.h).
 * fd 1: for each job, one record per recipient in order, "K<text>\0"
 *   delivered ("P<text>\0" to a server that offers DSN, which got the
 *   NOTIFY: no success report here), "Z<text>\0" deferred by a failure of the destination,
 *   "T<text>\0" deferred alone (a 4xx to its RCPT or to the message's
 *   data, a queue file that cannot be read), "D<text>\0" failed, then "\0".
 * fd 2: the log, one line per recipient and attempt.
 * Between jobs the connection stays open; end of file on fd 0 means QUIT
 * and exit 0. Exit 111 on a protocol error or when fd 1 fails; 100 on misuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <buffer.h>
#include <scan.h>
#include <stralloc.h>

#include "bflush.h"
#include "addr.h"
#include "ctl.h"
#include "ctldef.h"
#include "qlog.h"
#include "queue.h"
#include "qremote.h"
#include "spawnproto.h"

#define USAGE "qremote [-r route] domain"
#define DEFAULT_TIMEOUT_CONNECT CTLDEF_TIMEOUTCONNECT
#define DEFAULT_TIMEOUT_REMOTE CTLDEF_TIMEOUTREMOTE

static void die_nomem(void) { qdie(111, "fatal: out of memory"); }
static void die_proto(const char *why) { qdie(111, "protocol error on the job pipe: ", why); }

static ssize_t job_read(int fd, char *buf, size_t len, void *cookie)
{
  ssize_t r;

  (void)cookie;
  do r = read(fd, buf, len); while (r == -1 && errno == EINTR);
  return r;
}

static ssize_t result_write(int fd, const char *buf, size_t len, void *cookie)
{
  ssize_t r;

  (void)cookie;
  do r = write(fd, buf, len); while (r == -1 && errno == EINTR);
  return r;
}

static char job_space[8192];
static char result_space[8192];
static buffer job_in;
static buffer result_out;

static stralloc jobdata;

/* Reads one record (up to and including its NUL) onto jobdata.
 * 1 a record, 0 end of file before it, -1 error. */
static int record_get(void)
{
  size_t start = jobdata.len;

  for (;;) {
    char c;
    ssize_t r = buffer_getc(&job_in, &c);

    if (r == -1) qdie_sys(111, "unable to read the job pipe");
    if (r == 0) {
      if (jobdata.len == start) return 0;
      die_proto("end of file inside a record");
    }
    if (!stralloc_append(&jobdata, &c)) die_nomem();
    if (c == '\0') return 1;
    if (jobdata.len - start >= SPAWN_FIELD_MAX) die_proto("record too long");
  }
}

struct rec_offsets {
  size_t id;
  size_t sender;
  size_t ret;
  size_t envid;
  size_t *rcpt;   /* three offsets per recipient: addr, notify, orcpt */
  size_t rcpt_count;
};

#define NONE ((size_t)-1)

/* Reads one job. 1 a job, 0 end of file between jobs. */
static int job_get(struct rec_offsets *o)
{
  static size_t alloc;

  jobdata.len = 0;
  o->id = o->sender = o->ret = o->envid = NONE;
  o->rcpt_count = 0;
  for (;;) {
    size_t start = jobdata.len;
    char tag;

    if (record_get() == 0) {
      if (start == 0) return 0;
      die_proto("end of file inside a job");
    }
    tag = jobdata.s[start];
    if (tag == '\0') break;
    switch (tag) {
      case 'I': if (o->id != NONE) die_proto("two I records"); o->id = start + 1; break;
      case 'S': if (o->sender != NONE) die_proto("two S records"); o->sender = start + 1; break;
      case 'V': o->ret = start + 1; break;
      case 'X': o->envid = start + 1; break;
      case 'R':
        if (o->rcpt_count == SPAWN_RCPT_MAX) die_proto("too many recipients");
        if (o->rcpt_count == alloc) {
          size_t *n = realloc(o->rcpt, (alloc + 64) * 3 * sizeof *n);
          if (n == NULL) die_nomem();
          o->rcpt = n;
          alloc += 64;
        }
        o->rcpt[3 * o->rcpt_count] = start + 1;
        o->rcpt[3 * o->rcpt_count + 1] = NONE;
        o->rcpt[3 * o->rcpt_count + 2] = NONE;
        ++o->rcpt_count;
        break;
      case 'N':
      case 'O':
        if (o->rcpt_count == 0) die_proto("N or O before R");
        o->rcpt[3 * (o->rcpt_count - 1) + (tag == 'N' ? 1 : 2)] = start + 1;
        break;
      default:
        die_proto("unknown record");
    }
  }
  if (o->id == NONE || o->sender == NONE || o->rcpt_count == 0) die_proto("incomplete job");
  return 1;
}

static void results_put(const struct job *j)
{
  for (size_t i = 0; i < j->rcpt_count; ++i) {
    const struct rcpt *r = &j->rcpt[i];
    char tag = r->result;

    if (tag != 'K' && tag != 'P' && tag != 'Z' && tag != 'T' && tag != 'D') tag = 'Z';
    if (buffer_put(&result_out, &tag, 1) == -1) goto fail;
    for (size_t k = 0; k < r->text.len && k < SPAWN_TEXT_MAX; ++k) {
      char c = r->text.s[k];

      if ((unsigned char)c < 0x20 || c == 0x7f) c = '?';
      if (buffer_put(&result_out, &c, 1) == -1) goto fail;
    }
    if (buffer_put(&result_out, "", 1) == -1) goto fail;
  }
  if (buffer_put(&result_out, "", 1) == -1 || bflush(&result_out) == -1) goto fail;
  return;
fail:
  qdie_sys(111, "unable to write the results");
}

/* Opens the queue file; 0, or -1 with the reason in text. */
static int message_open(struct job *j, stralloc *text)
{
  char path[QUEUE_PATH_MAX];
  char hdr[QUEUE_HDRLEN];
  struct stat st;
  const char *why = "malformed queue file header";

  queue_path(path, "mess", j->id);
  j->msgfd = open(path, O_RDONLY | O_CLOEXEC);
  if (j->msgfd == -1) {
    why = strerror(errno);
    goto fail;
  }
  if (pread(j->msgfd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
      queue_hdr_scan(hdr, &j->msglen) == -1)
    goto fail;
  if (fstat(j->msgfd, &st) == -1 || (unsigned long long)st.st_size < QUEUE_HDRLEN + j->msglen) {
    why = "queue file shorter than its header says";
    goto fail;
  }
  return 0;

fail:
  if (j->msgfd != -1) close(j->msgfd);
  j->msgfd = -1;
  if (!stralloc_copys(text, "4.3.0 unable to open ") || !stralloc_cats(text, path) ||
      !stralloc_cats(text, ": ") || !stralloc_cats(text, why))
    text->len = 0;
  return -1;
}

/* Waits for the next job; meanwhile notices the server hanging up. */
static void idle_wait(void)
{
  while (job_in.p == job_in.n) {
    struct pollfd p[2];
    nfds_t n = 1;
    int r;

    p[0].fd = 0;
    p[0].events = POLLIN;
    p[0].revents = 0;
    if (smtp_fd() != -1) {
      p[1].fd = smtp_fd();
      p[1].events = POLLIN;
      p[1].revents = 0;
      n = 2;
    }
    r = poll(p, n, -1);
    if (r == -1) {
      if (errno == EINTR) continue;
      qdie_sys(111, "unable to poll");
    }
    if (n == 2 && p[1].revents != 0) smtp_idle_event();
    if (p[0].revents != 0) return;
  }
}

static void config_read(struct smtp_config *c, stralloc *routes)
{
  char host[256];

  if (ctl_readline(&c->me, "control/me", NULL) == -1)
    qdie_sys(111, "unable to read control/me");
  if (c->me.len == 0) {
    if (gethostname(host, sizeof host - 1) == -1) memcpy(host, "localhost", 10);
    host[sizeof host - 1] = '\0';
    if (!stralloc_copys(&c->me, host)) die_nomem();
  }
  if (ctl_readline(&c->helo, "control/helohost", NULL) == -1)
    qdie_sys(111, "unable to read control/helohost");
  if (c->helo.len == 0 && !stralloc_copy(&c->helo, &c->me)) die_nomem();
  if (!stralloc_0(&c->me)) die_nomem();
  --c->me.len;
  if (ctl_readint(&c->timeout_connect, "control/timeoutconnect", DEFAULT_TIMEOUT_CONNECT) == -1)
    qdie_sys(111, "unable to read control/timeoutconnect");
  if (ctl_readint(&c->timeout_remote, "control/timeoutremote", DEFAULT_TIMEOUT_REMOTE) == -1)
    qdie_sys(111, "unable to read control/timeoutremote");
  if (c->timeout_connect == 0) c->timeout_connect = DEFAULT_TIMEOUT_CONNECT;
  if (c->timeout_remote == 0) c->timeout_remote = DEFAULT_TIMEOUT_REMOTE;
  if (ctl_readlist(routes, "control/smtproutes") == -1)
    qdie_sys(111, "unable to read control/smtproutes");
  if (ctl_readlist(&c->tlspolicy, "control/tlspolicy") == -1)
    qdie_sys(111, "unable to read control/tlspolicy");
}

int main(int argc, char **argv)
{
  struct smtp_config cfg = {0};
  struct route route;
  int route_status;
  stralloc routes = {0};
  const char *override = NULL;
  const char *domain;
  size_t dlen;
  struct rec_offsets o = {0};
  struct job j;
  char *slash;
  int opt;

  qlog_prog = "qremote";
  opterr = 0; /* one usage line of our own, not getopt's as well */
  while ((opt = getopt(argc, argv, "r:")) != -1) {
    if (opt == 'r') override = optarg;
    else qdie_usage(USAGE);
  }
  if (argc - optind != 1) qdie_usage(USAGE);
  domain = argv[optind];
  dlen = strlen(domain);
  if (dlen == 0 || dlen > ADDR_MAX_DOMAIN) qdie_usage(USAGE);

  signal(SIGPIPE, SIG_IGN);
  slash = strrchr(argv[0], '/');
  if (slash != NULL) {
    *slash = '\0';
    tls_helper_dir = argv[0];
  }
  if (qhome_chdir() == -1) qdie_sys(111, "unable to chdir to ", qhome());
  config_read(&cfg, &routes);
  if (override != NULL)
    route_status = route_parse(&route, override, strlen(override)) == 0 ? 1 : -1;
  else
    route_status = route_find(&route, routes.s, routes.len, domain, dlen);
  qdns_init();

  buffer_init(&job_in, job_read, 0, job_space, sizeof job_space);
  buffer_init(&result_out, result_write, 1, result_space, sizeof result_space);

  for (;;) {
    stralloc text = {0};
    unsigned long long id;

    idle_wait();
    if (job_get(&o) == 0) break;

    memset(&j, 0, sizeof j);
    j.msgfd = -1;
    if (queue_id_scan(jobdata.s + o.id, &id) == -1 || id > (unsigned long)-1)
      die_proto("bad queue id");
    j.id = (unsigned long)id;
    j.qid = jobdata.s + o.id;
    j.sender = jobdata.s + o.sender;
    j.ret = o.ret != NONE ? jobdata.s + o.ret : NULL;
    j.envid = o.envid != NONE ? jobdata.s + o.envid : NULL;
    j.rcpt_count = o.rcpt_count;
    j.rcpt = calloc(o.rcpt_count, sizeof *j.rcpt);
    if (j.rcpt == NULL) die_nomem();
    for (size_t i = 0; i < o.rcpt_count; ++i) {
      size_t a = o.rcpt[3 * i];
      size_t rdlen;
      const char *rd;

      j.rcpt[i].addr = jobdata.s + a;
      j.rcpt[i].notify = o.rcpt[3 * i + 1] != NONE ? jobdata.s + o.rcpt[3 * i + 1] : NULL;
      j.rcpt[i].orcpt = o.rcpt[3 * i + 2] != NONE ? jobdata.s + o.rcpt[3 * i + 2] : NULL;
      rd = addr_domain(j.rcpt[i].addr, strlen(j.rcpt[i].addr), &rdlen);
      if (rdlen != dlen || strncasecmp(rd, domain, dlen) != 0)
        die_proto("a recipient outside the destination domain");
    }

    if (route_status == -1) {
      if (!stralloc_copys(&text, "4.3.5 malformed route for ") || !stralloc_cats(&text, domain))
        die_nomem();
      for (size_t i = 0; i < j.rcpt_count; ++i) {
        j.rcpt[i].result = 'Z';
        if (!stralloc_copy(&j.rcpt[i].text, &text)) die_nomem();
      }
      qwarn("malformed route for ", domain, " in control/smtproutes or -r");
    } else if (message_open(&j, &text) == -1) {
      for (size_t i = 0; i < j.rcpt_count; ++i) {
        j.rcpt[i].result = 'T'; /* this message's trouble: the destination is not to blame */
        if (!stralloc_copy(&j.rcpt[i].text, &text)) die_nomem();
      }
      qwarn(text.len > 0 ? "unable to open a queue file" : "out of memory");
    } else {
      smtp_deliver(&j, &route, domain, &cfg);
    }
    results_put(&j);

    if (j.msgfd != -1) close(j.msgfd);
    for (size_t i = 0; i < j.rcpt_count; ++i) stralloc_free(&j.rcpt[i].text);
    free(j.rcpt);
    stralloc_free(&text);
  }
  smtp_quit();
  free(o.rcpt);
  stralloc_free(&jobdata);
  stralloc_free(&routes);
  stralloc_free(&cfg.me);
  stralloc_free(&cfg.helo);
  stralloc_free(&cfg.tlspolicy);
  return 0;
}
