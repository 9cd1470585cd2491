/*
 * sendmail_send: sending a message (sendmail's default mode). Reads the
 * message on fd 0 (a line with a lone "." ends it unless -i or -oi),
 * drops an mbox "From " first line, Bcc: and Return-Path:, adds Date:,
 * Message-ID: and From: when missing, qualifies addresses without '@'
 * with control/me, applies generics and masquerading (sendmail_rw.h) to
 * From/Sender/Reply-To (and, with control/masquerade_envelope, to the
 * envelope sender), takes recipients from To/Cc/Bcc with -t (added to
 * those of the command line), and hands the message to qinject with the
 * qmail-queue protocol (message on its fd 0, envelope on its fd 1).
 * Exit: returns once qinject has queued the message; 100 permanent (bad
 * address, no recipient, header too large, refused), 111 temporary.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <buffer.h>
#include <case.h>
#include <fmt.h>
#include <stralloc.h>

#include "bflush.h"
#include "addr.h"
#include "ctl.h"
#include "datefmt.h"
#include "msgid.h"
#include "durable.h"
#include "line.h"
#include "qlog.h"
#include "sendmail.h"
#include "sendmail_hdr.h"
#include "sendmail_rw.h"

#define HDR_LINE_MAX (1024 * 1024)  /* one header line */
#define HDR_MAX (4 * 1024 * 1024)   /* the whole header section */
#define RCPT_MAX 100000             /* envelope recipients */

/* ---- addresses ------------------------------------------------------------- */

static stralloc me;
static struct rw rw;

/* The text of an address (header or argument form) into internal form;
 * no '@': ours. 1 ok, 0 invalid. */
static int to_internal(const char *s, size_t len, stralloc *out)
{
  struct addr a;
  stralloc full = {0};
  int ok;

  if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
    s++;
    len -= 2;
  }
  if (len == 0) return 0;
  if (memchr(s, '@', len) == NULL) {
    if (!stralloc_copyb(&full, s, len) || !stralloc_cats(&full, "@") ||
        !stralloc_cat(&full, &me))
      qdie_nomem();
    s = full.s;
    len = full.len;
  }
  ok = len <= ADDR_QUOTED_MAX &&
       addr_parse(&a, s, len, ADDR_ALLOW_NOBRACKET | ADDR_ALLOW_UTF8) == len && !a.null;
  stralloc_free(&full);
  if (!ok) return 0;
  if (!stralloc_copyb(out, a.s, a.len)) qdie_nomem();
  return 1;
}

static void rewrite(const stralloc *in, stralloc *out)
{
  if (rw_address(&rw, in->s, in->len, out) == -1) qdie_sys(111, "unable to read control/generics");
}

/* ---- header fields ---------------------------------------------------------- */

enum field_kind { F_OTHER, F_SENDER, F_RCPT, F_BCC, F_DROP };

static stralloc rcpts;        /* recipients, internal form, each followed by '\0' */
static size_t rcpt_count;
static struct hdr_span spans[HDR_SPANS_MAX];

static void rcpt_add(const char *s, size_t len)
{
  if (++rcpt_count > RCPT_MAX) qdie(100, "too many recipients");
  if (!stralloc_catb(&rcpts, s, len) || !stralloc_0(&rcpts)) qdie_nomem();
}

static enum field_kind field_kind(const char *name, size_t len)
{
  if (hdr_is(name, len, "from") || hdr_is(name, len, "sender") ||
      hdr_is(name, len, "reply-to") || hdr_is(name, len, "resent-from") ||
      hdr_is(name, len, "resent-sender"))
    return F_SENDER;
  if (hdr_is(name, len, "to") || hdr_is(name, len, "cc") || hdr_is(name, len, "resent-to") ||
      hdr_is(name, len, "resent-cc"))
    return F_RCPT;
  if (hdr_is(name, len, "bcc") || hdr_is(name, len, "resent-bcc")) return F_BCC;
  if (hdr_is(name, len, "return-path")) return F_DROP;
  return F_OTHER;
}

