/*
 * qremote_smtp: the SMTP client (RFC 5321) behind smtp_deliver
 * (qremote.h): the hosts of the destination (a route's host, an address
 * literal, or the MX hosts, RFC 5321 5.1) and their addresses, tried in
 * turn until a session opens; the log line of each recipient. The parts
 * are in qremote_smtp.h.
 *
 * One connection at a time; it stays open after a job so that the next
 * job for the same destination goes out on it (smtp_deliver tries it
 * first and connects afresh if it turns out to be dead before the server
 * answered MAIL, when nothing can have happened yet).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <stralloc.h>

#include "qlog.h"
#include "qremote_smtp.h"

#define QUIT_TIMEOUT 10       /* seconds for the reply to QUIT */

/* The hosts of a destination are found (HOSTS_OK: *hp and *np set; the
 * caller frees them even otherwise), or the recipients have their result
 * (HOSTS_DONE), or memory ran out (HOSTS_NOMEM). */
#define HOSTS_OK 0
#define HOSTS_DONE 1
#define HOSTS_NOMEM -1

static struct conn conn = CONN_INIT;

static void hosts_free(struct host *h, size_t n)
{
  for (size_t i = 0; i < n; ++i) stralloc_free(&h[i].ips);
  free(h);
}

/* Addresses of a host name or "[literal]" (or a bare IP address). */
static void host_resolve(struct host *h)
{
  char ip[16];
  size_t len = strlen(h->name);

  if (len >= 2 && h->name[0] == '[' && h->name[len - 1] == ']') {
    if (net_scanip(ip, h->name + 1, len - 2) && stralloc_copyb(&h->ips, ip, 16)) {
      h->dns = QDNS_OK;
    } else {
      h->dns = QDNS_NX;
    }
    return;
  }
  if (net_scanip(ip, h->name, len)) {
    h->dns = stralloc_copyb(&h->ips, ip, 16) ? QDNS_OK : QDNS_TEMP;
    h->dns_errno = ENOMEM;
    return;
  }
  h->dns = qdns_ip(&h->ips, h->name, &h->secure);
  h->dns_errno = errno;
}

static void log_results(struct conn *cn, const struct job *j)
{
  const char *idtext = j->qid;

  for (size_t i = 0; i < j->rcpt_count; ++i) {
    const struct rcpt *r = &j->rcpt[i];
    char res[2] = {r->result, '\0'};
    stralloc text = {0};
    char addr[QLOG_WORD_MAX];

    /* a quoted local part may hold blanks: one word for log readers (qstats) */
    qlog_word(addr, sizeof addr, r->addr);
    if (!stralloc_copy(&text, &r->text) || !stralloc_0(&text)) {
      stralloc_free(&text);
      continue;
    }
    /* the text names the host already ("HOST [IP] said: ...") where it
     * answered or failed: the line gives it once */
    if (strstr(text.s, host_label(cn)) != NULL)
      qlog("delivery ", idtext, ": rcpt ", addr, " tls ", cn->tls_text, " result ", res, ": ",
           text.s, "; tls=", cn->policy_text);
    else
      qlog("delivery ", idtext, ": rcpt ", addr, " host ", cn->host_name, " ip ", cn->ip_text,
           " tls ", cn->tls_text, " result ", res, ": ", text.s, "; tls=", cn->policy_text);
    stralloc_free(&text);
  }
}

static void set_host(struct conn *cn, const char *name, const char ip[16])
{
  size_t len = strlen(name);

  if (len >= sizeof cn->host_name) len = sizeof cn->host_name - 1;
  memcpy(cn->host_name, name, len);
  cn->host_name[len] = '\0';
  net_fmtip(cn->ip_text, ip);
  memcpy(cn->tls_text, "no", 3);
  policy_set(cn, cn->plan.label, "plaintext", NULL);
}

