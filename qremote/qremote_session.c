/*
 * qremote_session: the start of a session on a fresh connection
 * (qremote_smtp.h): the greeting, EHLO (HELO if refused), STARTTLS
 * (RFC 3207) through qtls-client as the TLS plan says, and AUTH PLAIN /
 * LOGIN (RFC 4954, 4616) with the credentials file of a route.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <buffer.h>
#include <stralloc.h>

#include "qlog.h"
#include "qremote_smtp.h"

#define AUTH_FILE_MAX 2048

/* EHLO, falling back to HELO. SESS_OK or SESS_NEXT. */
static int hello(struct conn *cn, const struct smtp_config *c)
{
  int code;

  if (!stralloc_copys(&cn->cmd, "EHLO ") || !stralloc_cat(&cn->cmd, &c->helo) ||
      !stralloc_0(&cn->cmd))
    goto nomem;
  code = wire_command(cn, cn->cmd.s);
  if (code == -1) goto lost;
  if (code >= 200 && code < 300) {
    smtp_ehlo_parse(&cn->ext, &cn->reply_lines);
    return SESS_OK;
  }
  memset(&cn->ext, 0, sizeof cn->ext);
  if (!stralloc_copys(&cn->cmd, "HELO ") || !stralloc_cat(&cn->cmd, &c->helo) ||
      !stralloc_0(&cn->cmd))
    goto nomem;
  code = wire_command(cn, cn->cmd.s);
  if (code == -1) goto lost;
  if (code >= 200 && code < 300) return SESS_OK;
  fail_reply(cn);
  return SESS_NEXT;

lost:
  fail_net(cn);
  return SESS_NEXT;
nomem:
  fail_local(cn, "4.3.0", "out of memory", NULL);
  return SESS_NEXT;
}

static int starttls(struct conn *cn, const struct route *r, const char *sni,
                    const struct smtp_config *c)
{
  char status[TLS_INFO_MAX];
  int required = plan_required(cn);
  int verify = cn->plan.mode == PLAN_VERIFY || cn->plan.mode == PLAN_STS_ENFORCE;
  int dane = cn->plan.mode == PLAN_DANE;
  int code;
  int fd;

  code = wire_command(cn, "STARTTLS");
  if (code == -1) {
    fail_net(cn);
    return SESS_NEXT;
  }
  if (code != 220) {
    if (!required) return SESS_OK; /* RFC 3207 4: go on in the clear */
    fail_reply(cn);
    return SESS_NEXT;
  }
  /* RFC 3207 5 and qtls-client(8): nothing may come between 220 and the
   * handshake; bytes there would be read as if they had come through TLS */
  if (cn->in.p != cn->in.n) {
    fail_local(cn, "4.7.0", "data after the 220 reply to STARTTLS", NULL);
    return SESS_NEXT;
  }
  fd = tls_start(cn->fd, sni, verify, r->cafile, dane ? cn->plan.tlsa.s : NULL,
                 dane ? cn->plan.tlsa_count : 0, c->timeout_connect, status, sizeof status,
                 &cn->tls_pid);
  cn->fd = -1; /* tls_start closed the socket */
  if (fd == -1) {
    /* RFC 7672 2.2, RFC 8461 5: an authentication failure (4.7.5) */
    if (cn->plan.mode == PLAN_DANE || cn->plan.mode == PLAN_STS_ENFORCE)
      fail_local(cn, "4.7.5", cn->plan.mode == PLAN_DANE ? "TLS failed (tls policy dane)"
                                                 : "TLS failed (tls policy sts enforce)", status);
    else
      fail_local(cn, "4.7.0", "TLS failed", status);
    policy_set(cn, cn->plan.label, "failed", NULL);
    plan_rpt(cn, "validation-failure");
    qlog("TLS with ", host_label(cn), " failed: ", status);
    return required ? SESS_NEXT : SESS_NOTLS;
  }
  wire_attach(cn, fd);
  cn->tls = 1;
  {
    size_t k;

    for (k = 0; status[k] != '\0' && k + 1 < sizeof cn->tls_text; ++k)
      cn->tls_text[k] = status[k] == ' ' ? '/' : status[k];
    cn->tls_text[k] = '\0';
  }
  {
    /* status: "proto cipher verified|unverified|dane-ee|dane-ta cn" */
    char proto[TLS_INFO_MAX];
    char how[TLS_INFO_MAX];
    const char *p = status;
    size_t k = 0;

    while (*p != '\0' && *p != ' ' && k + 1 < sizeof proto) proto[k++] = *p++;
    proto[k] = '\0';
    if (*p == ' ') ++p;
    while (*p != '\0' && *p != ' ') ++p; /* the cipher */
    if (*p == ' ') ++p;
    for (k = 0; *p != '\0' && *p != ' ' && k + 1 < sizeof how; ++p) how[k++] = *p;
    how[k] = '\0';
    if (cn->plan.mode == PLAN_DANE) policy_set(cn, how, "verified", proto);
    else policy_set(cn, cn->plan.label, proto, how);
  }
  plan_rpt(cn, NULL);
  if (hello(cn, c) != SESS_OK) return SESS_NEXT; /* RFC 3207 4.2: EHLO again */
  return SESS_OK;
}

