/*
 * qnewmaps: compile the text maps of an instance's control/ into CDB.
 *
 *   qnewmaps [-s] [DIR]   (DIR defaults to $QHOME, then /var/qmta)
 *
 * users, aliases, access (and tcp.smtp.cdb from its RELAY lines), generics:
 * each into its .cdb, written beside it, fsynced, renamed, the directory
 * fsynced, so that readers see the old map or the new one. A map with
 * syntax errors keeps its old .cdb; each error is one line on fd 2 with
 * file and line number. Run by the admin (or as newaliases), as the
 * instance's owner; writers of control/ are serialized by a lock.
 * -s (newaliases, sendmail -bi): one line on fd 1 at the end, what the
 * maps hold: "N aliases, M users".
 * Exit: 0 all compiled, 100 syntax errors or usage, 111 system error.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <fmt.h>

#include "ctl.h"
#include "durable.h"
#include "maps.h"
#include "qlog.h"

#define USAGE "qnewmaps [-s] [DIR]"

struct map {
  const char *name;
  int (*compile)(void);
};

static unsigned long counts[4]; /* entries of users and aliases (maps_entries) */

static const struct map maps[] = {
  {"control/users", maps_users},
  {"control/aliases", maps_aliases},
  {"control/access", maps_access},
  {"control/generics", maps_generics},
};

static void report(const char *fn, unsigned long lineno, const char *what, const char *what2)
{
  char num[FMT_ULONG];

  qlog(fn, ":", qlog_ulong(num, lineno), ": ", what, what2 != NULL ? what2 : "");
}

static void warn(const char *fn, unsigned long lineno, const char *what, const char *what2)
{
  char num[FMT_ULONG];

  qwarn(fn, ":", qlog_ulong(num, lineno), ": ", what, what2 != NULL ? what2 : "");
}

int main(int argc, char **argv)
{
  const char *dir;
  size_t i;
  int syntax = 0;
  int failed = 0;
  int summary = 0;

  qlog_prog = "qnewmaps";
  maps_report = report;
  maps_warn = warn;
  if (argc > 1 && strcmp(argv[1], "-s") == 0) {
    summary = 1;
    argv++;
    argc--;
  }
  if (argc > 2 || (argc == 2 && argv[1][0] == '-')) qdie_usage(USAGE);
  dir = (argc == 2) ? argv[1] : qhome();
  if (chdir(dir) == -1) qdie_sys(errno_is_temp(errno) ? 111 : 100, "unable to chdir to ", dir);
  if (maps_lock() == -1) qdie_sys(111, "unable to lock ", dir, "/control");

  for (i = 0; i < sizeof maps / sizeof maps[0]; i++) {
    int r = maps[i].compile();
    counts[i] = maps_entries;
    if (r == 1) {
      qwarn(maps[i].name, ": not compiled: the old map stays");
      syntax = 1;
    } else if (r == -1) {
      qwarn_sys("unable to compile ", maps[i].name);
      failed = 1;
    }
  }
  if (failed) return 111;
  if (summary && !syntax) {
    /* the maps as they are now: a text that failed kept its old map */
    char line[2 * FMT_ULONG + 32];
    size_t n = fmt_ulong(line, counts[1]);
    n += fmt_str(line + n, counts[1] == 1 ? " alias, " : " aliases, ");
    n += fmt_ulong(line + n, counts[0]);
    n += fmt_str(line + n, counts[0] == 1 ? " user\n" : " users\n");
    if (durable_writeall(1, line, n) == -1) qdie_sys(111, "unable to write the summary");
  }
  return syntax ? 100 : 0;
}
