/*
 * sendmail: the sendmail command line, for mail programs, cron, PHP and
 * admins. Run by any local user, as that user.
 *
 *   sendmail [flags] [--] [recipient ...] < message     send
 *   sendmail -bp | mailq                                list the queue (qstat)
 *   sendmail -bi | newaliases                           compile the maps (qnewmaps)
 *   sendmail -bs                                        SMTP on stdin/stdout (qsmtpd)
 *   sendmail -bv recipient ...                          where each one goes (the maps)
 *   sendmail -q | -qRsubstr | -qSsubstr | -qIid         flush the queue (s6-svc -a)
 *
 * This file reads the command line (sendmail's flags and -o/-O settings,
 * mailq's and newaliases' own) and picks the mode; sending is in
 * sendmail_send.c (the header read and completed, recipients with -t,
 * qinject fed with the qmail-queue protocol), the modes that run another
 * program in sendmail_run.c. sendmail.h is what they share.
 * Exit: 0 queued, 100 permanent (usage, bad address, refused), 111
 * temporary; qinject's own message is on fd 2.
 */
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include <case.h>
#include <stralloc.h>

#include "ctl.h"
#include "cdbmap.h"
#include "qlog.h"
#include "queue.h"
#include "sendmail.h"

#define USAGE "sendmail [-t] [-i] [-f sender] [-F fullname] [-bm|-bp|-bs|-bi|-bv] " \
              "[-q[Rsubstr|Ssubstr|Iid]] [-o option] [--] [recipient ...]"

struct sendmail_opt opt;

/* ---- options -------------------------------------------------------------- */

/* The argument of an option letter: the rest of this word or the next. */
static const char *opt_arg(char **argv, int *i, const char *rest)
{
  if (*rest != 0) return rest;
  if (argv[*i + 1] == NULL) qdie_usage(USAGE);
  (*i)++;
  return argv[*i];
}

/*
 * sendmail 8's settings, as -oXvalue (one letter) or -O Name=value. Those
 * that change nothing here are accepted: -oi and IgnoreDots (honoured),
 * -oe / ErrorMode (errors always come back on fd 2 and as bounces), -od /
 * DeliveryMode (delivery is always through the queue, started at once),
 * -om / MeToo, -oL / LogLevel. -oQ / QueueDirectory is accepted only when
 * it names this instance's queue (checked in queue_dir_check). Anything
 * else is refused with exit 100: a setting silently ignored would do
 * something other than what its caller asked for.
 */
static void __attribute__((noreturn)) die_setting(const char *prefix, const char *what)
{
  qdie(100, "unsupported option ", prefix, what, " (see sendmail(8))");
}

