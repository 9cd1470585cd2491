/* tests/unit/t_addr.c: RFC 5321 paths, internal form, quoting. */
#include <string.h>
#include "tap.h"
#include "addr.h"

#define N ADDR_ALLOW_NULL
#define B ADDR_ALLOW_BARE
#define NB ADDR_ALLOW_NOBRACKET
#define U ADDR_ALLOW_UTF8

struct pcase {
  const char *in;
  size_t inlen;   /* 0: strlen */
  int flags;
  const char *want; /* internal form, NULL: invalid */
  size_t used;    /* bytes used when valid; 0: the whole input */
};

static const struct pcase pcases[] = {
  /* plain */
  {"<u@example.org>", 0, 0, "u@example.org", 0},
  {"<U.Ser@EXAMPLE.Org>", 0, 0, "U.Ser@example.org", 0},
  {"<first.last+tag@sub.example.org>", 0, 0, "first.last+tag@sub.example.org", 0},
  {"<u@localhost>", 0, 0, "u@localhost", 0},
  {"<u@x1-y2.example>", 0, 0, "u@x1-y2.example", 0},
  {"<u@a--b.example>", 0, 0, "u@a--b.example", 0},
  {"<u@123.example>", 0, 0, "u@123.example", 0},
  {"<!#$%&'*+-/=?^_`{|}~@x.org>", 0, 0, "!#$%&'*+-/=?^_`{|}~@x.org", 0},
  /* percent and bang are atext: kept as part of the local part */
  {"<a%b@relay.example>", 0, 0, "a%b@relay.example", 0},
  {"<host!user@x.org>", 0, 0, "host!user@x.org", 0},
  {"<a%b%c@x.org>", 0, 0, "a%b%c@x.org", 0},
  /* trailing dot of the domain removed */
  {"<u@example.org.>", 0, 0, "u@example.org", 0},
  {"<u@example.org..>", 0, 0, NULL, 0},
  {"<u@.>", 0, 0, NULL, 0},
  {"<u@.example.org>", 0, 0, NULL, 0},
  {"<u@ex..ample.org>", 0, 0, NULL, 0},
  /* the path ends at '>'; what follows is the caller's */
  {"<u@x.org> SIZE=100", 0, 0, "u@x.org", 9},
  /* null and bare */
  {"<>", 0, N, "", 0},
  {"<>", 0, 0, NULL, 0},
  {"<> BODY=8BITMIME", 0, N, "", 2},
  {"<postmaster>", 0, B, "postmaster", 0},
  {"<PostMaster>", 0, B, "postmaster", 0},
  {"<postmaster>", 0, 0, NULL, 0},
  {"<abuse>", 0, B, NULL, 0},
  {"<\"postmaster\">", 0, B, "postmaster", 0},
  {"<@a.example:postmaster>", 0, B, NULL, 0},
  /* quoted local parts, decoded */
  {"<\"a b\"@x.org>", 0, 0, "a b@x.org", 0},
  {"<\"a@b\"@x.org>", 0, 0, "a@b@x.org", 0},
  {"<\"a\\\"b\"@x.org>", 0, 0, "a\"b@x.org", 0},
  {"<\"a\\\\b\"@x.org>", 0, 0, "a\\b@x.org", 0},
  {"<\"\\a\"@x.org>", 0, 0, "a@x.org", 0},
  {"<\"john..doe\"@x.org>", 0, 0, "john..doe@x.org", 0},
  {"<\".a\"@x.org>", 0, 0, ".a@x.org", 0},
  {"<\"a>b\"@x.org>", 0, 0, "a>b@x.org", 0},
  {"<\"\"@x.org>", 0, 0, NULL, 0},
  {"<\"abc@x.org>", 0, 0, NULL, 0},
  {"<\"abc\\\"@x.org>", 0, 0, NULL, 0},
  {"<a\"b\"@x.org>", 0, 0, NULL, 0},
  {"<\"a\"b@x.org>", 0, 0, NULL, 0},
  {"<\"a\tb\"@x.org>", 0, 0, NULL, 0},
  {"<\"a\\\tb\"@x.org>", 0, 0, NULL, 0},
  {"<\"a\\\rb\"@x.org>", 0, 0, NULL, 0},
  {"<\"a\x7f\"@x.org>", 0, 0, NULL, 0},
  /* dot-atom errors */
  {"<.u@x.org>", 0, 0, NULL, 0},
  {"<u.@x.org>", 0, 0, NULL, 0},
  {"<a..b@x.org>", 0, 0, NULL, 0},
  {"<a b@x.org>", 0, 0, NULL, 0},
  {"<a(b)@x.org>", 0, 0, NULL, 0},
  {"<a,b@x.org>", 0, 0, NULL, 0},
  {"<a;b@x.org>", 0, 0, NULL, 0},
  {"<a[b@x.org>", 0, 0, NULL, 0},
  {"<a\\b@x.org>", 0, 0, NULL, 0},
  {"<@x.org>", 0, 0, NULL, 0},
  {"<u@>", 0, 0, NULL, 0},
  {"<u>", 0, 0, NULL, 0},
  {"<u@@x.org>", 0, 0, NULL, 0},
  {"<u@x@y.org>", 0, 0, NULL, 0},
  {"<u@x.org", 0, 0, NULL, 0},
  {"<u@x.org>>", 0, 0, "u@x.org", 9},
  {"u@x.org>", 0, 0, NULL, 0},
  {"<u@x.org >", 0, 0, NULL, 0},
  {"< u@x.org>", 0, 0, NULL, 0},
  {"", 0, N | B | NB, NULL, 0},
  {"<", 0, N, NULL, 0},
  /* domain syntax */
  {"<u@-x.org>", 0, 0, NULL, 0},
  {"<u@x-.org>", 0, 0, NULL, 0},
  {"<u@x_y.org>", 0, 0, NULL, 0},
  {"<u@x y.org>", 0, 0, NULL, 0},
  {"<u@x.org:25>", 0, 0, NULL, 0},
  {"<u@x/y>", 0, 0, NULL, 0},
  /* NUL and control characters anywhere */
  {"<u\0@x.org>", 10, 0, NULL, 0},
  {"<u@x\0.org>", 10, 0, NULL, 0},
  {"<u@x.org\0>", 10, 0, NULL, 0},
  {"<\"u\0\"@x.org>", 12, 0, NULL, 0},
  {"<u\r@x.org>", 0, 0, NULL, 0},
  {"<u\n@x.org>", 0, 0, NULL, 0},
  {"<u@x\r\n.org>", 0, 0, NULL, 0},
  {"<u\x1b@x.org>", 0, 0, NULL, 0},
  /* source routes: checked, dropped */
  {"<@a.example:u@x.org>", 0, 0, "u@x.org", 0},
  {"<@a.example,@b.example:u@x.org>", 0, 0, "u@x.org", 0},
  {"<@A.Example,@b.example,@c:\"q r\"@x.org>", 0, 0, "q r@x.org", 0},
  {"<@a.example u@x.org>", 0, 0, NULL, 0},
  {"<@a.example,u@x.org>", 0, 0, NULL, 0},
  {"<@a.example,:u@x.org>", 0, 0, NULL, 0},
  {"<@:u@x.org>", 0, 0, NULL, 0},
  {"<@[1.2.3.4]:u@x.org>", 0, 0, NULL, 0},
  {"<@-a:u@x.org>", 0, 0, NULL, 0},
  {"<@a.example:>", 0, N, NULL, 0},
  {"<@a.example:u>", 0, 0, NULL, 0},
  /* IPv4 literals */
  {"<u@[192.0.2.1]>", 0, 0, "u@[192.0.2.1]", 0},
  {"<u@[0.0.0.0]>", 0, 0, "u@[0.0.0.0]", 0},
  {"<u@[255.255.255.255]>", 0, 0, "u@[255.255.255.255]", 0},
  {"<u@[010.001.000.1]>", 0, 0, "u@[10.1.0.1]", 0},
  {"<u@[256.0.0.1]>", 0, 0, NULL, 0},
  {"<u@[1.2.3]>", 0, 0, NULL, 0},
  {"<u@[1.2.3.4.5]>", 0, 0, NULL, 0},
  {"<u@[1.2.3.4>", 0, 0, NULL, 0},
  {"<u@[1.2..4]>", 0, 0, NULL, 0},
  {"<u@[0001.2.3.4]>", 0, 0, NULL, 0},
  {"<u@[ 1.2.3.4]>", 0, 0, NULL, 0},
  {"<u@[]>", 0, 0, NULL, 0},
  {"<u@[1.2.3.4].org>", 0, 0, NULL, 0},
  /* IPv6 literals, RFC 5321 4.1.3 forms */
  {"<u@[IPv6:2001:db8:0:0:0:0:0:1]>", 0, 0, "u@[IPv6:2001:db8:0:0:0:0:0:1]", 0},
  {"<u@[IPv6:2001:DB8::1]>", 0, 0, "u@[IPv6:2001:db8::1]", 0},
  {"<u@[ipv6:2001:db8::1]>", 0, 0, "u@[IPv6:2001:db8::1]", 0},
  {"<u@[IPv6:::1]>", 0, 0, "u@[IPv6:::1]", 0},
  {"<u@[IPv6:::]>", 0, 0, "u@[IPv6:::]", 0},
  {"<u@[IPv6:fe80::]>", 0, 0, "u@[IPv6:fe80::]", 0},
  {"<u@[IPv6:1:2:3:4:5:6::]>", 0, 0, "u@[IPv6:1:2:3:4:5:6::]", 0},
  {"<u@[IPv6:1:2:3::4:5:6]>", 0, 0, "u@[IPv6:1:2:3::4:5:6]", 0},
  {"<u@[IPv6:::ffff:192.0.2.1]>", 0, 0, "u@[IPv6:::ffff:192.0.2.1]", 0},
  {"<u@[IPv6:::192.0.2.1]>", 0, 0, "u@[IPv6:::192.0.2.1]", 0},
  {"<u@[IPv6:1:2:3:4:5:6:192.0.2.1]>", 0, 0, "u@[IPv6:1:2:3:4:5:6:192.0.2.1]", 0},
  {"<u@[IPv6:1:2::3:4:192.0.2.1]>", 0, 0, "u@[IPv6:1:2::3:4:192.0.2.1]", 0},
  {"<u@[IPv6:1:2:3:4:5:6:7]>", 0, 0, NULL, 0},
  {"<u@[IPv6:1:2:3:4:5:6:7:8:9]>", 0, 0, NULL, 0},
  {"<u@[IPv6:1:2:3:4:5:6::8]>", 0, 0, NULL, 0},   /* "::" must stand for 2+ groups */
  {"<u@[IPv6:1::2::3]>", 0, 0, NULL, 0},
  {"<u@[IPv6:1:::2]>", 0, 0, NULL, 0},
  {"<u@[IPv6::1]>", 0, 0, NULL, 0},
  {"<u@[IPv6:1:]>", 0, 0, NULL, 0},
  {"<u@[IPv6:12345::1]>", 0, 0, NULL, 0},
  {"<u@[IPv6:g::1]>", 0, 0, NULL, 0},
  {"<u@[IPv6:]>", 0, 0, NULL, 0},
  {"<u@[IPv6:1:2:3:4:5::192.0.2.1]>", 0, 0, NULL, 0},
  {"<u@[IPv6:1:2:3:4:5:192.0.2.1]>", 0, 0, NULL, 0},
  {"<u@[IPv6:::ffff:192.0.2]>", 0, 0, NULL, 0},
  {"<u@[IPv6:::ffff:192.0.2.1:1]>", 0, 0, NULL, 0},
  {"<u@[2001:db8::1]>", 0, 0, NULL, 0},
  {"<u@[tag:something]>", 0, 0, NULL, 0},
  /* no brackets */
  {"u@x.org", 0, NB, "u@x.org", 0},
  {"u@x.org SIZE=10", 0, NB, "u@x.org", 7},
  {"u@x.org>", 0, NB, NULL, 0},
  {"<u@x.org>", 0, NB, "u@x.org", 0},
  {"u@x.org", 0, 0, NULL, 0},
  {"postmaster", 0, NB | B, "postmaster", 0},
  /* UTF-8 only when allowed */
  {"<j\xc3\xb6rg@x.org>", 0, 0, NULL, 0},
  {"<j\xc3\xb6rg@x.org>", 0, U, "j\xc3\xb6rg@x.org", 0},
  {"<u@b\xc3\xbc" "cher.example>", 0, U, "u@b\xc3\xbc" "cher.example", 0},
  {"<u@B\xc3\xbc" "CHER.example>", 0, U, "u@b\xc3\xbc" "cher.example", 0},
  {"<u@b\xc3\xbc" "cher.example>", 0, 0, NULL, 0},
  {"<\"j\xc3\xb6 rg\"@x.org>", 0, U, "j\xc3\xb6 rg@x.org", 0},
  {"<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac\xe5\x8f\xb8>", 0, U,
   "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac\xe5\x8f\xb8", 0},
  {"<\xf0\x9f\x98\x80@x.org>", 0, U, "\xf0\x9f\x98\x80@x.org", 0},
  {"<j\xc3rg@x.org>", 0, U, NULL, 0},            /* truncated sequence */
  {"<j\xc0\xafrg@x.org>", 0, U, NULL, 0},        /* overlong '/' */
  {"<j\xe0\x80\xafrg@x.org>", 0, U, NULL, 0},    /* overlong */
  {"<j\xed\xa0\x80rg@x.org>", 0, U, NULL, 0},    /* surrogate */
  {"<j\xf4\x90\x80\x80rg@x.org>", 0, U, NULL, 0},/* above U+10FFFF */
  {"<j\xf8\x88\x80\x80\x80@x.org>", 0, U, NULL, 0},
  {"<j\xc2\x85rg@x.org>", 0, U, NULL, 0},        /* C1 control NEL */
  {"<j\xbfrg@x.org>", 0, U, NULL, 0},            /* lone continuation */
  {"<j\xc3\xb6rg@x.org\xc3>", 0, U, NULL, 0},
  {"<u@[IPv6:\xc3\xb6::1]>", 0, U, NULL, 0},
  {"<\"\\\xc3\xb6\"@x.org>", 0, U, NULL, 0},     /* quoted-pair is ASCII only */
  {NULL, 0, 0, NULL, 0}
};