/*
 * One header field f (flen bytes, folded lines and final line end
 * included) with name length nlen: appends to out what goes into the
 * message, and collects recipients with -t.
 */
static void do_field(const char *f, size_t flen, size_t nlen, stralloc *out)
{
  enum field_kind kind = field_kind(f, nlen);
  stralloc internal = {0};
  stralloc rewritten = {0};
  char quoted[ADDR_QUOTED_MAX];
  size_t vstart;
  size_t vlen;
  size_t copied;
  long count;
  long k;

  if (kind == F_DROP) return;
  if (kind == F_OTHER || (kind == F_BCC && !opt.from_headers)) {
    if (kind == F_OTHER && !stralloc_catb(out, f, flen)) qdie_nomem();
    return;
  }

  vstart = (size_t)((const char *)memchr(f, ':', flen) - f) + 1;
  vlen = flen - vstart;
  while (vlen > 0 && (f[vstart + vlen - 1] == '\n' || f[vstart + vlen - 1] == '\r')) vlen--;
  count = hdr_addrlist(f + vstart, vlen, spans, HDR_SPANS_MAX);
  if (count > (long)HDR_SPANS_MAX) qdie(100, "too many addresses in one header field");
  if (count == -1) {
    if (opt.from_headers && kind != F_SENDER)
      qdie(100, "malformed address list in a recipient header field");
    if (kind != F_BCC && !stralloc_catb(out, f, flen)) qdie_nomem();
    return;
  }

  copied = 0;
  for (k = 0; k < count; k++) {
    const char *text = f + vstart + spans[k].start;
    size_t tlen = spans[k].len;
    int changed;

    if (!to_internal(text, tlen, &internal)) {
      if (opt.from_headers && kind != F_SENDER) {
        stralloc bad = {0};
        if (!stralloc_copyb(&bad, text, tlen > 200 ? 200 : tlen) || !stralloc_0(&bad))
          qdie_nomem();
        qdie(100, "bad recipient address in a header field: ", bad.s);
      }
      continue;
    }
    if (opt.from_headers && kind != F_SENDER) rcpt_add(internal.s, internal.len);
    if (kind == F_BCC) continue;

    changed = memchr(text, '@', tlen) == NULL; /* qualified */
    if (kind == F_SENDER) {
      rewrite(&internal, &rewritten);
      if (rewritten.len != internal.len || memcmp(rewritten.s, internal.s, internal.len) != 0)
        changed = 1;
    } else if (!stralloc_copy(&rewritten, &internal)) {
      qdie_nomem();
    }
    if (!changed) continue;
    if (!stralloc_catb(out, f + copied, vstart + spans[k].start - copied)) qdie_nomem();
    if (!stralloc_catb(out, quoted, addr_quote(quoted, rewritten.s, rewritten.len))) qdie_nomem();
    copied = vstart + spans[k].start + tlen;
  }
  if (kind != F_BCC && !stralloc_catb(out, f + copied, flen - copied)) qdie_nomem();
  stralloc_free(&internal);
  stralloc_free(&rewritten);
}

/* ---- reading the message ---------------------------------------------------- */

static ssize_t read_op(int fd, char *buf, size_t len, void *cookie)
{
  ssize_t r;

  (void)cookie;
  do r = read(fd, buf, len); while (r == -1 && errno == EINTR);
  return r;
}

static char inspace[65536];
static buffer in = BUFFER_INIT(read_op, 0, inspace, sizeof inspace);

static int is_dot_line(const char *line, size_t len)
{
  return (len == 1 && line[0] == '.') || (len == 2 && line[0] == '.' && line[1] == '\n') ||
         (len == 3 && line[0] == '.' && line[1] == '\r' && line[2] == '\n');
}

static int is_blank_line(const char *line, size_t len)
{
  return (len == 1 && line[0] == '\n') || (len == 2 && line[0] == '\r' && line[1] == '\n');
}