/* Tries every address of every host in order until one session works. */
static void deliver_hosts(struct conn *cn, struct job *j, struct host *h, size_t n,
                          const struct route *r, const char *domain, int mx_secure,
                          unsigned long port, const struct smtp_config *c)
{
  int tried = 0;

  cn->failtext.len = 0;
  for (size_t i = 0; i < n; ++i) {
    if (h[i].dns == QDNS_TEMP) {
      if (!tried) {
        memcpy(cn->host_name, h[i].name, strlen(h[i].name) + 1);
        memcpy(cn->ip_text, "-", 2);
        fail_local(cn, "4.4.3", "address lookup failed", strerror(h[i].dns_errno));
      }
      continue;
    }
    if (h[i].ips.len > 0) {
      memcpy(cn->host_name, h[i].name, strlen(h[i].name) + 1);
      memcpy(cn->ip_text, "-", 2);
      if (plan_make(cn, &h[i], r, domain, mx_secure, port, c) == -1) {
        tried = 1;
        if (stralloc_0(&cn->failtext)) {
          --cn->failtext.len;
          qlog("attempt failed: ", cn->failtext.s);
        }
        continue;
      }
    }
    for (size_t k = 0; k + 16 <= h[i].ips.len; k += 16) {
      const char *ip = h[i].ips.s + k;
      int allow_tls = 1;
      int fd;
      int s;
      const char *sni = h[i].name[0] == '[' ? "" : h[i].name;

      tried = 1;
      set_host(cn, h[i].name, ip);
    again:
      fd = net_connect(ip, port, c->timeout_connect);
      if (fd == -1) {
        const char *why = errno == ETIMEDOUT ? "timed out" : strerror(errno);

        fail_local(cn, "4.4.1", "unable to connect", why);
        qlog("attempt failed: ", host_label(cn), ": unable to connect: ", why);
        continue;
      }
      wire_attach(cn, fd);
      s = session_open(cn, r, sni, c, allow_tls);
      if (s == SESS_OK) {
        if (txn_run(cn, j, 0) == TX_LOST) {
          fail_net(cn);
          txn_pending_set(j, 'Z', &cn->failtext);
          wire_close(cn);
        }
        return;
      }
      if (cn->fd != -1 && !cn->broken) {
        wire_puts(cn, "QUIT\r\n");
        wire_flush(cn);
      }
      wire_close(cn);
      if (s == SESS_NOTLS && allow_tls) {
        allow_tls = 0;
        goto again;
      }
      if (!stralloc_0(&cn->failtext)) continue;
      --cn->failtext.len;
      qlog("attempt failed: ", cn->failtext.s);
    }
  }
  if (cn->failtext.len == 0) {
    memcpy(cn->ip_text, "-", 2);
    text_set(&cn->failtext, "4.4.4 no address found for any host of the destination", NULL, NULL,
             NULL);
  }
  txn_pending_set(j, 'Z', &cn->failtext);
}

/* RFC 5321 5.1: if we are an MX, only hosts preferred to us may be used.
 * Drops the others from the n hosts of h; returns how many are left. */
static size_t hosts_preferred(struct host *h, size_t n, const struct smtp_config *c)
{
  unsigned int me_pref = 0;
  int me_found = 0;
  size_t usable = 0;

  for (size_t i = 0; i < n; ++i) {
    int mine = strcasecmp(h[i].name, c->me.s) == 0;

    for (size_t k = 0; !mine && k + 16 <= h[i].ips.len; k += 16)
      if (net_isme(h[i].ips.s + k)) mine = 1;
    if (mine && (!me_found || h[i].pref < me_pref)) {
      me_found = 1;
      me_pref = h[i].pref;
    }
  }
  if (!me_found) return n;
  for (size_t i = 0; i < n; ++i)
    if (h[i].pref < me_pref) h[usable++] = h[i];
    else stralloc_free(&h[i].ips);
  return usable;
}

/* A route's host or an address literal: exactly that host, no MX, no "is
 * it me" (but a literal of our own is refused); *port QR_PORT for a
 * literal. */
static int hosts_route(struct job *j, const struct route *r, const char *domain,
                       struct host **hp, size_t *np, unsigned long *port, stralloc *text)
{
  const char *name = r->host[0] != '\0' ? r->host : domain;
  struct host *h = calloc(1, sizeof *h);

  if (h == NULL) return HOSTS_NOMEM;
  *hp = h;
  *np = 1;
  memcpy(h->name, name, strlen(name) + 1);
  host_resolve(h);
  if (r->host[0] == '\0') {
    *port = QR_PORT;
    if (h->dns == QDNS_OK && h->ips.len == 16 && net_isme(h->ips.s)) {
      text_set(text, "5.4.6 the address literal ", domain, " is one of mine", NULL);
      txn_pending_set(j, 'D', text);
      return HOSTS_DONE;
    }
  }
  if (h->dns == QDNS_NX || (h->dns == QDNS_OK && h->ips.len == 0)) {
    text_set(text, "4.4.4 no address found for the route host ", name, NULL, NULL);
    txn_pending_set(j, 'Z', text);
    return HOSTS_DONE;
  }
  return HOSTS_OK;
}

/* The MX hosts of domain (the domain itself without MX records), with
 * their addresses, less those we may not use; and the domain's MTA-STS
 * policy where control/tlspolicy leaves room for one. */
