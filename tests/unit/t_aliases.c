/* tests/unit/t_aliases.c: control/aliases compiled by maps_aliases and read
 * back by aliases_find, in a temporary instance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "aliases.h"
#include "maps.h"

static char dir[] = "/tmp/t_aliases.XXXXXX";

static void put(const char *fn, const char *text)
{
  FILE *f = fopen(fn, "w");
  if (f == NULL || fputs(text, f) == EOF || fclose(f) == EOF) {
    perror(fn);
    exit(111);
  }
}

/* 1 if val (targets each followed by NUL) equals want ('|' between targets). */
static int targets_are(const stralloc *val, const char *want)
{
  char buf[1024];
  size_t i;

  if (val->len == 0 || val->len >= sizeof buf) return 0;
  for (i = 0; i < val->len; i++) buf[i] = (val->s[i] == '\0') ? '|' : val->s[i];
  buf[val->len - 1] = '\0'; /* the last NUL */
  if (strcmp(buf, want) != 0) {
    printf("# got '%s', want '%s'\n", buf, want);
    return 0;
  }
  return 1;
}

static int errors;
static void count(const char *fn, unsigned long lineno, const char *what, const char *what2)
{
  printf("# %s:%lu: %s%s\n", fn, lineno, what, what2 ? what2 : "");
  errors++;
}

int main(void)
{
  stralloc val = {0};
  int kind = 0;
  char cmd[128];

  plan(34);
  if (mkdtemp(dir) == NULL || chdir(dir) == -1 || mkdir("control", 0755) == -1) {
    perror("temp dir");
    return 111;
  }
  maps_report = count;
  put("control/me", "mx.example.org\n");

  ok(aliases_find("x@y", 3, 1, &val, &kind) == 0, "no map: nothing found");

  put("control/aliases",
      "# comment\n"
      "Info: bob, Alice@example.org,\n"
      "  \"|/usr/bin/prog a, b\",\n"
      "\t/var/mail/info\n"
      "sales@example.org: /srv/sales/Maildir/\n"
      "@example.net: %1@example.org\n"
      "gone: error:5.1.1 this user is gone, really\n"
      "list: :include:/etc/qmta/list\n"
      "vt@example.com\t\tann@example.org\n"
      "@example.com   error:nouser 550 No such user\n"
      "\n"
      "postmaster: root@example.org\n");
  ok(maps_aliases() == 0 && errors == 0, "compiles");

  ok(aliases_find("info@example.org", 16, 1, &val, &kind) == 1 && kind == 'l',
     "local part of a local domain");
  ok(targets_are(&val, "bob|Alice@example.org||/usr/bin/prog a, b|/var/mail/info"),
     "targets in order, continuation lines, quotes removed");
  ok(aliases_find("INFO@Example.ORG", 16, 1, &val, &kind) == 1 && kind == 'l', "any case");
  ok(aliases_find("info@example.org", 16, 0, &val, &kind) == 0,
     "local part alone only for local domains");
  ok(aliases_find("sales@example.org", 17, 1, &val, &kind) == 1 && kind == 'a',
     "a whole address");
  ok(targets_are(&val, "/srv/sales/Maildir/"), "Maildir target");
  ok(aliases_find("anyone@example.net", 18, 0, &val, &kind) == 1 && kind == 'c', "catch-all");
  ok(targets_are(&val, "%1@example.org"), "catch-all target keeps %1");
  ok(aliases_find("gone@x.org", 10, 1, &val, &kind) == 1 &&
     targets_are(&val, "error:5.1.1 this user is gone, really"), "error: keeps its commas");
  ok(aliases_find("list@x.org", 10, 1, &val, &kind) == 1 &&
     targets_are(&val, ":include:/etc/qmta/list"), ":include:");
  ok(aliases_find("postmaster", 10, 1, &val, &kind) == 1 && targets_are(&val, "root@example.org"),
     "the file's postmaster wins over the default");
  ok(aliases_find("mailer-daemon@example.org", 25, 1, &val, &kind) == 1 &&
     targets_are(&val, "postmaster@mx.example.org"), "mailer-daemon added by default");
  ok(aliases_find("nobody@example.org", 18, 1, &val, &kind) == 0, "unknown: 0");
  ok(aliases_find("vt@example.com", 14, 0, &val, &kind) == 1 && kind == 'a' &&
     targets_are(&val, "ann@example.org"), "virtusertable form: address, tabs, target");
  ok(aliases_find("x@example.com", 13, 0, &val, &kind) == 1 && kind == 'c' &&
     targets_are(&val, "error:nouser 550 No such user"), "virtusertable form: @domain, error:");
  put("control/aliases", "plain word\n");
  ok(maps_aliases() == 1, "a name without @ still needs its colon");

  /* errors keep the old map */
  errors = 0;
  put("control/aliases", "ok: bob\nbad line without colon\nx: \"unterminated\n"
                         "dup: a\ndup: b\ny: %1@example.org\nz: :include:relative\n"
                         "w: error:5.1 nocode\n  \n continued: nothing\n");
  ok(maps_aliases() == 1, "syntax errors: 1");
  ok(errors == 6, "one report per bad entry");
  ok(aliases_find("info@example.org", 16, 1, &val, &kind) == 1, "old map kept");
  ok(aliases_find("ok@example.org", 14, 1, &val, &kind) == 0, "nothing of the bad file");
  ok(access("control/aliases.cdb.tmp", F_OK) == -1, "no temp file left");

  errors = 0;
  put("control/aliases", "postmaster: a@b.c\n");
  ok(maps_aliases() == 0 && errors == 0, "recompiles");
  ok(aliases_find("info@example.org", 16, 1, &val, &kind) == 0, "new map replaces the old");
  ok(aliases_find("MAILER-DAEMON", 13, 1, &val, &kind) == 1, "bare name, any case");

  unlink("control/aliases");
  ok(maps_aliases() == 0, "a missing text map is not an error");

  stralloc_free(&val);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) return 111;

  /* the sender's local part never changes what a catch-all's target is */
  val.len = 0;
  ok(aliases_subst(&val, "%1@b.example", "ann", 3) == 0 && !strcmp(val.s, "ann@b.example"),
     "subst: an address");
  val.len = 0;
  ok(aliases_subst(&val, "%1@b.example", "|cmd x", 6) == 1 && val.len == 0,
     "subst: a local part that makes a command of an address: refused");
  val.len = 0;
  ok(aliases_subst(&val, "%1", "/etc/x", 6) == 1, "subst: ... or a file");
  val.len = 0;
  ok(aliases_subst(&val, "|/bin/prog %1", "a.b+c", 5) == 0 && !strcmp(val.s, "|/bin/prog a.b+c"),
     "subst: a plain local part into a command");
  val.len = 0;
  ok(aliases_subst(&val, "|/bin/prog %1", "`id`", 4) == 1, "subst: shell syntax into a command: refused");
  val.len = 0;
  ok(aliases_subst(&val, "/var/mail/%1", "-x", 2) == 1, "subst: a leading '-' into a path: refused");
  val.len = 0;
  ok(aliases_subst(&val, "%1", "x@else.example", 14) == 1,
     "subst: a local part holding '@' (an address elsewhere): refused");
  stralloc_free(&val);
  return done_testing();
}
