#ifndef DNSQ_H
#define DNSQ_H
/*
 * dnsq: a small DNS stub resolver (RFC 1035, RFC 6891 EDNS0, RFC 7766 TCP).
 * It links libc alone, neither libowfat nor OpenSSL, so that programs of
 * either licence family may use it (see HACKING.md, Libraries).
 *
 * - UDP with an EDNS0 OPT record (payload DNSQ_UDP_PAYLOAD, RFC 9715's
 *   advice), the AD bit set in the question (RFC 6840 5.7) and read from
 *   the answer; TCP to the same server when the answer is truncated (TC);
 *   a server that answers FORMERR is asked again without EDNS0.
 * - Records are returned one by one: a TXT record's character-strings are
 *   joined, records stay apart (RFC 7208 3.3, RFC 6376 3.6.2.2).
 * - NXDOMAIN, NOERROR without data and a temporary failure (SERVFAIL,
 *   REFUSED, timeout, a malformed answer) are told apart.
 * - Every try waits at most the timeout; each server is tried in turn, for
 *   the given number of rounds. When every try of a query timed out, the
 *   queries of the next DNSQ_QUIET_MS ask each server once and wait
 *   DNSQ_QUIET_TRY_MS at most, until a server answers: a resolver that is
 *   down costs one query its full timeouts, not every lookup of every
 *   message after it.
 * - A small cache per process honours the TTLs (negative answers: the SOA's
 *   RFC 2308 TTL); temporary failures are never cached.
 * - Servers: control/resolvers (relative to the working directory, which
 *   is QHOME for our programs: one `IP`, `IP:PORT` or `[IPv6]:PORT` a line,
 *   '#' comments) if it has an entry, else the nameserver lines of
 *   /etc/resolv.conf, else 127.0.0.1. DNSSEC validation is left to that
 *   resolver (e.g. a local unbound): the AD bit is only as good as the path
 *   to it.
 * - A server on loopback is asked over one UDP socket kept per process;
 *   others over a fresh socket (a random source port) per query.
 * Library code: it never exits and never prints.
 */
#include <stddef.h>

#define DNSQ_T_A 1
#define DNSQ_T_CNAME 5
#define DNSQ_T_SOA 6
#define DNSQ_T_PTR 12
#define DNSQ_T_MX 15
#define DNSQ_T_TXT 16
#define DNSQ_T_AAAA 28
#define DNSQ_T_OPT 41
#define DNSQ_T_TLSA 52

#define DNSQ_UDP_PAYLOAD 1232  /* EDNS0 buffer size we announce */
#define DNSQ_NAME_MAX 255      /* a name in wire form, RFC 1035 2.3.4 */
#define DNSQ_TEXT_MAX 254      /* a name as text, without the final dot */
#define DNSQ_RR_MAX 256        /* records kept from one answer; more are ignored */
#define DNSQ_SERVERS_MAX 4     /* servers read from the configuration */
#define DNSQ_CNAME_MAX 8       /* CNAME links followed in one answer */
#define DNSQ_TTL_MAX 3600      /* longest time an answer stays in the cache, s */

/* Status of an answer (dnsq_query's and dnsq_parse's result). */
#define DNSQ_OK 0        /* one or more records of the type asked */
#define DNSQ_NODATA 1    /* NOERROR, no record of that type */
#define DNSQ_NXDOMAIN 2  /* the name does not exist (RCODE 3) */
#define DNSQ_TEMP (-1)   /* no usable answer now: errno says why (ETIMEDOUT,
                            EPROTO for a malformed answer, EAGAIN for SERVFAIL
                            or REFUSED, ENOMEM, a socket error) */
#define DNSQ_BADNAME (-2) /* the name cannot be asked (empty label, label over
                             63 bytes, name over 255 bytes): nothing was sent */

/* One record. data points into the answer's own memory:
 *  A: 4 bytes, AAAA: 16 bytes (network order);
 *  MX, PTR, CNAME: the name as text, without the final dot, NUL-terminated
 *    (a name whose labels hold '.', NUL or control bytes is not returned);
 *    MX also sets pref;
 *  TXT: the character-strings of the record joined, NUL-terminated (the
 *    data itself may hold NUL bytes: use len);
 *  TLSA and others: the raw RDATA. */
