/* tests/unit/t_ctl.c: control files: defaults, comments, trimming, lists. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include "tap.h"
#include "tmpdir.h"
#include "ctl.h"

#define PUT(fn, s) tmpdir_put(fn, s, sizeof(s) - 1)

static int sa_is(const stralloc *sa, const char *s)
{
  return sa->len == strlen(s) && memcmp(sa->s, s, sa->len) == 0;
}

int main(void)
{
  stralloc sa = {0};
  stralloc list = {0};
  unsigned long n;
  size_t pos;
  size_t st;
  size_t el;
  int r;

  plan(70);
  if (chdir(tmpdir_make()) == -1) return 1;
  mkdir("control", 0755);

  /* qhome */
  unsetenv("QHOME");
  ok(strcmp(qhome(), QHOME_DEFAULT) == 0, "qhome default");
  setenv("QHOME", "", 1);
  ok(strcmp(qhome(), QHOME_DEFAULT) == 0, "empty QHOME is the default");
  setenv("QHOME", tmpdir_path, 1);
  ok(strcmp(qhome(), tmpdir_path) == 0, "qhome from the environment");
  ok(qhome_chdir() == 0, "qhome_chdir");
  setenv("QHOME", "/nonexistent/qmta", 1);
  ok(qhome_chdir() == -1 && errno == ENOENT, "qhome_chdir to a missing directory");

  /* readline */
  r = ctl_readline(&sa, "control/missing", "dflt");
  ok(r == 0 && sa_is(&sa, "dflt"), "readline: missing file gives the default");
  r = ctl_readline(&sa, "control/missing", NULL);
  ok(r == 0 && sa.len == 0, "readline: missing file, no default");
  PUT("control/me", "mail.example.org\n");
  r = ctl_readline(&sa, "control/me", "x");
  ok(r == 1 && sa_is(&sa, "mail.example.org"), "readline: one line");
  PUT("control/me", "# comment\n\n   \t\n  mail.example.org  # the name\r\nsecond\n");
  r = ctl_readline(&sa, "control/me", "x");
  ok(r == 1 && sa_is(&sa, "mail.example.org"), "readline: comments, blanks, CRLF");
  PUT("control/me", "no newline at end");
  r = ctl_readline(&sa, "control/me", "x");
  ok(r == 1 && sa_is(&sa, "no newline at end"), "readline: no final newline");
  PUT("control/me", "inner  blanks kept \n");
  r = ctl_readline(&sa, "control/me", "x");
  ok(r == 1 && sa_is(&sa, "inner  blanks kept"), "readline: inner blanks kept");
  PUT("control/me", "# only a comment\n\n");
  r = ctl_readline(&sa, "control/me", "dflt");
  ok(r == 0 && sa_is(&sa, "dflt"), "readline: file without entries gives the default");
  PUT("control/me", "");
  r = ctl_readline(&sa, "control/me", "dflt");
  ok(r == 0 && sa_is(&sa, "dflt"), "readline: empty file gives the default");
  mkdir("control/dir", 0755);
  r = ctl_readline(&sa, "control/dir", "dflt");
  ok(r == -1 && errno == EISDIR, "readline: a directory is an error");
  if (geteuid() != 0) {
    PUT("control/secret", "x\n");
    chmod("control/secret", 0);
    r = ctl_readline(&sa, "control/secret", "dflt");
    ok(r == -1 && errno == EACCES, "readline: unreadable is an error, not the default");
  } else {
    ok(1, "readline: unreadable (skipped as root)");
  }

  /* readint */
  r = ctl_readint(&n, "control/databytes", 12345);
  ok(r == 0 && n == 12345, "readint: missing gives the default");
  PUT("control/databytes", "10485760\n");
  r = ctl_readint(&n, "control/databytes", 1);
  ok(r == 1 && n == 10485760, "readint: value");
  PUT("control/databytes", "  42  # comment\n");
  r = ctl_readint(&n, "control/databytes", 1);
  ok(r == 1 && n == 42, "readint: trimmed, comment");
  PUT("control/databytes", "0\n");
  r = ctl_readint(&n, "control/databytes", 1);
  ok(r == 1 && n == 0, "readint: zero");
  PUT("control/databytes", "# nothing\n");
  r = ctl_readint(&n, "control/databytes", 7);
  ok(r == 0 && n == 7, "readint: no entry gives the default");
  PUT("control/databytes", "12k\n");
  n = 99;
  r = ctl_readint(&n, "control/databytes", 7);
  ok(r == -1 && errno == EINVAL && n == 99, "readint: trailing garbage refused");
  PUT("control/databytes", "-1\n");
  r = ctl_readint(&n, "control/databytes", 7);
  ok(r == -1 && errno == EINVAL, "readint: negative refused");
  PUT("control/databytes", "+1\n");
  r = ctl_readint(&n, "control/databytes", 7);
  ok(r == -1 && errno == EINVAL, "readint: sign refused");
  PUT("control/databytes", "99999999999999999999999\n");
  r = ctl_readint(&n, "control/databytes", 7);
  ok(r == -1 && errno == ERANGE, "readint: overflow refused");
  PUT("control/databytes", "18446744073709551615\n");
  r = ctl_readint(&n, "control/databytes", 7);
  ok(sizeof(unsigned long) < 8 || (r == 1 && n == ULONG_MAX), "readint: ULONG_MAX");
  PUT("control/databytes", "18446744073709551616\n");
  r = ctl_readint(&n, "control/databytes", 7);
  ok(r == -1 && errno == ERANGE, "readint: ULONG_MAX + 1 refused");
  PUT("control/databytes", "1 2\n");
  r = ctl_readint(&n, "control/databytes", 7);
  ok(r == -1 && errno == EINVAL, "readint: two numbers refused");

  /* readlist */
  r = ctl_readlist(&list, "control/locals");
  ok(r == 0 && list.len == 0, "readlist: missing");
  PUT("control/locals", "# locals\nexample.org\n\n  Example.NET \t\n.sub.example.com\n#x\nlast");
  r = ctl_readlist(&list, "control/locals");
  ok(r == 1 && list.len == sizeof "example.org\0Example.NET\0.sub.example.com\0last\0" - 1 &&
     memcmp(list.s, "example.org\0Example.NET\0.sub.example.com\0last\0", list.len) == 0,
     "readlist: entries NUL-terminated");
  ok(ctl_listhas(&list, "example.org", 11), "listhas: exact");
  ok(ctl_listhas(&list, "EXAMPLE.ORG", 11), "listhas: case");
  ok(ctl_listhas(&list, "example.net", 11), "listhas: case of the entry");
  ok(!ctl_listhas(&list, "example.or", 10), "listhas: prefix is not a match");
  ok(!ctl_listhas(&list, "example.orgx", 12), "listhas: longer is not a match");
  ok(ctl_listhas(&list, "last", 4), "listhas: last entry without newline");
  ok(!ctl_listhas(&list, "", 0), "listhas: empty string");

  /* domainmatch */
  ok(ctl_domainmatch(&list, "example.org", 11), "domainmatch: exact");
  ok(ctl_domainmatch(&list, "Example.Org.", 12), "domainmatch: case and trailing dot");
  ok(!ctl_domainmatch(&list, "mx.example.org", 14), "domainmatch: no wildcard, no subdomain");
  ok(ctl_domainmatch(&list, "a.sub.example.com", 17), "domainmatch: wildcard subdomain");
  ok(ctl_domainmatch(&list, "x.y.SUB.example.com", 19), "domainmatch: deep subdomain");
  ok(!ctl_domainmatch(&list, "sub.example.com", 15), "domainmatch: wildcard is not the domain");
  ok(!ctl_domainmatch(&list, "xsub.example.com", 16), "domainmatch: label boundary");
  ok(!ctl_domainmatch(&list, "example.com", 11), "domainmatch: parent not matched");
  ok(!ctl_domainmatch(&list, "", 0), "domainmatch: empty");
  ok(!ctl_domainmatch(&list, ".", 1), "domainmatch: a dot");
  PUT("control/rcpthosts", "example.org.\n");
  ctl_readlist(&list, "control/rcpthosts");
  ok(ctl_domainmatch(&list, "example.org", 11), "domainmatch: entry with a trailing dot");
  PUT("control/rcpthosts", "");
  ctl_readlist(&list, "control/rcpthosts");
  ok(list.len == 0 && !ctl_domainmatch(&list, "example.org", 11), "domainmatch: empty list");

  /* nextentry */
  {
    static const char t[] = "a\n#b\n c # d\n\n\0e\nf";
    const char *want[] = {"a", "c", "e", "f"};
    int good = 1;
    int k = 0;
    pos = 0;
    while (ctl_nextentry(t, sizeof t - 1, &pos, &st, &el) == 1) {
      if (k >= 4 || el != strlen(want[k]) || memcmp(t + st, want[k], el) != 0) good = 0;
      k++;
    }
    ok(good && k == 4 && pos == sizeof t - 1, "nextentry: all entries, NUL ends a line");
  }
  pos = 0;
  ok(ctl_nextentry("", 0, &pos, &st, &el) == 0, "nextentry: empty text");
  pos = 0;
  ok(ctl_nextentry("  # x", 5, &pos, &st, &el) == 0, "nextentry: only a comment");

  /* readfile bound and big files */
  {
    static char big[100000];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\n';
    tmpdir_put("control/big", big, sizeof big);
    r = ctl_readline(&sa, "control/big", NULL);
    ok(r == 1 && sa.len == sizeof big - 1, "readline: a 100 kB line");
    r = ctl_readfile(&sa, "control/big");
    ok(r == 1 && sa.len == sizeof big, "readfile: raw");
  }
  {
    /* many entries */
    stralloc t = {0};
    char num[32];
    int k;
    for (k = 0; k < 5000; k++) {
      int l = snprintf(num, sizeof num, "d%d.example\n", k);
      stralloc_catb(&t, num, (size_t)l);
    }
    tmpdir_put("control/locals", t.s, t.len);
    r = ctl_readlist(&list, "control/locals");
    ok(r == 1 && ctl_domainmatch(&list, "d4999.example", 13) &&
       ctl_domainmatch(&list, "d0.example", 10) && !ctl_domainmatch(&list, "d5000.example", 13),
       "readlist: 5000 entries");
    stralloc_free(&t);
  }

  /* ctl_islocal: locals, a bare name, and postmaster at me (RFC 5321 4.5.1) */
  {
    stralloc loc = {0};
    stralloc none = {0};
    const char *me = "mx1.isp.test";
    stralloc_copyb(&loc, "isp.test\0.cust.test\0", 20);
    ok(ctl_islocal(&loc, me, 12, "ann@ISP.test", 12), "islocal: a local domain");
    ok(ctl_islocal(&loc, me, 12, "bob@a.cust.test", 15), "islocal: a wildcard entry");
    ok(ctl_islocal(&loc, me, 12, "root", 4), "islocal: no domain");
    ok(!ctl_islocal(&loc, me, 12, "ann@mx1.isp.test", 16), "islocal: me is not local by itself");
    ok(ctl_islocal(&loc, me, 12, "PostMaster@MX1.isp.test", 23),
       "islocal: postmaster@me is, in any case");
    ok(ctl_islocal(&loc, "mx1.isp.test.", 13, "postmaster@mx1.isp.test.", 24),
       "islocal: trailing dots ignored");
    ok(!ctl_islocal(&loc, me, 12, "postmaster@other.test", 21),
       "islocal: postmaster elsewhere is not");
    ok(!ctl_islocal(&loc, me, 12, "postmasters@mx1.isp.test", 24), "islocal: only postmaster");
    ok(!ctl_islocal(&none, me, 12, "postmaster@mx1.isp.test", 23),
       "islocal: without locals (send-only) postmaster@me is relayed");
    stralloc_free(&loc);
  }

  /* ctl_changed: one stat a file, the first call primes */
  {
    static const char *const names[] = {"control/watched", "control/other", NULL};
    struct ctl_watch w = {names, {{0}}, 0};

    unlink("control/watched");
    ok(ctl_changed(&w) == 0, "changed: the first call primes");
    ok(ctl_changed(&w) == 0, "changed: nothing happened");
    PUT("control/watched", "a.test\n");
    ok(ctl_changed(&w) == 1, "changed: a file created");
    ok(ctl_changed(&w) == 0, "changed: said once");
    PUT("control/watched.new", "b.test\n");
    rename("control/watched.new", "control/watched");
    ok(ctl_changed(&w) == 1, "changed: a file replaced by a rename, same size");
    PUT("control/watched", "a.test\nb.test\n");
    ok(ctl_changed(&w) == 1, "changed: a file written in place");
    unlink("control/watched");
    ok(ctl_changed(&w) == 1, "changed: a file removed");
  }

  stralloc_free(&sa);
  stralloc_free(&list);
  tmpdir_remove();
  return done_testing();
}
