/* tests/unit/t_dmarc.c: DMARC (lib/dmarc_*.c) with a fake DNS: the record's
 * syntax, the names of the tree walk, policy discovery, the organizational
 * domain (psd=y/n, the record with the fewest labels), relaxed and strict
 * alignment, sp= and np=, several records, temporary failures, t=y, and
 * the From domain of a header section. */
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "tap.h"

/* the fake DNS: a zone of TXT records at _dmarc names, "TEMP" for a name
 * that fails, and the names that exist */
struct txt {
  const char *name;
  const char *recs[4];
};
static const struct txt *zone;
static const char *const *existing;
static int queries;
static char asked[32][300];

static int fake_txt(const char *name, char **recs, int max, void *cookie)
{
  int n = 0;

  (void)cookie;
  if (queries < 32) strncpy(asked[queries], name, sizeof asked[0] - 1);
  queries++;
  for (const struct txt *t = zone; t != NULL && t->name != NULL; t++) {
    if (strcmp(t->name, name) != 0) continue;
    for (int i = 0; i < 4 && t->recs[i] != NULL && n < max; i++) {
      if (strcmp(t->recs[i], "TEMP") == 0) {
        while (n > 0) free(recs[--n]);
        return -1;
      }
      recs[n++] = strdup(t->recs[i]);
    }
  }
  return n;
}

static int fake_exists(const char *name, void *cookie)
{
  (void)cookie;
  for (const char *const *e = existing; e != NULL && *e != NULL; e++) {
    if (strcmp(*e, "TEMP") == 0) return -1;
    if (strcmp(*e, name) == 0) return 1;
  }
  return 0;
}

static const struct dmarc_dns fake = {fake_txt, fake_exists, NULL};

static struct dmarc_out out;

/* dmarc_eval with SPF (spf NULL: none) and one DKIM result (NULL: none) */
static int eval(const char *from, const char *spf, int spfpass, const char *dkim, int dkimpass)
{
  struct dmarc_auth d = {dkim, dkimpass};
  struct dmarc_in in;

  memset(&in, 0, sizeof in);
  in.from_domain = from;
  in.spf.domain = spf;
  in.spf.pass = spfpass;
  in.dkim = &d;
  in.ndkim = dkim != NULL;
  queries = 0;
  return dmarc_eval(&in, &out, &fake);
}

static int org_is(const char *domain, const char *want)
{
  char org[DMARC_DOMAIN_MAX + 1];
  queries = 0;
  return dmarc_org_domain(domain, org, &fake) == 0 && strcmp(org, want) == 0;
}

static int from_is(const char *hdr, int want, const char *dom)
{
  char d[256];
  int r = dmarc_from_domain(hdr, strlen(hdr), d, sizeof d);
  if (r != want) return 0;
  return dom == NULL || strcmp(d, dom) == 0;
}

