/*
 * maps_access: control/access -> control/access.cdb (lib/access.h), and
 * its RELAY lines for IP addresses -> control/tcp.smtp.cdb, the rules
 * qlisten's -x reads, in tcprules' format (RELAYCLIENT="" for those
 * clients; everybody else is allowed without it).
 *
 *   [Connect:|From:|To:]key <blanks> action
 * keys: IPv4 address or prefix (1 to 4 octets), "IPv6:" address or prefix
 * (1 to 8 groups, "::" only in a full address), a network in CIDR form
 * (a whole address, "/", a length; no bit set past the length: a typo in
 * the address would otherwise widen or move the network), host name or domain,
 * user@domain, user@, <> (the null sender; From: only).
 * actions: OK RELAY REJECT DISCARD (any case; stored upper case),
 * ERROR:x.y.z:nnn text, ERROR:nnn text (nnn 4xx or 5xx, x the same class),
 * either also in double quotes after the colon, as sendmail's ERROR:"550 text".
 *
 * CDB key: tag ("c:", "f:", "t:", "*:") + the key lowercased; IPv4 octets
 * and IPv6 groups without leading zeros, a full IPv6 address with all 8
 * groups: the form access_lookup builds from the client's address. A CIDR
 * key is written by access_fmtip (as a prefix when its length is a whole
 * number of octets or groups), and ACCESS_CIDR4/6 mark the other lengths.
 * When a Connect: or untagged key is a host name or domain, the map also
 * gets ACCESS_HOSTKEYS: qsmtpd looks up client names only then.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "maps.h"

#define KEY_MAX 400

static int blank(char c) { return c == ' ' || c == '\t'; }

/* "192.168.0" -> normalized into out. 1 ok, 0 not an IPv4 prefix. */
static int ipv4_key(const char *s, size_t len, char *out, size_t *olen, int *octets)
{
  size_t i = 0;
  size_t n = 0;
  int count = 0;

  if (len > 0 && s[len - 1] == '.') len--; /* "10.1." as tcprules writes it */
  if (len == 0) return 0;
  while (i < len) {
    unsigned long v = 0;
    size_t start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3) v = v * 10 + (unsigned long)(s[i++] - '0');
    if (i == start || v > 255) return 0;
    if (i < len && s[i] != '.') return 0;
    if (++count > 4) return 0;
    if (count > 1) out[n++] = '.';
    if (v >= 100) out[n++] = (char)('0' + v / 100);
    if (v >= 10) out[n++] = (char)('0' + v / 10 % 10);
    out[n++] = (char)('0' + v % 10);
    if (i < len) {
      i++;
      if (i == len) return 0;
    }
  }
  *olen = n;
  *octets = count;
  return 1;
}

/* "2001:DB8:0::1" or "2001:db8" (after "IPv6:") -> "ipv6:..." in out.
 * 1 ok (*full = 1 for a whole address), 0 invalid. */
static int ipv6_key(const char *s, size_t len, char *out, size_t *olen, int *full,
                    unsigned char *bin)
{
  static const char hex[] = "0123456789abcdef";
  char text[64];
  size_t n = 5;
  size_t i;
  int groups = 0;

  memcpy(out, "ipv6:", 5);
  if (len == 0 || len >= sizeof text) return 0;
  memcpy(text, s, len);
  text[len] = '\0';
  if (inet_pton(AF_INET6, text, bin) == 1) {
    *olen = access_fmtip(out, 1, bin, 128);
    *full = 1;
    return 1;
  }
  /* a prefix: 1 to 7 groups of 1 to 4 hex digits, no "::" */
  if (s[len - 1] == ':') len--; /* "2001:db8:" as tcprules writes it */
  i = 0;
  while (i < len) {
    unsigned v = 0;
    size_t start = i;
    const char *d;
    int shift;
    int started = 0;
    while (i < len && i - start < 4 && s[i] != '\0' && (d = strchr(hex, s[i] | 0x20)) != NULL) {
      v = v * 16 + (unsigned)(d - hex);
      i++;
    }
    if (i == start || (i < len && s[i] != ':')) return 0;
    if (++groups > 7) return 0;
    if (groups > 1) out[n++] = ':';
    for (shift = 12; shift >= 0; shift -= 4) {
      unsigned digit = (v >> shift) & 15;
      if (digit != 0 || started || shift == 0) {
        out[n++] = hex[digit];
        started = 1;
      }
    }
    if (i < len) {
      i++;
      if (i == len) return 0;
    }
  }
  if (groups == 0) return 0;
  *olen = n;
  *full = 0;
  return 1;
}