static char big[1200];

static const char *rep(char c, size_t n, const char *tail, const char *head)
{
  size_t o = 0;
  size_t hl = strlen(head);

  memcpy(big, head, hl);
  o = hl;
  memset(big + o, c, n);
  o += n;
  strcpy(big + o, tail);
  return big;
}

/* "<u@" + labels of 63 'a' joined by '.' making a domain of exactly dlen */
static const char *longdomain(size_t dlen)
{
  size_t o = 3;
  size_t n = 0;

  memcpy(big, "<u@", 3);
  while (n < dlen) {
    size_t run = 0;
    while (run < 63 && n < dlen) {
      big[o++] = 'a';
      run++;
      n++;
    }
    if (n < dlen) {
      if (n + 1 == dlen) {
        big[o - 1] = 'a';
        big[o++] = 'b';
        n++;
        break;
      }
      big[o++] = '.';
      n++;
    }
  }
  big[o++] = '>';
  big[o] = '\0';
  return big;
}

/* addr_parse on a NUL-terminated string (after rep/longdomain have run) */
static size_t pl(const char *s, int flags)
{
  struct addr a;
  return addr_parse(&a, s, strlen(s), flags);
}

static int pcheck(const char *in, size_t inlen, int flags, const char *want, size_t used)
{
  struct addr a;
  size_t r;

  if (inlen == 0) inlen = strlen(in);
  r = addr_parse(&a, in, inlen, flags);
  if (want == NULL) {
    if (r != 0) printf("# accepted %zu: [%s]\n", r, a.s);
    return r == 0;
  }
  if (used == 0) used = inlen;
  if (r != used || strcmp(a.s, want) != 0 || a.len != strlen(want)) {
    printf("# got %zu [%s], want %zu [%s]\n", r, a.s, used, want);
    return 0;
  }
  return 1;
}

