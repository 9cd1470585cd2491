/*
 * qsmtpd_spf: SPF (RFC 7208) at MAIL FROM on a port-25 session, in
 * process (lib/spf_*.c over lib/dnsq_*.c): the MAIL FROM identity, or
 * postmaster@HELO for the null path. Record only by default: the result
 * goes into a Received-SPF: field (RFC 7208 9.1) above our Received:.
 * With control/spfreject a fail is refused (550 5.7.23, with the
 * domain's explanation) and a temperror deferred (451 4.7.24, RFC 7372);
 * without it nothing is ever refused. Submission and authenticated
 * sessions are not checked. SPF runs on every port-25 session unless
 * control/nospf exists (the test instances point control/resolvers at a
 * closed port, so each lookup fails at once). The result also goes to
 * qdkimd -v for DMARC and the Authentication-Results field (spf_result).
 */
#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>

#include <stralloc.h>

#include "qsmtpd.h"
#include "spf.h"

#define SPFOFF "control/nospf"
#define SPFREJECT "control/spfreject"
#define REFUSAL_MAX 400 /* bytes of the 550 reply, explanation included */

static struct spf_ctx ctx;
static int result = -1;      /* -1: nothing evaluated for this transaction */
static int identity_helo;
static char sender_copy[SPF_DOMAIN_MAX + 256]; /* ctx.sender points here */
static char refusal[REFUSAL_MAX];

/* printable ASCII only, at most max bytes (a header or reply can hold it) */
static void put_clean(char *out, size_t *len, size_t max, const char *s)
{
  for (; *s != '\0' && *len < max; s++)
    out[(*len)++] = (*s < 0x20 || *s > 0x7e) ? '?' : *s;
}

const char *spfcheck_mail(const char *sender)
{
  unsigned char ip[16];
  size_t iplen;

  result = -1;
  if (sess.submission || sess.authed || sess.ip == NULL) return NULL;
  if (access(SPFOFF, F_OK) == 0) return NULL;
  if (inet_pton(AF_INET, sess.ip, ip) == 1) iplen = 4;
  else if (inet_pton(AF_INET6, sess.ip, ip) == 1) iplen = 16;
  else return NULL;
  identity_helo = sender[0] == '\0';
  if (strlen(sender) >= sizeof sender_copy) return NULL;
  memcpy(sender_copy, sender, strlen(sender) + 1);
  result = spf_check(&ctx, ip, iplen, sender_copy, sess.helo, sess.me.s);
  if (access(SPFREJECT, F_OK) == -1) return NULL;
  if (result == SPF_TEMPERROR) return "451 4.7.24 SPF: temporary DNS error, try again later\r\n";
  if (result != SPF_FAIL) return NULL;
  size_t len = 0;
  const char *head = "550 5.7.23 SPF fail: ";
  memcpy(refusal, head, strlen(head));
  len = strlen(head);
  put_clean(refusal, &len, sizeof refusal - 3,
            ctx.exp[0] != '\0' ? ctx.exp : "the sender's domain does not permit this host");
  memcpy(refusal + len, "\r\n", 3);
  return refusal;
}

int spfcheck_result(const char **word, const char **domain, int *helo)
{
  const char *at;

  if (result < 0 || ctx.sender == NULL) return -1;
  at = strrchr(ctx.sender, '@');
  *word = spf_result_name(result);
  *domain = at != NULL ? at + 1 : ctx.sender;
  *helo = identity_helo;
  return 0;
}

/* a quoted-string (RFC 5322 3.2.4) */
static int cat_quoted(stralloc *sa, const char *s)
{
  char c[2] = {'\\', 0};

  if (!stralloc_cats(sa, "\"")) return -1;
  for (size_t i = 0; s[i] != '\0' && i < 512; i++) {
    char b = (s[i] < 0x20 || s[i] > 0x7e) ? '?' : s[i];
    c[1] = b;
    if ((b == '"' || b == '\\') ? !stralloc_catb(sa, c, 2) : !stralloc_catb(sa, &b, 1))
      return -1;
  }
  return stralloc_cats(sa, "\"") ? 0 : -1;
}

int spfcheck_header(stralloc *sa)
{
  sa->len = 0;
  if (result < 0) return 0;
  if (!stralloc_cats(sa, "Received-SPF: ") || !stralloc_cats(sa, spf_result_name(result)) ||
      !stralloc_cats(sa, " (") || !stralloc_cats(sa, sess.me.s) ||
      !stralloc_cats(sa, ") client-ip=") || !stralloc_cats(sa, sess.ip) ||
      !stralloc_cats(sa, "; envelope-from=") || cat_quoted(sa, ctx.sender) == -1 ||
      !stralloc_cats(sa, "; helo=") || cat_quoted(sa, sess.helo) == -1 ||
      !stralloc_cats(sa, "; receiver=") || !stralloc_cats(sa, sess.me.s) ||
      !stralloc_cats(sa, "; identity=") ||
      !stralloc_cats(sa, identity_helo ? "helo\r\n" : "mailfrom\r\n"))
    return -1;
  return 0;
}
