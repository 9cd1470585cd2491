/*
 * ctl_islocal: whether a recipient is delivered here or relayed, the one
 * rule qsend (and qsmtpd, for what it checks) follows: an address without
 * a domain, one whose domain is in locals, and postmaster at the host's
 * own name (control/me) as long as anything at all is delivered here.
 * RFC 5321 4.5.1: a bare "<Postmaster>" reaches this host's postmaster
 * (qsmtpd makes it postmaster@me), also when me is not one of the local
 * domains; qnewmaps points the postmaster alias of every local domain
 * there too. A send-only instance (no locals) delivers nothing here, so
 * its postmaster mail goes out like the rest.
 */
#include <string.h>
#include <strings.h>
#include "ctl.h"

#define POSTMASTER "postmaster"
#define POSTMASTER_LEN 10

int ctl_islocal(const stralloc *locals, const char *me, size_t melen, const char *addr,
                size_t len)
{
  const char *at = NULL;
  const char *dom;
  size_t dlen;
  size_t i;

  for (i = len; i > 0; i--)
    if (addr[i - 1] == '@') {
      at = addr + i - 1;
      break;
    }
  if (at == NULL) return 1;
  dom = at + 1;
  dlen = len - (size_t)(dom - addr);
  if (ctl_domainmatch(locals, dom, dlen)) return 1;
  if (locals->len == 0 || melen == 0) return 0;
  if (dlen > 0 && dom[dlen - 1] == '.') dlen--;
  if (me[melen - 1] == '.') melen--;
  if ((size_t)(at - addr) != POSTMASTER_LEN) return 0;
  if (strncasecmp(addr, POSTMASTER, POSTMASTER_LEN) != 0) return 0;
  return dlen == melen && strncasecmp(dom, me, melen) == 0;
}