int main(void)
{
  struct addr a;
  char q[ADDR_QUOTED_MAX];
  const char *d;
  size_t dl;
  size_t n;
  int count = 0;
  int i;

  for (i = 0; pcases[i].in != NULL; i++) count++;
  plan(count + 63);

  for (i = 0; pcases[i].in != NULL; i++) {
    char name[200];
    const struct pcase *c = &pcases[i];
    size_t k;
    size_t o = 0;

    /* a printable test name */
    for (k = 0; c->in[k] != '\0' && o < 150; k++) {
      unsigned char ch = (unsigned char)c->in[k];
      name[o++] = (ch < 32 || ch > 126) ? '?' : (char)ch;
    }
    strcpy(name + o, c->want ? " valid" : " invalid");
    ok(pcheck(c->in, c->inlen, c->flags, c->want, c->used), name);
  }

  /* the fields */
  n = addr_parse(&a, "<@r.example:\"a b\"@X.Example.>", 29, 0);
  ok(n == 29 && a.routed && a.quoted && !a.literal && !a.utf8 && !a.null, "flags of a routed quoted path");
  ok(a.at == 3 && a.len == 13 && strcmp(a.s, "a b@x.example") == 0, "at and len");
  n = addr_parse(&a, "<u@[1.2.3.4]>", 13, 0);
  ok(n == 13 && a.literal && !a.routed && !a.quoted, "literal flag");
  n = addr_parse(&a, "<>", 2, N);
  ok(n == 2 && a.null && a.len == 0 && a.s[0] == '\0', "null fields");
  n = addr_parse(&a, "<postmaster>", 12, B);
  ok(n == 12 && a.at == a.len && !a.null, "bare postmaster has no '@'");
  n = addr_parse(&a, "<j\xc3\xb6rg@x.org>", 13, U);
  ok(n == 13 && a.utf8, "utf8 flag");
  n = addr_parse(&a, "<u@x.org>", 9, U);
  ok(n == 9 && !a.utf8, "no utf8 flag for ASCII");
  n = addr_parse(&a, "<u@x.org", 8, 0);
  ok(n == 0 && a.len == 0 && a.s[0] == '\0', "invalid leaves an empty address");
  ok(addr_parse(&a, "<u@x.org>", 5, 0) == 0, "len is respected");

  /* length limits: local part 64, domain 255, label 63 */
  rep('a', 64, "@x.org>", "<");
  ok(addr_parse(&a, big, strlen(big), 0) == strlen(big) && a.at == 64, "local part of 64 accepted");
  ok(pl(rep('a', 65, "@x.org>", "<"), 0) == 0, "local part of 65 refused");
  rep('a', 62, "\"@x.org>", "<\"");
  ok(pl(big, 0) == strlen(big), "quoted local part of 62");
  ok(pl(rep('a', 65, "\"@x.org>", "<\""), 0) == 0,
     "quoted local part of 65 refused");
  rep('\\', 64, "\"@x.org>", "<\"");
  ok(addr_parse(&a, big, strlen(big), 0) == strlen(big) && a.at == 32,
     "escapes count once: 32 decoded bytes");
  {
    /* 65 quoted-pairs decode to 65 bytes: one too many */
    size_t o = 2;
    int k;
    memcpy(big, "<\"", 2);
    for (k = 0; k < 65; k++) {
      big[o++] = '\\';
      big[o++] = '"';
    }
    strcpy(big + o, "\"@x.org>");
    ok(pl(big, 0) == 0, "65 escaped quotes refused");
    big[o - 2] = '\0';
    strcat(big, "\"@x.org>");
    ok(addr_parse(&a, big, strlen(big), 0) == strlen(big) && a.at == 64, "64 escaped quotes");
  }
  longdomain(255);
  ok(addr_parse(&a, big, strlen(big), 0) == strlen(big) && a.len == 2 + 255, "domain of 255");
  ok(pl(longdomain(256), 0) == 0, "domain of 256 refused");
  {
    /* 255 + trailing dot: still 255 */
    size_t l;
    longdomain(255);
    l = strlen(big);
    big[l - 1] = '.';
    big[l] = '>';
    big[l + 1] = '\0';
    ok(addr_parse(&a, big, l + 1, 0) == l + 1 && a.len == 257, "domain of 255 plus a dot");
  }
  {
    /* a full 64 + 255 address fills the buffer exactly */
    char full[400];
    longdomain(255);
    memcpy(full, "<", 1);
    memset(full + 1, 'l', 64);
    strcpy(full + 65, big + 2);
    ok(addr_parse(&a, full, strlen(full), 0) == strlen(full) && a.len == ADDR_MAX &&
       a.s[ADDR_MAX] == '\0', "64 + 1 + 255 = ADDR_MAX");
  }
  rep('a', 63, ".org>", "<u@");
  ok(pl(big, 0) == strlen(big), "label of 63");
  ok(pl(rep('a', 64, ".org>", "<u@"), 0) == 0, "label of 64 refused");
  ok(pl(rep('a', 64, ".org>", "<@"), 0) == 0, "route label of 64 refused");
  ok(pl(rep('a', 1000, "@x.org>", "<"), 0) == 0, "1000-byte local part");
  ok(pl(rep('a', 1000, ">", "<u@"), 0) == 0, "1000-byte domain");
  {
    /* a UTF-8 domain of 255 bytes, labels over 63 bytes */
    char u[400];
    size_t o = 3;
    memcpy(u, "<u@", 3);
    while (o < 3 + 254) {
      memcpy(u + o, "\xc3\xb6", 2);
      o += 2;
    }
    u[o++] = 'x';
    u[o++] = '>';
    u[o] = '\0';
    ok(addr_parse(&a, u, o, U) == o && a.len == 257, "UTF-8 label: 255 bytes");
    u[o - 1] = 'y';
    u[o++] = '>';
    u[o] = '\0';
    ok(addr_parse(&a, u, o, U) == 0, "UTF-8 domain of 256 bytes refused");
  }

  /* addr_set */
  ok(addr_set(&a, "u@example.org", 13) == 1 && a.at == 1 && !a.quoted, "set plain");
  ok(addr_set(&a, "U@EXAMPLE.org", 13) == 1 && strcmp(a.s, "U@example.org") == 0,
     "set lowercases the domain only");
  ok(addr_set(&a, "a b@x.org", 9) == 1 && a.quoted && a.at == 3, "set: needs quoting");
  ok(addr_set(&a, "a@b@x.org", 9) == 1 && a.at == 3, "set splits at the last '@'");
  ok(addr_set(&a, "", 0) == 1 && a.null, "set null");
  ok(addr_set(&a, "Postmaster", 10) == 1 && strcmp(a.s, "postmaster") == 0 && a.at == 10,
     "set bare postmaster");
  ok(addr_set(&a, "abuse", 5) == 0, "set: no domain");
  ok(addr_set(&a, "@x.org", 6) == 0, "set: empty local part");
  ok(addr_set(&a, "u@", 2) == 0, "set: empty domain");
  ok(addr_set(&a, "u@x..org", 8) == 0, "set: bad domain");
  ok(addr_set(&a, "u@x.org.", 8) == 1 && strcmp(a.s, "u@x.org") == 0, "set: trailing dot");
  ok(addr_set(&a, "u\n@x.org", 8) == 0, "set: control byte");
  ok(addr_set(&a, "u\0@x.org", 8) == 0, "set: NUL");
  ok(addr_set(&a, "u@x.org\0", 8) == 0, "set: NUL in domain");
  ok(addr_set(&a, "j\xc3\xb6@b\xc3\xbc.de", 10) == 1 && a.utf8, "set: UTF-8");
  ok(addr_set(&a, "j\xc3@x.de", 6) == 0, "set: bad UTF-8");
  ok(addr_set(&a, "u@[IPv6:::1]", 12) == 1 && a.literal, "set: literal");
  ok(addr_set(&a, rep('a', 65, "@x.org", ""), 71) == 0, "set: local part of 65");
  ok(addr_set(&a, rep('a', 400, "@x.org", ""), 406) == 0, "set: too long");

  /* addr_quote */
  n = addr_quote(q, "u@x.org", 7);
  ok(n == 7 && memcmp(q, "u@x.org", 7) == 0, "quote: dot-atom unchanged");
  n = addr_quote(q, "a b@x.org", 9);
  ok(n == 11 && memcmp(q, "\"a b\"@x.org", 11) == 0, "quote: space");
  n = addr_quote(q, "a\"b\\c@x.org", 11);
  ok(n == 15 && memcmp(q, "\"a\\\"b\\\\c@x.org", 6) == 0 &&
     memcmp(q, "\"a\\\"b\\\\c\"@x.org", 15) == 0, "quote: escapes");
  n = addr_quote(q, "a@b@x.org", 9);
  ok(n == 11 && memcmp(q, "\"a@b\"@x.org", 11) == 0, "quote: '@' in the local part");
  n = addr_quote(q, "a..b@x.org", 10);
  ok(n == 12 && memcmp(q, "\"a..b\"@x.org", 12) == 0, "quote: double dot");
  n = addr_quote(q, ".a@x.org", 8);
  ok(n == 10 && q[0] == '"', "quote: leading dot");
  n = addr_quote(q, "", 0);
  ok(n == 0, "quote: null sender");
  n = addr_quote(q, "postmaster", 10);
  ok(n == 10 && memcmp(q, "postmaster", 10) == 0, "quote: bare");
  n = addr_quote(NULL, "a b@x.org", 9);
  ok(n == 11, "quote: measure only");
  n = addr_quote(q, "j\xc3\xb6@x.org", 9);
  ok(n == 9, "quote: UTF-8 is atext");
  {
    /* the worst case fits ADDR_QUOTED_MAX */
    char w[ADDR_MAX + 1];
    memset(w, '"', 64);
    w[64] = '@';
    memset(w + 65, 'a', 63);
    n = addr_quote(NULL, w, 128);
    ok(n == 2 + 128 + 1 + 63 && n <= ADDR_QUOTED_MAX, "quote: worst case bounded");
  }
  ok(addr_quote(q, big, ADDR_MAX + 1) == 0, "quote: over ADDR_MAX refused");

  /* round trip: parse(quote(set(x))) == x */
  {
    static const char *rt[] = {"a b@x.org", "a\"b@x.org", "a\\b@x.org", "a@b@x.org",
                               "john..doe@x.org", "u@x.org", "a%b!c@x.org", NULL};
    int good = 1;
    int k;
    for (k = 0; rt[k] != NULL; k++) {
      char wire[ADDR_QUOTED_MAX + 2];
      struct addr b;
      size_t wl;
      wire[0] = '<';
      wl = addr_quote(wire + 1, rt[k], strlen(rt[k]));
      wire[wl + 1] = '>';
      if (addr_parse(&b, wire, wl + 2, 0) != wl + 2 || strcmp(b.s, rt[k]) != 0) good = 0;
    }
    ok(good, "quote then parse gives back the internal form");
  }

  /* addr_domain */
  d = addr_domain("a@b@x.org", 9, &dl);
  ok(dl == 5 && memcmp(d, "x.org", 5) == 0, "domain after the last '@'");
  d = addr_domain("postmaster", 10, &dl);
  ok(dl == 0 && *d == '\0', "no domain");

  /* utf8seq, isdotatom */
  ok(addr_utf8seq("\xe2\x82\xac", 3) == 3 && addr_utf8seq("\xe2\x82", 2) == 0, "utf8seq length");
  ok(addr_isdotatom("a.b", 3) && !addr_isdotatom("a.", 2) && !addr_isdotatom("", 0),
     "isdotatom");

  return done_testing();
}