/* "192.168.16.0/20" or (after "IPv6:") "2001:db8::/29": the network into
 * bin and *bits. NULL ok, else why not. */
static const char *cidr_parse(const char *s, size_t len, int v6, unsigned char *bin,
                              unsigned *bits)
{
  char text[64];
  const char *slash = memchr(s, '/', len);
  size_t alen;
  size_t i;
  unsigned long v = 0;
  unsigned total = v6 ? 128 : 32;
  unsigned b;

  if (slash == NULL) return "not a CIDR network";
  alen = (size_t)(slash - s);
  if (alen == 0 || alen >= sizeof text || slash + 1 == s + len || len - alen - 1 > 3)
    return v6 ? "bad IPv6 network" : "bad IPv4 network";
  for (i = alen + 1; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return "bad prefix length";
    v = v * 10 + (unsigned long)(s[i] - '0');
  }
  if (v == 0 || v > total) return v6 ? "prefix length not 1 to 128" : "prefix length not 1 to 32";
  memcpy(text, s, alen);
  text[alen] = '\0';
  if (inet_pton(v6 ? AF_INET6 : AF_INET, text, bin) != 1)
    return v6 ? "bad IPv6 network (a whole address before the /)"
              : "bad IPv4 network (four octets before the /)";
  for (b = (unsigned)v; b < total; b++)
    if (bin[b / 8] & (0x80 >> (b % 8))) return "address bits set past the prefix length";
  *bits = (unsigned)v;
  return NULL;
}

static const char *check_action(char *a, size_t len)
{
  static const char *const words[] = {"OK", "RELAY", "REJECT", "DISCARD"};
  size_t i;
  size_t k;

  for (i = 0; i < sizeof words / sizeof words[0]; i++) {
    if (len == strlen(words[i]) && strncasecmp(a, words[i], len) == 0) {
      memcpy(a, words[i], len);
      return NULL;
    }
  }
  if (len < 6 || strncasecmp(a, "ERROR:", 6) != 0) return "unknown action (OK, RELAY, REJECT, DISCARD, ERROR:...)";
  memcpy(a, "ERROR:", 6);
  for (i = 0; i < len; i++)
    if ((unsigned char)a[i] < 32 && a[i] != '\t') return "control character in action";
  k = 6;
  /* sendmail's ERROR:"550 text": the quotes go round the rest (qsmtpd
   * drops them) */
  if (k < len && a[k] == '"') {
    if (len - k < 2 || a[len - 1] != '"') return "ERROR: a quote without its closing quote";
    k++;
    len--;
  }
  /* optional x.y.z: */
  if (len - k >= 6 && (a[k] == '4' || a[k] == '5') && a[k + 1] == '.') {
    char class = a[k];
    size_t j = k + 2;
    int part;
    for (part = 0; part < 2; part++) {
      size_t start = j;
      while (j < len && a[j] >= '0' && a[j] <= '9' && j - start < 3) j++;
      if (j == start || j >= len) return "bad status code in ERROR:";
      if (a[j] != (part == 0 ? '.' : ':')) return "bad status code in ERROR:";
      j++;
    }
    if (j >= len || a[j] != class) return "ERROR: status code and reply code differ in class";
    k = j;
  }
  if (len - k < 3 || (a[k] != '4' && a[k] != '5') || a[k + 1] < '0' || a[k + 1] > '9' ||
      a[k + 2] < '0' || a[k + 2] > '9' || (len - k > 3 && !blank(a[k + 3])))
    return "ERROR: needs a reply code 4xx or 5xx";
  return NULL;
}