static int hosts_mx(struct conn *cn, struct job *j, const struct route *r, const char *domain,
                    const struct smtp_config *c, struct host **hp, size_t *np, int *mx_secure,
                    stralloc *text)
{
  struct host *h;
  struct mx *mx;
  size_t count;
  int rc = qdns_mx(domain, &mx, &count, mx_secure);
  int level = r->tls;

  if (rc == QDNS_NX) {
    text_set(text, "5.1.2 domain ", domain, " does not exist (DNS: NXDOMAIN)", NULL);
    txn_pending_set(j, 'D', text);
    return HOSTS_DONE;
  }
  if (rc == QDNS_NULLMX) {
    text_set(text, "5.1.10 domain ", domain, " accepts no mail (null MX, RFC 7505)", NULL);
    txn_pending_set(j, 'D', text);
    return HOSTS_DONE;
  }
  if (rc == QDNS_TEMP) {
    text_set(text, "4.4.3 MX lookup for ", domain, " failed: ", strerror(errno));
    txn_pending_set(j, 'Z', text);
    return HOSTS_DONE;
  }
  h = calloc(count > 0 ? count : 1, sizeof *h);
  if (h == NULL) {
    free(mx);
    return HOSTS_NOMEM;
  }
  *hp = h;
  if (count == 0) { /* RFC 5321 5.1: the domain is its own MX */
    *np = 1;
    free(mx);
    memcpy(h->name, domain, strlen(domain) + 1);
    host_resolve(h);
    if (h->dns == QDNS_NX) {
      text_set(text, "5.1.2 domain ", domain, " does not exist (DNS: NXDOMAIN)", NULL);
      txn_pending_set(j, 'D', text);
      return HOSTS_DONE;
    }
    if (h->dns == QDNS_OK && h->ips.len == 0) {
      text_set(text, "5.4.4 domain ", domain, " has no MX and no address", NULL);
      txn_pending_set(j, 'D', text);
      return HOSTS_DONE;
    }
  } else {
    *np = count;
    for (size_t i = 0; i < count; ++i) {
      memcpy(h[i].name, mx[i].name, strlen(mx[i].name) + 1);
      h[i].pref = mx[i].pref;
      /* a host named control/me is us: no need to look up its addresses */
      if (strcasecmp(h[i].name, c->me.s) != 0) host_resolve(&h[i]);
    }
    free(mx);
  }

  /* MTA-STS where the policy could still decide (may, dane) */
  if (!r->tls_set &&
      tlspolicy_find(c->tlspolicy.s, c->tlspolicy.len, domain, "", &level) != -1 &&
      (level == ROUTE_TLS_MAY || level == ROUTE_TLS_DANE))
    cn->sts_on = sts_lookup(domain, &cn->sts);

  *np = hosts_preferred(h, *np, c);
  if (*np == 0) {
    text_set(text, "5.4.6 MX for ", domain, " points back to me", NULL);
    txn_pending_set(j, 'D', text);
    return HOSTS_DONE;
  }
  return HOSTS_OK;
}

static void deliver_fresh(struct conn *cn, struct job *j, const struct route *r,
                          const char *domain, const struct smtp_config *c)
{
  struct host *h = NULL;
  size_t n = 0;
  unsigned long port = r->port;
  size_t dlen = strlen(domain);
  stralloc text = {0};
  int mx_secure = 1; /* a route or a literal names its host itself */
  int found;

  cn->sts_on = 0;
  cn->rpt_domain = domain;

  memcpy(cn->host_name, "-", 2);
  memcpy(cn->ip_text, "-", 2);
  memcpy(cn->tls_text, "no", 3);
  memcpy(cn->policy_text, "-", 2);

  if (r->host[0] != '\0' || (dlen > 2 && domain[0] == '['))
    found = hosts_route(j, r, domain, &h, &n, &port, &text);
  else
    found = hosts_mx(cn, j, r, domain, c, &h, &n, &mx_secure, &text);
  if (found == HOSTS_OK) {
    deliver_hosts(cn, j, h, n, r, domain, mx_secure, port, c);
  } else if (found == HOSTS_NOMEM) {
    text_set(&text, "4.3.0 out of memory", NULL, NULL, NULL);
    txn_pending_set(j, 'Z', &text);
  }
  stralloc_free(&text);
  if (h != NULL) hosts_free(h, n);
}

void smtp_deliver(struct job *j, const struct route *r, const char *domain,
                  const struct smtp_config *c)
{
  struct conn *cn = &conn;
  stralloc text = {0};

  cn->timeout = c->timeout_remote;
  if (txn_scan(cn, j) == -1) {
    text_set(&text, "4.3.0 unable to read the queue file: ", strerror(errno), NULL, NULL);
    txn_pending_set(j, 'T', &text);
    stralloc_free(&text);
    log_results(cn, j);
    return;
  }
  if (cn->fd != -1) {
    if (txn_run(cn, j, 1) != TX_LOST) {
      log_results(cn, j);
      return;
    }
    wire_close(cn);
  }
  deliver_fresh(cn, j, r, domain, c);
  log_results(cn, j);
}

void smtp_quit(void)
{
  struct conn *cn = &conn;

  if (cn->fd != -1 && !cn->broken) {
    unsigned long saved = cn->timeout;

    cn->timeout = QUIT_TIMEOUT;
    wire_command(cn, "QUIT");
    cn->timeout = saved;
  }
  wire_close(cn);
  stralloc_free(&cn->reply);
  stralloc_free(&cn->reply_lines);
  stralloc_free(&cn->failtext);
  stralloc_free(&cn->cmd);
}

int smtp_fd(void)
{
  return conn.fd;
}

void smtp_idle_event(void)
{
  /* between transactions a server only speaks to say goodbye (421) */
  wire_close(&conn);
}