struct header_state {
  stralloc out;        /* the header section as it goes to qinject */
  stralloc field;      /* the field being collected */
  size_t field_nlen;
  stralloc first_body; /* a line that ended the header section without a blank line */
  int ended_by_dot;    /* input ended (lone "." or EOF) inside the header section */
  int seen_date;
  int seen_msgid;
  int seen_from;
};

static void flush_field(struct header_state *h)
{
  if (h->field.len == 0) return;
  if (h->field.s[h->field.len - 1] != '\n' && !stralloc_cats(&h->field, "\n")) qdie_nomem();
  if (hdr_is(h->field.s, h->field_nlen, "date")) h->seen_date = 1;
  if (hdr_is(h->field.s, h->field_nlen, "message-id")) h->seen_msgid = 1;
  if (hdr_is(h->field.s, h->field_nlen, "from")) h->seen_from = 1;
  do_field(h->field.s, h->field.len, h->field_nlen, &h->out);
  h->field.len = 0;
}

static void read_header(struct header_state *h)
{
  static char line[HDR_LINE_MAX];
  size_t len;
  size_t total = 0;
  int first = 1;

  for (;;) {
    switch (line_get(&in, line, sizeof line, &len)) {
      case -1: qdie_sys(111, "unable to read the message");
      case -2: qdie(100, "header line too long");
      case 0:
        flush_field(h);
        h->ended_by_dot = 1;
        return;
    }
    if (__builtin_add_overflow(total, len, &total) || total > HDR_MAX)
      qdie(100, "header section too large");
    if (opt.dot_ends && is_dot_line(line, len)) {
      flush_field(h);
      h->ended_by_dot = 1;
      return;
    }
    if (first && len >= 5 && !memcmp(line, "From ", 5)) { /* an mbox separator */
      first = 0;
      continue;
    }
    first = 0;
    if (is_blank_line(line, len)) {
      flush_field(h);
      return;
    }
    if ((line[0] == ' ' || line[0] == '\t') && h->field.len > 0) {
      if (!stralloc_catb(&h->field, line, len)) qdie_nomem();
      continue;
    }
    flush_field(h);
    h->field_nlen = hdr_fieldname(line, len);
    if (h->field_nlen == 0) { /* not a header: the body starts here */
      if (!stralloc_copyb(&h->first_body, line, len)) qdie_nomem();
      return;
    }
    if (!stralloc_copyb(&h->field, line, len)) qdie_nomem();
  }
}

/* ---- headers we add ----------------------------------------------------------- */

static int atext_phrase(const char *s)
{
  for (; *s != 0; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x80 || c == ' ') continue;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) continue;
    if (strchr("!#$%&'*+-/=?^_`{|}~.", c) == NULL) return 0;
  }
  return 1;
}

static void add_from(stralloc *out, const stralloc *addr, const char *fullname)
{
  char quoted[ADDR_QUOTED_MAX];

  if (!stralloc_cats(out, "From: ")) qdie_nomem();
  if (fullname != NULL && *fullname != 0) {
    if (atext_phrase(fullname)) {
      if (!stralloc_cats(out, fullname)) qdie_nomem();
    } else {
      const char *p;
      if (!stralloc_cats(out, "\"")) qdie_nomem();
      for (p = fullname; *p != 0; p++) {
        if (*p == '\r' || *p == '\n') continue;
        if ((*p == '"' || *p == '\\') && !stralloc_cats(out, "\\")) qdie_nomem();
        if (!stralloc_append(out, p)) qdie_nomem();
      }
      if (!stralloc_cats(out, "\"")) qdie_nomem();
    }
    if (!stralloc_cats(out, " ")) qdie_nomem();
  }
  if (!stralloc_cats(out, "<") ||
      !stralloc_catb(out, quoted, addr_quote(quoted, addr->s, addr->len)) ||
      !stralloc_cats(out, ">\n"))
    qdie_nomem();
}