struct access_state {
  struct maps_keyset tseen; /* the rules of tcp.smtp.cdb so far */
  stralloc relay;           /* those rules, each followed by '\0' */
  int hostkeys;             /* a domain key that Connect lookups can match */
  char cidr4[33];           /* '1' at each length with a CIDR key (access.h) */
  char cidr6[129];
  int have_cidr;
};

/* A key as access.cdb stores it, with what maps_access needs to know of it. */
struct access_key {
  char s[KEY_MAX]; /* tag ':' key */
  size_t len;
  int kind;        /* 4 ipv4, 6 ipv6, 'a' address, 'd' domain */
  int full;        /* a whole IPv6 address */
  int octets;      /* of an IPv4 key */
  unsigned bits;   /* a CIDR key's length; 0 for the other forms */
  unsigned char bin[16];
};

/* The key k (klen bytes, its tag removed; klen + 8 fits in key->s) after
 * key->s[0..1], the tag. NULL ok, else what is wrong. */
static const char *key_parse(struct access_key *key, char *k, size_t klen)
{
  const char *why;
  size_t kl;

  key->len = 2;
  if (memchr(k, '/', klen) != NULL && (strspn(k, "0123456789./") >= klen ||
                                        (klen > 5 && strncasecmp(k, "ipv6:", 5) == 0))) {
    int v6 = strspn(k, "0123456789./") < klen;
    why = v6 ? cidr_parse(k + 5, klen - 5, 1, key->bin, &key->bits)
             : cidr_parse(k, klen, 0, key->bin, &key->bits);
    if (why != NULL) return why;
    key->len += access_fmtip(key->s + 2, v6, key->bin, key->bits);
    key->kind = v6 ? 6 : 4;
    key->full = key->bits == 128;
    key->octets = v6 ? 0 : (int)(key->bits / 8);
  } else if (klen > 5 && strncasecmp(k, "ipv6:", 5) == 0) {
    if (!ipv6_key(k + 5, klen - 5, key->s + 2, &kl, &key->full, key->bin))
      return "bad IPv6 address or prefix";
    key->len += kl;
    key->kind = 6;
  } else if (strspn(k, "0123456789.") >= klen) {
    if (!ipv4_key(k, klen, key->s + 2, &kl, &key->octets)) return "bad IPv4 address or prefix";
    key->len += kl;
    key->kind = 4;
  } else if (klen == 2 && memcmp(k, "<>", 2) == 0) {
    memcpy(key->s + 2, "<>", 2);
    key->len += 2;
    key->kind = 'a';
  } else {
    const char *at = memrchr(k, '@', klen);
    if (at != NULL) {
      size_t llen = (size_t)(at - k);
      if (llen == 0 || !maps_islocal(k, llen) ||
          (at + 1 < k + klen && !maps_isdomain(at + 1, klen - llen - 1)))
        return "bad address key";
      key->kind = 'a';
    } else {
      if (k[0] == '.') k++, klen--; /* ".example.org": subdomains match anyway */
      if (!maps_isdomain(k, klen)) return "bad key (IP, IPv6:..., domain, user@domain, user@)";
      key->kind = 'd';
    }
    memcpy(key->s + 2, k, klen);
    maps_lower(key->s + 2, klen);
    key->len += klen;
  }
  return NULL;
}