static size_t base64_fmt(char *dest, const unsigned char *s, size_t len)
{
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = 0;

  for (size_t i = 0; i < len; i += 3) {
    unsigned long v = (unsigned long)s[i] << 16;

    if (i + 1 < len) v |= (unsigned long)s[i + 1] << 8;
    if (i + 2 < len) v |= s[i + 2];
    dest[n++] = alphabet[(v >> 18) & 63];
    dest[n++] = alphabet[(v >> 12) & 63];
    dest[n++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
    dest[n++] = i + 2 < len ? alphabet[v & 63] : '=';
  }
  dest[n] = '\0';
  return n;
}

/* Reads the credentials: user on line 1, password on line 2. 0, -1 (failtext set). */
static int auth_read(struct conn *cn, const char *fn, char *user, char *pass, size_t size)
{
  char data[AUTH_FILE_MAX];
  struct stat st;
  ssize_t len;
  size_t i = 0;
  size_t k;
  int fd;

  fd = open(fn, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd == -1) {
    fail_local(cn, "4.3.0", "unable to read the credentials file", strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) == -1 || (st.st_mode & 077) != 0) {
    close(fd);
    fail_local(cn, "4.3.0", "refusing a credentials file others may read (want mode 600)", NULL);
    return -1;
  }
  len = read(fd, data, sizeof data);
  close(fd);
  if (len < 0) {
    fail_local(cn, "4.3.0", "unable to read the credentials file", strerror(errno));
    return -1;
  }
  for (k = 0; i < (size_t)len && data[i] != '\n' && k + 1 < size; ++i) user[k++] = data[i];
  while (k > 0 && user[k - 1] == '\r') --k;
  user[k] = '\0';
  if (i < (size_t)len) ++i;
  for (k = 0; i < (size_t)len && data[i] != '\n' && k + 1 < size; ++i) pass[k++] = data[i];
  while (k > 0 && pass[k - 1] == '\r') --k;
  pass[k] = '\0';
  memset(data, 0, sizeof data);
  if (user[0] == '\0') {
    fail_local(cn, "4.3.0", "no user name in the credentials file", NULL);
    return -1;
  }
  return 0;
}

static int auth(struct conn *cn, const struct route *r)
{
  char user[512];
  char pass[512];
  char plain[1030];
  char encoded[1400 + 16];
  size_t ulen;
  size_t plen;
  int code;

  if (!cn->tls && cn->plan.mode != PLAN_NONE) {
    fail_local(cn, "4.7.0", "refusing to send credentials without TLS", NULL);
    return SESS_NEXT;
  }
  if (!cn->ext.auth_plain && !cn->ext.auth_login) {
    fail_local(cn, "4.7.0", "the server offers no AUTH PLAIN or LOGIN", NULL);
    return SESS_NEXT;
  }
  if (auth_read(cn, r->authfile, user, pass, sizeof user) == -1) return SESS_NEXT;
  ulen = strlen(user);
  plen = strlen(pass);

  if (cn->ext.auth_plain) { /* RFC 4616: authzid NUL authcid NUL passwd */
    plain[0] = '\0';
    memcpy(plain + 1, user, ulen);
    plain[1 + ulen] = '\0';
    memcpy(plain + 2 + ulen, pass, plen);
    memcpy(encoded, "AUTH PLAIN ", 11);
    base64_fmt(encoded + 11, (const unsigned char *)plain, 2 + ulen + plen);
    code = wire_command(cn, encoded);
  } else {
    code = wire_command(cn, "AUTH LOGIN");
    if (code == 334) {
      base64_fmt(encoded, (const unsigned char *)user, ulen);
      code = wire_command(cn, encoded);
    }
    if (code == 334) {
      base64_fmt(encoded, (const unsigned char *)pass, plen);
      code = wire_command(cn, encoded);
    }
  }
  memset(plain, 0, sizeof plain);
  memset(encoded, 0, sizeof encoded);
  memset(pass, 0, sizeof pass);
  if (code == -1) {
    fail_net(cn);
    return SESS_NEXT;
  }
  if (code != 235) {
    fail_reply(cn);
    return SESS_NEXT;
  }
  return SESS_OK;
}

/* Greeting, EHLO, STARTTLS, AUTH on a fresh connection. */
int session_open(struct conn *cn, const struct route *r, const char *sni,
                        const struct smtp_config *c, int allow_tls)
{
  int code;
  int required = plan_required(cn);
  int s;

  code = wire_reply(cn);
  if (code == -1) {
    fail_net(cn);
    return SESS_NEXT;
  }
  if (code < 200 || code >= 300) {
    fail_reply(cn);
    return SESS_NEXT;
  }
  s = hello(cn, c);
  if (s != SESS_OK) return s;

  if (cn->plan.mode != PLAN_NONE && allow_tls && cn->ext.starttls) {
    s = starttls(cn, r, sni, c);
    if (s != SESS_OK) return s;
  }
  if (required && !cn->tls) {
    static const char head[] = "TLS is required but the server does not offer STARTTLS (tls policy ";
    char what[sizeof head + 32];
    size_t len = strlen(cn->plan.label);

    if (len > 30) len = 30;
    memcpy(what, head, sizeof head - 1);
    memcpy(what + sizeof head - 1, cn->plan.label, len);
    memcpy(what + sizeof head - 1 + len, ")", 2);
    fail_local(cn, cn->plan.mode == PLAN_DANE || cn->plan.mode == PLAN_STS_ENFORCE ? "4.7.5"
                                                                                  : "4.7.10",
               what, NULL);
    policy_set(cn, cn->plan.label, "no STARTTLS", NULL);
    plan_rpt(cn, "starttls-not-supported");
    return SESS_NEXT;
  }
  if (r->authfile[0] != '\0') return auth(cn, r);
  return SESS_OK;
}