static void add_headers(struct header_state *h, const stralloc *from_addr, const char *fullname)
{
  char buf[DATE822_MAX + 100];
  struct timespec ts;
  size_t n;

  clock_gettime(CLOCK_REALTIME, &ts);
  if (!h->seen_date) {
    n = date822_fmt(buf, ts.tv_sec, 1);
    if (n == 0) qdie(111, "unable to format the date");
    if (!stralloc_cats(&h->out, "Date: ") || !stralloc_catb(&h->out, buf, n) ||
        !stralloc_cats(&h->out, "\n"))
      qdie_nomem();
  }
  if (!h->seen_msgid) {
    n = 0;
    buf[n++] = '<';
    n += msgid_local(buf + n, &ts);
    buf[n++] = '@';
    if (!stralloc_cats(&h->out, "Message-ID: ") || !stralloc_catb(&h->out, buf, n) ||
        !stralloc_cat(&h->out, &me) || !stralloc_cats(&h->out, ">\n"))
      qdie_nomem();
  }
  if (!h->seen_from) add_from(&h->out, from_addr, fullname);
}

/* ---- writing to qinject ----------------------------------------------------- */

static int pipe_broken;

static ssize_t write_op(int fd, const char *buf, size_t len, void *cookie)
{
  ssize_t w;

  (void)cookie;
  if (pipe_broken) return (ssize_t)len; /* qinject is gone: its exit code will say why */
  do w = write(fd, buf, len); while (w == -1 && errno == EINTR);
  if (w == -1 && errno == EPIPE) {
    pipe_broken = 1;
    return (ssize_t)len;
  }
  return w;
}

static void put(buffer *b, const char *s, size_t len)
{
  if (buffer_put(b, s, len) == -1) qdie_sys(111, "unable to write to qinject");
}

/*
 * Copies the body from in to out; with dot_ends, a line holding only "."
 * (LF or CRLF) ends it. state: 1 at the start of a line, 2 after a "." there,
 * 3 after ".\r" there, 0 inside a line.
 */
static void copy_body(buffer *out, const stralloc *first_line)
{
  char chunk[65536];
  int state = 1;
  int pass;

  for (pass = 0;; pass = 1) {
    const char *p;
    ssize_t r;
    ssize_t i;
    ssize_t from = 0;

    if (pass == 0) {
      p = first_line->s;
      r = (ssize_t)first_line->len;
    } else {
      r = buffer_get(&in, chunk, sizeof chunk);
      if (r == -1) qdie_sys(111, "unable to read the message");
      if (r == 0) break;
      p = chunk;
    }
    if (!opt.dot_ends) {
      put(out, p, (size_t)r);
      continue;
    }
    for (i = 0; i < r; i++) {
      char c = p[i];
      switch (state) {
        case 0:
          if (c == '\n') state = 1;
          break;
        case 1:
          if (c == '.') {
            put(out, p + from, (size_t)(i - from));
            from = i + 1;
            state = 2;
          } else if (c != '\n') {
            state = 0;
          }
          break;
        case 2:
        case 3:
          if (c == '\n') return; /* the lone dot */
          if (c == '\r' && state == 2) {
            state = 3;
            from = i + 1;
            break;
          }
          put(out, state == 2 ? "." : ".\r", state == 2 ? 1 : 2);
          from = i;
          state = c == '\n' ? 1 : 0;
          break;
      }
    }
    if (state != 2 && state != 3) put(out, p + from, (size_t)(r - from));
  }
  if (state == 2) put(out, ".", 1);
  if (state == 3) put(out, ".\r", 2);
}

/* Appends one envelope record tag+s+NUL. */
static void env_add(stralloc *env, char tag, const char *s, size_t len)
{
  if (!stralloc_append(env, &tag) || !stralloc_catb(env, s, len) || !stralloc_0(env))
    qdie_nomem();
}

/* DSN values of -N, -R, -V as qinject wants them (uppercased). */
static void env_dsn_upper(stralloc *env, char tag, const char *s)
{
  size_t start = env->len + 1;
  size_t i;

  env_add(env, tag, s, strlen(s));
  for (i = start; i + 1 < env->len; i++)
    if (env->s[i] >= 'a' && env->s[i] <= 'z') env->s[i] = (char)(env->s[i] - 'a' + 'A');
}