static int is_digits(const char *s)
{
  if (*s == 0) return 0;
  for (; *s != 0; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

/* -o: v is what follows the o ("i", "em", "Q/var/spool/x"). */
static void setting_short(const char *v)
{
  switch (v[0]) {
    case 'i':
      if (v[1] != 0) die_setting("-o", v);
      opt.dot_ends = 0;
      return;
    case 'e': /* m mail, p print, q quiet, w write, e exit status */
      if (v[1] == 0 || strchr("mpqwe", v[1]) == NULL || v[2] != 0) die_setting("-o", v);
      return;
    case 'd': /* b background, i interactive, q queue only, d deferred */
      if (v[1] == 0 || strchr("biqd", v[1]) == NULL || v[2] != 0) die_setting("-o", v);
      return;
    case 'm':
      if (v[1] != 0) die_setting("-o", v);
      return;
    case 'L':
      if (!is_digits(v + 1)) die_setting("-o", v);
      return;
    case 'Q':
      if (v[1] == 0) die_setting("-o", v);
      opt.queue_dir = v + 1;
      opt.queue_opt = "-oQ";
      return;
    default:
      die_setting("-o", v);
  }
}

/* -O Name=value (the name in any case). */
static void setting_long(const char *v)
{
  const char *eq = strchr(v, '=');
  size_t nlen = eq != NULL ? (size_t)(eq - v) : strlen(v);
  const char *val = eq != NULL ? eq + 1 : "";
  static const char *const harmless[] = {"ErrorMode", "DeliveryMode", "LogLevel", "MeToo"};

#define NAME_IS(n) (nlen == sizeof(n) - 1 && case_diffb(v, nlen, n) == 0)
  if (NAME_IS("IgnoreDots")) {
    if (*val == 0 || *val == 't' || *val == 'T' || *val == 'y' || *val == 'Y') opt.dot_ends = 0;
    else if (*val == 'f' || *val == 'F' || *val == 'n' || *val == 'N') opt.dot_ends = 1;
    else die_setting("-O ", v);
    return;
  }
  if (NAME_IS("QueueDirectory")) {
    if (*val == 0) die_setting("-O ", v);
    opt.queue_dir = val;
    opt.queue_opt = "-O QueueDirectory=";
    return;
  }
#undef NAME_IS
  for (size_t k = 0; k < sizeof harmless / sizeof harmless[0]; k++)
    if (nlen == strlen(harmless[k]) && case_diffb(v, nlen, harmless[k]) == 0) return;
  die_setting("-O ", v);
}

/* Another queue directory than this instance's cannot be used: a queue
 * held aside runs under a qsend of its own (qmta-admin(7), THE QUEUE). */
static void queue_dir_check(void)
{
  stralloc live = {0};
  struct stat st_given;
  struct stat st_live;

  if (opt.queue_dir == NULL) return;
  if (!stralloc_copys(&live, qhome()) || !stralloc_cats(&live, "/queue") || !stralloc_0(&live))
    qdie_nomem();
  if (stat(opt.queue_dir, &st_given) == 0 && stat(live.s, &st_live) == 0 &&
      st_given.st_dev == st_live.st_dev && st_given.st_ino == st_live.st_ino) {
    stralloc_free(&live);
    return;
  }
  qdie(100, "unsupported option ", opt.queue_opt, opt.queue_dir, ": only the queue of $QHOME (",
       live.s, ") is used here; run a queue held aside under its own qsend (see qmta-admin(7))");
}

static void parse_args(int argc, char **argv)
{
  int i;

  opt.mode = MODE_SEND;
  opt.dot_ends = 1;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];

    if (a[0] != '-' || a[1] == 0) break;
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    for (a++; *a != 0; a++) {
      switch (*a) {
        case 't': opt.from_headers = 1; continue;
        case 'i': opt.dot_ends = 0; continue;
        /* -v verbose, -m me too, -n no aliasing, -U initial submission,
         * -G gateway: sendmail's, nothing to do here (aliases always apply) */
        case 'v': case 'm': case 'n': case 'U': case 'G':
          continue;
        case 'f': case 'r':
          opt.sender = opt_arg(argv, &i, a + 1);
          break;
        case 'F':
          opt.fullname = opt_arg(argv, &i, a + 1);
          break;
        case 'N':
          opt.notify = opt_arg(argv, &i, a + 1);
          break;
        case 'R':
          opt.ret = opt_arg(argv, &i, a + 1);
          break;
        case 'V':
          opt.envid = opt_arg(argv, &i, a + 1);
          break;
        /* body type, log tag, hop count, protocol, submit.cf or sendmail.cf:
         * nothing to do here */
        case 'B': case 'L': case 'h': case 'p':
          (void)opt_arg(argv, &i, a + 1);
          break;
        case 'A': {
          const char *v = opt_arg(argv, &i, a + 1);
          if ((v[0] != 'c' && v[0] != 'm') || v[1] != 0) qdie(100, "unsupported option -A", v);
          break;
        }
        case 'C': /* another configuration file: ours is control/ */
          qdie(100, "unsupported option -C: the configuration is $QHOME/control");
        case 'X': /* a traffic log */
          qdie(100, "unsupported option -X: see the logs under $QHOME/log");
        case 'O':
          setting_long(opt_arg(argv, &i, a + 1));
          break;
        case 'o': {
          /* -oXvalue; a bare -o takes the next word */
          setting_short(opt_arg(argv, &i, a + 1));
          break;
        }
        case 'b':
          switch (a[1]) {
            case 'm': opt.mode = MODE_SEND; break;
            case 'p': opt.mode = MODE_LIST; break;
            case 's': opt.mode = MODE_SMTP; break;
            case 'i': opt.mode = MODE_MAPS; break;
            case 'v': opt.mode = MODE_VERIFY; break;
            case 0: qdie_usage(USAGE);
            default: qdie(100, "unsupported mode -b", a + 1);
          }
          if (a[2] != 0) qdie_usage(USAGE);
          break;
        case 'q':
          if (opt.mode != MODE_LIST) opt.mode = MODE_FLUSH;
          if (a[1] == 'R' || a[1] == 'S' || a[1] == 'I') {
            opt.flush_kind = a[1];
            opt.flush_pattern = opt_arg(argv, &i, a + 2);
          } /* else -q or -q30m: flush once now */
          break;
        default:
          qdie_usage(USAGE);
      }
      break; /* the rest of this word was an argument */
    }
  }
  opt.rcpts = argv + i;
}