int main(void)
{
  struct dmarc_record r;
  const char *names[DMARC_WALK_MAX];

  plan(119);

  /* the record */
  ok(dmarc_record_parse("v=DMARC1; p=reject", &r) == 1 && r.p == DMARC_P_REJECT &&
         r.sp == DMARC_P_UNSET && r.np == DMARC_P_UNSET && !r.adkim_strict && !r.aspf_strict &&
         !r.testing && r.psd == DMARC_PSD_U,
     "simple record, defaults");
  ok(dmarc_record_parse("v = DMARC1 ;P=Quarantine;  sp = REJECT ;np=none;adkim=s;aspf=S;"
                        "t=Y; psd=n; rua=mailto:a@b.example; x-new=1;;",
                        &r) == 1 &&
         r.p == DMARC_P_QUARANTINE && r.sp == DMARC_P_REJECT && r.np == DMARC_P_NONE &&
         r.adkim_strict && r.aspf_strict && r.testing && r.psd == DMARC_PSD_N && r.has_rua,
     "odd spacing, case, unknown tags, empty tag-specs");
  ok(dmarc_record_parse("v=DMARC1\t;\tp=none\t", &r) == 1 && r.p == DMARC_P_NONE, "tabs");
  ok(dmarc_record_parse("p=reject; v=DMARC1", &r) == 0, "v= not first: not DMARC");
  ok(dmarc_record_parse("v=spf1 -all", &r) == 0, "an SPF record is not DMARC");
  ok(dmarc_record_parse("v=DMARC2; p=reject", &r) == 0, "another version is not DMARC1");
  ok(dmarc_record_parse("", &r) == 0, "empty text");
  ok(dmarc_record_parse("v=dmarc1; p=reject", &r) == 0, "DMARC1 is case-sensitive (ABNF %x)");
  ok(dmarc_record_parse(" v=DMARC1; p=reject", &r) == 0, "nothing before v=");
  ok(dmarc_record_parse("v=DMARC1", &r) == 1 && r.p == DMARC_P_UNSET, "no p=");
  ok(dmarc_record_parse("v=DMARC1; p=bogus; rua=mailto:x@y.example", &r) == 1 &&
         r.p == DMARC_P_UNSET && r.has_rua,
     "invalid p= is unset");
  ok(dmarc_record_parse("v=DMARC1; p=reject; p=none; adkim=x; t=maybe; psd=q", &r) == 1 &&
         r.p == DMARC_P_REJECT && !r.adkim_strict && !r.testing && r.psd == DMARC_PSD_U,
     "first of a repeated tag wins, invalid optional values ignored");
  ok(dmarc_record_parse("v=DMARC1; p=reject; pct=10; ri=86400; rf=afrf; fo=1", &r) == 1 &&
         !r.testing,
     "RFC 7489 tags accepted and ignored");
  ok(dmarc_record_parse("v=DMARC1; p=none; psd=y; junk; =x; y=", &r) == 1 &&
         r.psd == DMARC_PSD_Y,
     "text that is no tag is ignored");

  /* the names of the walk */
  ok(dmarc_walk_names("a.mail.example.com", names) == 4 && strcmp(names[0], "a.mail.example.com") == 0 &&
         strcmp(names[1], "mail.example.com") == 0 && strcmp(names[2], "example.com") == 0 &&
         strcmp(names[3], "com") == 0,
     "walk names: 4 labels, 4 queries");
  ok(dmarc_walk_names("com", names) == 1, "walk names: a TLD alone");
  ok(dmarc_walk_names("a.b.c.d.e.f.g.h.i.j", names) == 8 &&
         strcmp(names[0], "a.b.c.d.e.f.g.h.i.j") == 0 && strcmp(names[1], "d.e.f.g.h.i.j") == 0 &&
         strcmp(names[7], "j") == 0,
     "walk names: 10 labels: itself, then 7 labels down to 1 (8 queries)");
  ok(dmarc_walk_names("b.c.d.e.f.g.h.i", names) == 8 && strcmp(names[1], "c.d.e.f.g.h.i") == 0,
     "walk names: 8 labels");
  ok(dmarc_walk_names("c.d.e.f.g.h.i", names) == 7 && strcmp(names[1], "d.e.f.g.h.i") == 0,
     "walk names: 7 labels");

  /* policy discovery and results */
  static const struct txt z1[] = {
      {"_dmarc.example.com", {"v=DMARC1; p=reject; sp=quarantine; np=none", "some other text"}},
      {"_dmarc.strict.example", {"v=DMARC1; p=quarantine; adkim=s; aspf=s"}},
      {"_dmarc.two.example", {"v=DMARC1; p=reject", "v=DMARC1; p=none"}},
      {"_dmarc.sub.two.example", {"v=DMARC1; p=quarantine"}},
      {"_dmarc.temp.example", {"TEMP"}},
      {"_dmarc.test.example", {"v=DMARC1; p=reject; t=y"}},
      {"_dmarc.norua.example", {"v=DMARC1; sp=reject"}},
      {"_dmarc.rua.example", {"v=DMARC1; p=nonsense; rua=mailto:r@rua.example"}},
      {"_dmarc.onlysp.example", {"v=DMARC1; p=reject; sp=none"}},
      {NULL, {NULL}}};
  static const char *const ex1[] = {"example.com", "www.example.com", "exists.onlysp.example",
                                    "sub.two.example", NULL};
  zone = z1;
  existing = ex1;

  ok(eval("example.com", "example.com", 1, NULL, 0) == DMARC_PASS && out.spf_aligned &&
         !out.dkim_aligned && out.policy == DMARC_P_REJECT &&
         strcmp(out.policy_domain, "example.com") == 0,
     "SPF pass, same domain: pass, p=reject");
  ok(eval("Example.COM.", NULL, 0, "EXAMPLE.com", 1) == DMARC_PASS && out.dkim_aligned &&
         strcmp(out.domain, "example.com") == 0,
     "DKIM pass, case and final dot ignored");
  ok(eval("example.com", "other.example", 1, "other.example", 1) == DMARC_FAIL &&
         out.policy == DMARC_P_REJECT,
     "unaligned passes: fail");
  ok(eval("example.com", "example.com", 0, "example.com", 0) == DMARC_FAIL,
     "aligned but failed: fail");
  ok(eval("example.com", NULL, 0, NULL, 0) == DMARC_FAIL, "no SPF, no DKIM: fail");
  ok(eval("example.com", "mail.example.com", 1, NULL, 0) == DMARC_PASS,
     "relaxed SPF: a subdomain aligns");
  ok(eval("www.example.com", NULL, 0, "example.com", 1) == DMARC_PASS &&
         out.policy == DMARC_P_QUARANTINE && out.p == DMARC_P_REJECT &&
         strcmp(out.policy_domain, "example.com") == 0 &&
         strcmp(out.org_domain, "example.com") == 0,
     "subdomain: the parent's record, sp= applies, relaxed DKIM aligns");
  ok(eval("www.example.com", NULL, 0, "mail.example.com", 1) == DMARC_PASS,
     "relaxed: two subdomains of one organization align");
  ok(eval("nx.example.com", NULL, 0, NULL, 0) == DMARC_FAIL && out.policy == DMARC_P_NONE,
     "a From domain that does not exist: np= applies");
  ok(eval("strict.example", "mail.strict.example", 1, "mail.strict.example", 1) == DMARC_FAIL,
     "strict: subdomains do not align");
  ok(eval("strict.example", "strict.example", 1, NULL, 0) == DMARC_PASS, "strict: same domain");
  ok(eval("two.example", "two.example", 1, NULL, 0) == DMARC_NONE &&
         out.policy_domain[0] == '\0',
     "two DMARC records: none (and .example has none)");
  ok(eval("sub.two.example", NULL, 0, NULL, 0) == DMARC_FAIL &&
         out.policy == DMARC_P_QUARANTINE,
     "a record below a name with two: used");
  ok(eval("temp.example", "temp.example", 1, NULL, 0) == DMARC_TEMPERROR,
     "DNS failure at the policy: temperror");
  ok(eval("www.temp.example", NULL, 0, NULL, 0) == DMARC_TEMPERROR,
     "DNS failure on the walk: temperror");
  ok(eval("test.example", NULL, 0, NULL, 0) == DMARC_FAIL && out.testing &&
         out.policy == DMARC_P_REJECT,
     "t=y is reported");
  ok(eval("norua.example", "norua.example", 1, NULL, 0) == DMARC_NONE,
     "no p= and no rua=: no DMARC");
  ok(eval("rua.example", NULL, 0, NULL, 0) == DMARC_FAIL && out.policy == DMARC_P_NONE,
     "invalid p= with rua=: p=none");
  ok(eval("nothing.invalid", "nothing.invalid", 1, NULL, 0) == DMARC_NONE && queries == 2,
     "no record anywhere: none after 2 queries");
  ok(eval("exists.onlysp.example", NULL, 0, NULL, 0) == DMARC_FAIL &&
         out.policy == DMARC_P_NONE,
     "sp= without np=");
  ok(eval("nx.onlysp.example", NULL, 0, NULL, 0) == DMARC_FAIL && out.policy == DMARC_P_NONE,
     "no np=: sp= applies to a non-existent domain too");
  ok(eval(NULL, NULL, 0, NULL, 0) == DMARC_NONE, "no From domain: none");
  ok(eval("", NULL, 0, NULL, 0) == DMARC_NONE, "empty From domain: none");
  {
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ok(eval(longname, NULL, 0, NULL, 0) == DMARC_PERMERROR, "a From domain too long: permerror");
  }
  {
    struct dmarc_in in;
    struct dmarc_auth d[3] = {{"other.example", 1}, {"example.com", 0}, {"mail.example.com", 1}};
    memset(&in, 0, sizeof in);
    in.from_domain = "example.com";
    in.dkim = d;
    in.ndkim = 3;
    ok(dmarc_eval(&in, &out, &fake) == DMARC_PASS && out.dkim_aligned,
       "several signatures: one aligned pass is enough");
    in.ndkim = 2;
    in.dkim_temperror = 1;
    ok(dmarc_eval(&in, &out, &fake) == DMARC_TEMPERROR,
       "no aligned pass and a DKIM temperror: temperror");
    in.spf.domain = "example.com";
    in.spf.pass = 1;
    ok(dmarc_eval(&in, &out, &fake) == DMARC_PASS, "an aligned pass wins over a temperror");
  }

  /* np= and the existence check */
  static const struct txt z2[] = {
      {"_dmarc.org.example", {"v=DMARC1; p=reject; np=quarantine"}},
      {"_dmarc.only-p.example", {"v=DMARC1; p=reject"}},
      {NULL, {NULL}}};
  static const char *const ex2[] = {"www.org.example", NULL};
  static const char *const extemp[] = {"TEMP", NULL};
  zone = z2;
  existing = ex2;
  ok(eval("www.org.example", NULL, 0, NULL, 0) == DMARC_FAIL && out.policy == DMARC_P_REJECT,
     "existing subdomain, no sp=: p applies");
  ok(eval("ghost.org.example", NULL, 0, NULL, 0) == DMARC_FAIL &&
         out.policy == DMARC_P_QUARANTINE,
     "non-existent subdomain: np=quarantine");
  ok(eval("org.example", NULL, 0, NULL, 0) == DMARC_FAIL && out.policy == DMARC_P_REJECT,
     "np= does not apply to the domain of the record");
  ok(eval("ghost.only-p.example", NULL, 0, NULL, 0) == DMARC_FAIL &&
         out.policy == DMARC_P_REJECT,
     "no np=, no sp=: p applies to a non-existent subdomain");
  existing = extemp;
  ok(eval("ghost.org.example", NULL, 0, NULL, 0) == DMARC_TEMPERROR,
     "existence check fails: temperror");

  /* the organizational domain: psd=, the fewest labels, the query limit */
  static const struct txt z3[] = {
      {"_dmarc.example.com", {"v=DMARC1; p=none"}},
      {"_dmarc.sub.example.com", {"v=DMARC1; p=reject"}},
      {"_dmarc.com", {"v=DMARC1; p=none; psd=y"}},
      {"_dmarc.n.example.com", {"v=DMARC1; p=none; psd=n"}},
      {"_dmarc.psd.example", {"v=DMARC1; p=reject; psd=y"}},
      {"_dmarc.gov.psd.example", {"v=DMARC1; p=quarantine; psd=y"}},
      {"_dmarc.example", {"v=DMARC1; p=none"}},
      {"_dmarc.bare.test", {"v=DMARC1; p=none"}},
      {"_dmarc.t.g.h.i.j.k.l", {"v=DMARC1; p=reject"}},
      {"_dmarc.b.c.d.e.f.g.h.i.j", {"v=DMARC1; p=reject"}},
      {NULL, {NULL}}};
  zone = z3;
  existing = NULL;
  ok(org_is("example.com", "example.com"), "org: psd=y at com, the label below");
  ok(org_is("a.b.sub.example.com", "example.com"), "org: psd=y above stops the walk");
  ok(org_is("x.n.example.com", "n.example.com") && queries == 2, "org: psd=n stops at once");
  ok(org_is("n.example.com", "n.example.com"), "org: psd=n at the domain itself");
  ok(org_is("com", "com"), "org: psd=y at the start is no boundary");
  ok(org_is("a.b.c.agency.gov.psd.example", "agency.gov.psd.example"),
     "org: the lowest psd=y above decides");
  ok(org_is("mail.bare.test", "bare.test"), "org: the record with the fewest labels");
  ok(org_is("nobody.invalid", "nobody.invalid"), "org: no record: itself");
  ok(org_is("a.b.c.d.e.f.g.h.i.j.k.l", "t.g.h.i.j.k.l") == 0 && queries == 8,
     "org: at most 8 queries for 12 labels");
  ok(org_is("q.r.s.t.g.h.i.j.k.l", "t.g.h.i.j.k.l") && queries == 8,
     "org: after the name itself, the walk jumps to its last 7 labels");
  ok(org_is("a.b.c.d.e.f.g.h.i.j", "a.b.c.d.e.f.g.h.i.j"),
     "org: the names the jump skips are not asked");
  ok(org_is("a.sub.example.com", "example.com"),
     "org: a record at a subdomain does not stop the walk");

  /* tree walk policy discovery and alignment against z3 */
  ok(eval("a.b.sub.example.com", NULL, 0, NULL, 0) == DMARC_FAIL &&
         strcmp(out.policy_domain, "example.com") == 0 && out.policy == DMARC_P_NONE,
     "policy: the organizational domain's record, not one between it and From");
  ok(eval("sub.example.com", NULL, 0, NULL, 0) == DMARC_FAIL &&
         strcmp(out.policy_domain, "sub.example.com") == 0 && out.policy == DMARC_P_REJECT &&
         queries == 1,
     "policy: the From domain's own record, one query");
  ok(eval("a.b.c.d.e.f.g.h.i.j.nothing.invalid", NULL, 0, NULL, 0) == DMARC_NONE &&
         queries == 8,
     "policy: at most 8 queries for a long From domain without records");
  ok(eval("a.b.sub.example.com", NULL, 0, "example.com", 1) == DMARC_PASS,
     "relaxed: aligned with the organizational domain below the PSD");
  ok(eval("www.unknown.com", NULL, 0, NULL, 0) == DMARC_FAIL &&
         strcmp(out.policy_domain, "com") == 0 && out.policy == DMARC_P_NONE,
     "policy of a public suffix (psd=y) for an unregistered organization");
  ok(eval("www.unknown.com", NULL, 0, "other.com", 1) == DMARC_FAIL,
     "relaxed: two organizations under one PSD do not align");
  ok(eval("www.unknown.com", NULL, 0, "unknown.com", 1) == DMARC_PASS,
     "relaxed: the organization under the PSD aligns");
  ok(eval("sub.example.com", "example.com", 1, NULL, 0) == DMARC_PASS,
     "relaxed SPF: parent domain aligns");
  ok(eval("x.n.example.com", NULL, 0, "example.com", 1) == DMARC_FAIL,
     "relaxed: psd=n makes n.example.com an organization of its own");
  ok(eval("x.n.example.com", NULL, 0, "y.n.example.com", 1) == DMARC_PASS,
     "relaxed: within the psd=n organization");

  {
    static const struct txt z4[] = {{"_dmarc.example.net", {"v=DMARC1; p=reject"}},
                                    {"_dmarc.mail.example.net", {"TEMP"}},
                                    {NULL, {NULL}}};
    zone = z4;
    ok(eval("example.net", NULL, 0, "mail.example.net", 1) == DMARC_TEMPERROR,
       "relaxed: the identifier's walk fails: temperror");
    ok(eval("example.net", "example.net", 1, "mail.example.net", 1) == DMARC_PASS,
       "an aligned SPF pass needs no walk for DKIM");
  }

  /* RFC 9989 B.4.3: a public suffix domain with psd=y; invalid policies */
  {
    static const struct txt z5[] = {
        {"_dmarc.bank.example", {"v=DMARC1; p=reject; sp=quarantine; psd=y"}},
        {"_dmarc.giant.bank.example", {"v=DMARC1; p=none"}},
        {"_dmarc.psdstart.example", {"v=DMARC1; p=none; psd=y"}},
        {"_dmarc.badsp.example", {"v=DMARC1; p=reject; sp=bogus; rua=mailto:a@badsp.example"}},
        {"_dmarc.badnp.example", {"v=DMARC1; p=reject; np=bogus"}},
        {"_dmarc.badrua.example", {"v=DMARC1; p=bogus; rua=nonsense"}},
        {NULL, {NULL}}};
    static const char *const ex5[] = {"www.small.bank.example", NULL};
    zone = z5;
    existing = ex5;
    ok(eval("giant.bank.example", "mail.giant.bank.example", 1, "mail.mega.bank.example", 1) ==
           DMARC_PASS && out.spf_aligned && !out.dkim_aligned &&
           strcmp(out.org_domain, "giant.bank.example") == 0 &&
           strcmp(out.policy_domain, "giant.bank.example") == 0 && out.policy == DMARC_P_NONE,
       "B.4.3: SPF aligned below the PSD, DKIM of a sibling organization not");
    ok(eval("www.small.bank.example", NULL, 0, NULL, 0) == DMARC_FAIL &&
           strcmp(out.policy_domain, "bank.example") == 0 &&
           strcmp(out.org_domain, "small.bank.example") == 0 && out.policy == DMARC_P_QUARANTINE,
       "no record in the organization: the PSD's record, sp=");
    ok(eval("www.small.bank.example", NULL, 0, "small.bank.example", 1) == DMARC_PASS,
       "relaxed: the organization below the PSD aligns");
    ok(eval("www.small.bank.example", NULL, 0, "mega.bank.example", 1) == DMARC_FAIL,
       "relaxed: a sibling under the PSD does not align");
    ok(org_is("psdstart.example", "psdstart.example") && queries == 1,
       "org: psd=y at the start ends the walk there");
    ok(eval("badsp.example", NULL, 0, NULL, 0) == DMARC_FAIL && out.policy == DMARC_P_NONE,
       "invalid sp= with rua=: as p=none");
    ok(eval("badnp.example", "badnp.example", 1, NULL, 0) == DMARC_NONE,
       "invalid np= without rua=: no DMARC");
    ok(eval("badrua.example", NULL, 0, NULL, 0) == DMARC_NONE,
       "invalid p= and a rua= without a URI: no DMARC");
    ok(dmarc_record_parse("v=DMARC1; rua=x, mailto:d@example.com", &r) == 1 && r.has_rua &&
           r.bad_policy,
       "rua=: one valid URI is enough; no p= is a bad policy");
    ok(dmarc_record_parse("v=DMARC1; p=none; rua= , :x, 1a:b, mailto:", &r) == 1 && !r.has_rua &&
           !r.bad_policy,
       "rua=: no valid URI");
  }

  /* the From domain */
  ok(from_is("From: a@example.com\nTo: b@x\n\nbody", 11, "example.com"), "from: plain");
  ok(from_is("Subject: x\r\nFROM : \"Doe, John\" <j@Example.COM.>\r\n\r\n", 11, "example.com"),
     "from: CRLF, display name with a comma, case, final dot");
  ok(from_is("From: (comment <x@y.z>) Jane <jane@(c)sub.example.org (c)>\n", 15,
             "sub.example.org"),
     "from: comments");
  ok(from_is("From:\n  Jane\n <jane@\n example.org>\n\n", 11, "example.org"), "from: folded");
  ok(from_is("From: \"a@b.example\"@real.example\n", 12, "real.example"),
     "from: quoted local part with @");
  ok(from_is("From: <@relay.example,@r2.example:u@route.example>\n", 13, "route.example"),
     "from: obsolete source route");
  ok(from_is("To: a@b\n\n", -1, NULL), "from: no From field");
  ok(from_is("To: a@b\n\nFrom: a@example.com\n", -1, NULL), "from: a From in the body is not one");
  ok(from_is("From: undisclosed:;\n", -1, NULL), "from: empty group");
  ok(from_is("From: a@example.com\nFrom: b@example.com\n", -2, NULL), "from: two From fields");
  ok(from_is("From: a@example.com, b@example.org\n", -2, NULL), "from: two addresses");
  ok(from_is("From: a@example.com, b@example.com\n", -2, NULL),
     "from: two addresses, same domain");
  ok(from_is("From: team: a@example.com;\n", 11, "example.com"), "from: group of one");
  ok(from_is("From: jane\n", -2, NULL), "from: no domain");
  ok(from_is("From: a@[192.0.2.1]\n", -2, NULL), "from: domain literal");
  ok(from_is("From: a@b..example\n", -2, NULL), "from: empty label");
  ok(from_is("From: a@Bücher.Example\n", 21, "xn--bcher-kva.example"),
     "from: a U-label becomes its A-label (RFC 9989)");
  ok(from_is("From: a@mail.例え.日本語.example\n", 39, "mail.xn--r8jz45g.xn--wgv71a119e.example"),
     "from: CJK labels");
  ok(from_is("From: a@b\xff.example\n", -2, NULL), "from: not UTF-8");
  ok(from_is("From: a@b\xc3\xa9\xcc.example\n", -2, NULL), "from: cut UTF-8 sequence");
  ok(from_is("From: a@\xc0\xaf.example\n", -2, NULL), "from: overlong UTF-8");
  ok(from_is("From: a@\xed\xa0\x80.example\n", -2, NULL), "from: UTF-8 surrogate");
  {
    char alabel[64];
    ok(dmarc_alabel("straße", 7, alabel, sizeof alabel) == 13 &&
           strcmp(alabel, "xn--strae-oqa") == 0 &&
           dmarc_alabel("ñandú", 7, alabel, sizeof alabel) > 0 &&
           strcmp(alabel, "xn--and-6ma2c") == 0 &&
           dmarc_alabel("abc\xc3\xa9" "def\xe4\xb8\xad", 11, alabel, sizeof alabel) > 0 &&
           strcmp(alabel, "xn--abcdef-dva7539m") == 0 &&
           dmarc_alabel("\xc3\xbc", 2, alabel, sizeof alabel) == 7 &&
           strcmp(alabel, "xn--tda") == 0,
       "A-labels (RFC 3492 Punycode)");
    ok(dmarc_alabel("ascii", 5, alabel, sizeof alabel) == -1, "A-label: all ASCII refused");
    ok(dmarc_alabel("münchen", 8, alabel, 10) == -1, "A-label: does not fit");
  }
  {
    char longlabel[300];
    memset(longlabel, 0, sizeof longlabel);
    strcpy(longlabel, "From: a@");
    for (int i = 0; i < 61; i++) strcat(longlabel, "\xc3\xbc"); /* 63 bytes + "xn--" */
    strcat(longlabel, ".example\n");
    ok(from_is(longlabel, -2, NULL), "from: an A-label over 63 bytes");
  }
  ok(from_is("From: \"unterminated <a@b.example>\n", -2, NULL), "from: unterminated quote");
  ok(from_is("From: (unterminated a@b.example\n", -2, NULL), "from: unterminated comment");
  ok(from_is("From: <a@b.example\n", -2, NULL), "from: unterminated angle");
  ok(from_is("From: A <a@one.example> <b@two.example>\n", -2, NULL), "from: two angles");
  ok(from_is("From: a@example.com,\n", 11, "example.com"), "from: trailing comma (obs)");
  ok(from_is("From: a@example.com", 11, "example.com"), "from: no final newline");
  {
    char small[8];
    ok(dmarc_from_domain("From: a@example.com\n", 20, small, sizeof small) == -2,
       "from: domain longer than the buffer");
  }

  ok(strcmp(dmarc_result_name(DMARC_TEMPERROR), "temperror") == 0 &&
         strcmp(dmarc_policy_name(DMARC_P_UNSET), "none") == 0,
     "names");
  return done_testing();
}