static int cmp_rcpt(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The envelope: F, V, X, then each distinct recipient with its N. */
static void build_envelope(stralloc *env, const stralloc *sender)
{
  const char **list;
  size_t i;
  size_t pos = 0;

  env_add(env, 'F', sender->s, sender->len);
  if (opt.ret != NULL) env_dsn_upper(env, 'V', opt.ret);
  if (opt.envid != NULL) env_add(env, 'X', opt.envid, strlen(opt.envid));

  list = malloc((rcpt_count + 1) * sizeof *list);
  if (list == NULL) qdie_nomem();
  for (i = 0; i < rcpt_count; i++) {
    list[i] = rcpts.s + pos;
    pos += strlen(rcpts.s + pos) + 1;
  }
  qsort(list, rcpt_count, sizeof *list, cmp_rcpt);
  for (i = 0; i < rcpt_count; i++) {
    if (i > 0 && !strcmp(list[i], list[i - 1])) continue;
    env_add(env, 'T', list[i], strlen(list[i]));
    if (opt.notify != NULL) env_dsn_upper(env, 'N', opt.notify);
  }
  free(list);
  if (!stralloc_0(env)) qdie_nomem();
}

/* Runs qinject and feeds it; returns only if the message is queued, else
 * exits with qinject's verdict turned into ours. */
static void inject(struct header_state *h, const stralloc *env)
{
  static char outspace[65536];
  buffer out;
  int msgpipe[2];
  int envpipe[2];
  pid_t pid;
  int status;
  int code;

  if (pipe(msgpipe) == -1 || pipe(envpipe) == -1) qdie_sys(111, "unable to create a pipe");
  pid = fork();
  if (pid == -1) qdie_sys(111, "unable to fork");
  if (pid == 0) {
    char *args[2];

    close(msgpipe[1]);
    close(envpipe[1]);
    if (dup2(msgpipe[0], 0) == -1 || dup2(envpipe[0], 1) == -1) _exit(111);
    if (msgpipe[0] != 0) close(msgpipe[0]);
    if (envpipe[0] != 1) close(envpipe[0]);
    signal(SIGPIPE, SIG_DFL);
    args[0] = (char *)"qinject";
    args[1] = NULL;
    run_prog("qinject", args);
  }
  close(msgpipe[0]);
  close(envpipe[0]);

  buffer_init(&out, write_op, msgpipe[1], outspace, sizeof outspace);
  put(&out, h->out.s, h->out.len);
  put(&out, "\n", 1);
  if (!h->ended_by_dot) copy_body(&out, &h->first_body);
  if (bflush(&out) == -1) qdie_sys(111, "unable to write to qinject");
  close(msgpipe[1]);
  if (!pipe_broken && durable_writeall(envpipe[1], env->s, env->len) == -1 && errno != EPIPE)
    qdie_sys(111, "unable to write to qinject");
  close(envpipe[1]);

  while (waitpid(pid, &status, 0) == -1)
    if (errno != EINTR) qdie_sys(111, "unable to wait for qinject");
  if (!WIFEXITED(status)) qdie(111, "qinject crashed");
  code = WEXITSTATUS(status);
  if (code == 0) return;
  {
    char num[FMT_ULONG + 1];
    num[fmt_ulonglong(num, (unsigned long long)code)] = 0;
    /* qmail-queue: 11..40 permanent, the rest temporary */
    if (code >= 11 && code <= 40) qdie(100, "message refused by qinject (exit ", num, ")");
    if (code == 100) qdie(100, "qinject refused the message (exit 100)");
    qdie(111, "qinject failed temporarily (exit ", num, ")");
  }
}

/* ---- sending ------------------------------------------------------------------ */

static void read_me(void)
{
  char host[256];

  switch (ctl_readline(&me, "control/me", NULL)) {
    case -1: qdie_sys(111, "unable to read control/me");
    case 1:
      case_lowerb(me.s, me.len);
      return;
  }
  if (gethostname(host, sizeof host - 1) == -1) qdie_sys(111, "unable to find the host name");
  host[sizeof host - 1] = 0;
  if (!stralloc_copys(&me, host)) qdie_nomem();
}

/* The recipients on the command line: each argument an address list. */
static void args_rcpts(void)
{
  stralloc one = {0};
  char **a;

  for (a = opt.rcpts; *a != NULL; a++) {
    size_t len = strlen(*a);
    long count = hdr_addrlist(*a, len, spans, HDR_SPANS_MAX);
    long k;

    if (count <= 0 || count > (long)HDR_SPANS_MAX) qdie(100, "bad recipient address: ", *a);
    for (k = 0; k < count; k++) {
      if (!to_internal(*a + spans[k].start, spans[k].len, &one))
        qdie(100, "bad recipient address: ", *a);
      rcpt_add(one.s, one.len);
    }
  }
  stralloc_free(&one);
}

void verify_args(void)
{
  if (qhome_chdir() == -1) qdie_sys(111, "unable to enter ", qhome());
  read_me();
  args_rcpts();
  verify_rcpts(&rcpts, &me);
}

int send_message(void)
{
  struct header_state h = {0};
  stralloc sender = {0};
  stralloc from_addr = {0};
  stralloc env = {0};
  struct passwd *pw;
  const char *fullname = opt.fullname;
  int null_sender = 0;

  if (qhome_chdir() == -1) qdie_sys(111, "unable to enter ", qhome());
  read_me();
  if (!stralloc_copy(&rw.me, &me)) qdie_nomem();
  if (rw_init(&rw) == -1) qdie_sys(111, "unable to read the control files");

  pw = getpwuid(getuid());
  if (opt.sender != NULL) {
    const char *s = opt.sender;
    size_t len = strlen(s);
    long count;

    if (len == 0 || !strcmp(s, "<>")) {
      null_sender = 1;
    } else {
      count = hdr_addrlist(s, len, spans, HDR_SPANS_MAX);
      if (count != 1 || !to_internal(s + spans[0].start, spans[0].len, &from_addr))
        qdie(100, "bad sender address: ", s);
    }
  }
  if (opt.sender == NULL || null_sender) {
    const char *login = pw != NULL ? pw->pw_name : getenv("LOGNAME");
    if (login == NULL || *login == 0) qdie(111, "unable to find the invoking user's name");
    if (!to_internal(login, strlen(login), &from_addr))
      qdie(100, "the user name is not a valid local part");
  }
  if (null_sender) {
    sender.len = 0;
  } else if (rw.masq_envelope) {
    rewrite(&from_addr, &sender);
  } else if (!stralloc_copy(&sender, &from_addr)) {
    qdie_nomem();
  }
  {
    stralloc tmp = {0};
    rewrite(&from_addr, &tmp);
    if (!stralloc_copy(&from_addr, &tmp)) qdie_nomem();
    stralloc_free(&tmp);
  }
  if (fullname == NULL) fullname = getenv("NAME");
  if (fullname == NULL && pw != NULL && pw->pw_gecos != NULL) {
    char *comma = strchr(pw->pw_gecos, ',');
    if (comma != NULL) *comma = 0;
    fullname = pw->pw_gecos;
  }

  args_rcpts();
  read_header(&h);
  add_headers(&h, &from_addr, fullname);
  if (rcpt_count == 0) qdie(100, "no recipients");

  build_envelope(&env, &sender);
  inject(&h, &env); /* returns only when the message is queued */

  stralloc_free(&h.out);
  stralloc_free(&h.field);
  stralloc_free(&h.first_body);
  stralloc_free(&sender);
  stralloc_free(&from_addr);
  stralloc_free(&env);
  stralloc_free(&rcpts);
  stralloc_free(&me);
  stralloc_free(&rw.me);
  rw_free(&rw);
  return 0;
}