struct dnsq_rr {
  unsigned int type;
  unsigned int pref;
  unsigned long ttl;
  size_t len;
  const char *data;
};

struct dnsq_answer {
  int status;              /* DNSQ_OK, DNSQ_NODATA, DNSQ_NXDOMAIN */
  int ad;                  /* 1 if the server set the AD bit */
  unsigned long ttl;       /* how long it may be kept, s (0: not at all) */
  size_t count;            /* records in rr */
  struct dnsq_rr *rr;
  void *block;             /* one allocation holding rr and the data */
  size_t blocklen;
};

/* Asks for the records of type qtype at name (text, an optional final dot).
 * Returns DNSQ_OK, DNSQ_NODATA, DNSQ_NXDOMAIN (ans filled: free it with
 * dnsq_free), DNSQ_TEMP + errno or DNSQ_BADNAME (ans empty). */
int dnsq_query(const char *name, unsigned int qtype, struct dnsq_answer *ans);

/* Frees what an answer holds and empties it; an empty answer is fine. */
void dnsq_free(struct dnsq_answer *ans);

/* Per-try timeout in milliseconds and the number of rounds over the servers
 * (defaults DNSQ_TRY_MS and DNSQ_ROUNDS; 0 keeps the current value). */
#define DNSQ_TRY_MS 2000
#define DNSQ_ROUNDS 2
#define DNSQ_QUIET_MS 30000   /* how long silent servers are asked briefly */
#define DNSQ_QUIET_TRY_MS 1000 /* a try's timeout meanwhile */
void dnsq_settimeout(unsigned int ms, unsigned int rounds);

/* Empties the cache (a tool that evaluates unrelated cases one after the
 * other; tests). */
void dnsq_cache_clear(void);

/* Forgets the servers read so far: the next query reads the configuration
 * again. */
void dnsq_reload(void);

/* Uses the servers of list (entries as in control/resolvers, separated by
 * blanks, commas or newlines) instead of the configuration, until
 * dnsq_reload. The number of valid entries; with none, the configuration
 * is read as usual. */
size_t dnsq_setservers(const char *list);

/* The pieces, exported for the tests and the fuzz target. */

/* name (text, len bytes, an optional final dot) into wire form in
 * out[DNSQ_NAME_MAX]. Length of the wire form, or 0 if the name is invalid. */
size_t dnsq_name_wire(unsigned char *out, const char *name, size_t len);

/* Builds a query (id, wire name, type; an OPT record when edns) into out,
 * which has room for 12 + DNSQ_NAME_MAX + 4 + 11 bytes. Its length. */
size_t dnsq_build(unsigned char *out, unsigned int id, const unsigned char *qwire,
                  size_t qwirelen, unsigned int qtype, int edns);

/* Reads the answer packet (len bytes) to the question qwire/qtype (the
 * id is the caller's to check). DNSQ_OK, DNSQ_NODATA, DNSQ_NXDOMAIN with
 * ans filled (free with dnsq_free), or DNSQ_TEMP + errno (EPROTO: malformed
 * or not an answer to that question; EAGAIN: SERVFAIL, REFUSED or another
 * error code; EINVAL: FORMERR; ENOMEM) with ans empty. */
int dnsq_parse(const unsigned char *packet, size_t len, const unsigned char *qwire,
               size_t qwirelen, unsigned int qtype, struct dnsq_answer *ans);

/* A copy of src into dst (dst's pointers rebased). 0, or -1 + ENOMEM. */
int dnsq_copy(struct dnsq_answer *dst, const struct dnsq_answer *src);

/* The cache: dnsq_cache_get fills ans with a copy (1 found and fresh, 0 not,
 * -1 ENOMEM); dnsq_cache_put stores a copy of ans (ans->ttl > 0). */
int dnsq_cache_get(const unsigned char *qwire, size_t qwirelen, unsigned int qtype,
                   struct dnsq_answer *ans);
void dnsq_cache_put(const unsigned char *qwire, size_t qwirelen, unsigned int qtype,
                    const struct dnsq_answer *ans);

/* Parses one server entry ("IP", "IP:PORT", "[IPv6]:PORT", "IPv6") into a
 * sockaddr of room sasize; the port is 53 unless given. Its length, or 0 if
 * the entry is invalid. */
size_t dnsq_server_parse(void *sa, size_t sasize, const char *s, size_t len);

#endif