/* NULL if the tag goes with the kind of key, else what is wrong. */
static const char *key_fits_tag(const struct access_key *key)
{
  char tag = key->s[0];

  if (tag == ACCESS_CONNECT && key->kind == 'a')
    return "Connect: takes an IP address or a host name, not an address";
  if ((tag == ACCESS_FROM || tag == ACCESS_TO) && (key->kind == 4 || key->kind == 6))
    return "From: and To: take an address or a domain, not an IP address";
  if (memcmp(key->s + 2, "<>", 2) == 0 && key->len == 4 && tag != ACCESS_FROM && tag != '*')
    return "<> is the null sender: From: only";
  return NULL;
}

/* Adds a rule of tcp.smtp.cdb (once). 0, -1 + errno. */
static int relay_add(struct access_state *st, const char *tkey, size_t tlen)
{
  int r = maps_keyset_add(&st->tseen, tkey, tlen);

  if (r == 1 && (!stralloc_catb(&st->relay, tkey, tlen) || !stralloc_0(&st->relay))) r = -1;
  if (r == -1) {
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

/* qlisten's rules for a RELAY key of an IP address: keyed by the client's
 * address in text form, as qlisten writes it (inet_ntop), or a prefix of
 * it. 0, -1 + errno. */
static int relay_rules(struct access_state *st, const struct access_key *key)
{
  char tkey[64];
  size_t tlen;

  if (key->kind == 4 && key->bits % 8 != 0) {
    /* tcprules' keys end on an octet: one for each value of the
     * octet the length cuts (at most 128) */
    unsigned q = key->bits / 8;
    unsigned count = 1U << (8 - key->bits % 8);
    unsigned c;
    for (c = 0; c < count; c++) {
      unsigned char net[4];
      memcpy(net, key->bin, 4);
      net[q] = (unsigned char)(net[q] + c);
      tlen = access_fmtip(tkey, 0, net, (q + 1) * 8);
      if (q < 3) tkey[tlen++] = '.';
      if (relay_add(st, tkey, tlen) == -1) return -1;
    }
    return 0;
  }
  if (key->kind == 6 && key->bits % 16 != 0) {
    /* not in tcprules' form: qsmtpd grants the relay from access.cdb */
    return 0;
  }
  if (key->kind == 4) {
    tlen = key->len - 2;
    memcpy(tkey, key->s + 2, tlen);
    if (key->octets < 4) tkey[tlen++] = '.';
  } else if (key->full) {
    if (inet_ntop(AF_INET6, key->bin, tkey, sizeof tkey) == NULL) return 0;
    tlen = strlen(tkey);
  } else {
    tlen = key->len - 2 - 5;
    memcpy(tkey, key->s + 7, tlen);
    tkey[tlen++] = ':';
  }
  return relay_add(st, tkey, tlen);
}

/* One line: "[Connect:|From:|To:]key action", or a comment, or blank. */
static int access_line(struct maps_job *job, char *line, size_t len)
{
  struct access_state *st = job->state;
  struct access_key key = {0};
  size_t i = 0;
  size_t klen;
  size_t alen;
  char tag = '*';
  char *k;
  char *act;
  const char *why;
  int r;

  while (i < len && blank(line[i])) i++;
  if (i == len || line[i] == '#') return 0;
  k = line + i;
  while (i < len && !blank(line[i])) i++;
  klen = (size_t)(line + i - k);
  while (i < len && blank(line[i])) i++;
  act = line + i;
  alen = len - i;
  while (alen > 0 && blank(act[alen - 1])) alen--;
  if (alen == 0) {
    maps_error(&job->src, "missing action", NULL);
    return 0;
  }

  if (klen > 8 && strncasecmp(k, "connect:", 8) == 0) {
    tag = ACCESS_CONNECT;
    k += 8, klen -= 8;
  } else if (klen > 5 && strncasecmp(k, "from:", 5) == 0) {
    tag = ACCESS_FROM;
    k += 5, klen -= 5;
  } else if (klen > 3 && strncasecmp(k, "to:", 3) == 0) {
    tag = ACCESS_TO;
    k += 3, klen -= 3;
  }
  if (klen + 8 > sizeof key.s) {
    maps_error(&job->src, "key too long", NULL);
    return 0;
  }
  key.s[0] = tag;
  key.s[1] = ':';
  why = key_parse(&key, k, klen);
  if (why == NULL) why = key_fits_tag(&key);
  if (why == NULL) why = check_action(act, alen);
  if (why != NULL) {
    maps_error(&job->src, why, NULL);
    return 0;
  }

  r = maps_keyset_add(&job->seen, key.s, key.len);
  if (r == -1) {
    errno = ENOMEM;
    return -1;
  }
  if (r == 0) {
    key.s[key.len] = '\0';
    maps_error(&job->src, "duplicate key ", key.s + 2);
    return 0;
  }
  if (job->src.errors == 0 && cdbmap_add(&job->w, key.s, key.len, act, alen) == -1) return -1;
  if (key.bits % (key.kind == 6 ? 16 : 8) != 0) {
    (key.kind == 6 ? st->cidr6 : st->cidr4)[key.bits] = '1';
    st->have_cidr = 1;
  }
  if (key.kind == 'd' && (tag == '*' || tag == ACCESS_CONNECT)) st->hostkeys = 1;
  if ((key.kind == 4 || key.kind == 6) && (tag == '*' || tag == ACCESS_CONNECT) &&
      alen == 5 && memcmp(act, "RELAY", 5) == 0)
    return relay_rules(st, &key);
  return 0;
}

/* The marks access_lookup reads: host keys, CIDR lengths. */
static int access_end(struct maps_job *job)
{
  struct access_state *st = job->state;

  if (job->src.errors > 0) return 0;
  if (st->hostkeys &&
      cdbmap_add(&job->w, ACCESS_HOSTKEYS, sizeof ACCESS_HOSTKEYS - 1, "1", 1) == -1)
    return -1;
  if (st->have_cidr &&
      (cdbmap_add(&job->w, ACCESS_CIDR4, sizeof ACCESS_CIDR4 - 1, st->cidr4, sizeof st->cidr4) == -1 ||
       cdbmap_add(&job->w, ACCESS_CIDR6, sizeof ACCESS_CIDR6 - 1, st->cidr6, sizeof st->cidr6) == -1))
    return -1;
  return 0;
}

/* access.cdb, then the rules of qlisten in TCPRULES_CDB. */
static int access_finish(struct maps_job *job)
{
  static const char allow_relay[] = "+RELAYCLIENT=";
  struct access_state *st = job->state;
  struct cdbmap_writer tw;
  size_t pos = 0;
  int e;

  if (maps_writer_start(&tw, TCPRULES_CDB, 0644) == -1) goto fail;
  while (pos < st->relay.len) {
    size_t l = strlen(st->relay.s + pos);
    if (cdbmap_add(&tw, st->relay.s + pos, l, allow_relay, sizeof allow_relay) == -1) {
      cdbmap_abort(&tw);
      goto fail;
    }
    pos += l + 1;
  }
  if (cdbmap_finish(&job->w) == -1) {
    e = errno;
    cdbmap_abort(&tw);
    errno = e;
    return -1;
  }
  return cdbmap_finish(&tw);

fail:
  e = errno;
  cdbmap_abort(&job->w);
  errno = e;
  return -1;
}

static void access_done(struct maps_job *job, int ok)
{
  struct access_state *st = job->state;

  (void)ok;
  maps_keyset_free(&st->tseen);
  stralloc_free(&st->relay);
}

static const struct maps_parser access_map = {
  .text = ACCESS_TEXT, .cdb = ACCESS_CDB, .line = access_line, .end = access_end,
  .finish = access_finish, .done = access_done,
};

int maps_access(void)
{
  struct access_state st = {0};

  memset(st.cidr4, '0', sizeof st.cidr4);
  memset(st.cidr6, '0', sizeof st.cidr6);
  return maps_run(&access_map, &st);
}