/*
 * Invoked as mailq: -v and sendmail's -Ac/-Am (there is one queue) are
 * accepted, -qRsubstr, -qSsubstr and -qIid filter the listing; anything
 * else is misuse.
 */
static void __attribute__((noreturn)) die_usage_mailq(void)
{
  qdie_usage("mailq [-v] [-Ac|-Am] [-qRsubstr|-qSsubstr|-qIid]");
}

static void parse_mailq(int argc, char **argv)
{
  int i;

  opt.mode = MODE_LIST;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];

    if (!strcmp(a, "-v") || !strcmp(a, "-Ac") || !strcmp(a, "-Am")) continue;
    if (a[0] != '-' || a[1] != 'q' || (a[2] != 'R' && a[2] != 'S' && a[2] != 'I'))
      die_usage_mailq();
    opt.flush_kind = a[2];
    if (a[3] != 0) {
      opt.flush_pattern = a + 3;
    } else if (i + 1 < argc) {
      opt.flush_pattern = argv[++i];
    } else {
      die_usage_mailq();
    }
  }
}

/* a -qI id for qstat -i: a queue id (queue.h) or an inode number */
static int is_queue_id(const char *s)
{
  unsigned long long inode;

  return queue_id_scan(s, &inode) == 0;
}


int main(int argc, char **argv)
{
  const char *base;

  qlog_prog = "sendmail";
  cdbmap_report = cdbmap_warn; /* a damaged generics.cdb: one loud line */
  if (argv[0] != NULL) run_argv0 = argv[0];
  base = strrchr(run_argv0, '/');
  base = base != NULL ? base + 1 : run_argv0;
  signal(SIGPIPE, SIG_IGN);

  if (!strcmp(base, "mailq")) {
    qlog_prog = "mailq";
    parse_mailq(argc, argv);
    if (opt.flush_kind == 'I' && !is_queue_id(opt.flush_pattern)) die_usage_mailq();
    run_list();
  }
  if (!strcmp(base, "newaliases")) {
    qlog_prog = "newaliases";
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "-v") != 0))
      qdie_usage("newaliases [-v]");
    run_maps();
  }

  parse_args(argc, argv);
  queue_dir_check();
  /* -bp, -bi, -q: no recipients; -bv: at least one */
  if (opt.mode != MODE_SEND && opt.mode != MODE_VERIFY && opt.rcpts[0] != NULL) qdie_usage(USAGE);
  if (opt.mode == MODE_VERIFY && opt.rcpts[0] == NULL) qdie_usage(USAGE);
  switch (opt.mode) {
    case MODE_LIST:
      if (opt.flush_kind == 'I' && !is_queue_id(opt.flush_pattern)) qdie_usage(USAGE);
      run_list();
      break;
    case MODE_MAPS: run_maps(); break;
    case MODE_SMTP: run_smtp(); break;
    case MODE_FLUSH: run_flush(); break;
    case MODE_VERIFY: verify_args();
    case MODE_SEND: break;
  }
  if (opt.rcpts[0] == NULL && !opt.from_headers) qdie_usage(USAGE);
  return send_message();
}

