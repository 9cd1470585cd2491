/*
 * authres_dmarc: the dmarc= method result of an Authentication-Results
 * field from dmarc_eval's verdict (RFC 9989 and RFC 8601: header.from,
 * policy.dmarc). libc only, with the dmarc module (authres.h). Library code.
 */
#include <stdio.h>

#include "authres.h"
#include "dmarc.h"

void authres_dmarc(struct authres *b, const struct dmarc_out *out, const char *disposition)
{
  char comment[128];
  int found = out->policy_domain[0] != '\0';

  authres_method(b, "dmarc", dmarc_result_name(out->result), NULL);
  if (found) {
    /* every piece is short: the comment cannot be cut */
    int n = snprintf(comment, sizeof comment, "p=%s", dmarc_policy_name(out->p));
    if (out->policy != out->p)
      n += snprintf(comment + n, sizeof comment - (size_t)n, " applied=%s",
                    dmarc_policy_name(out->policy));
    if (out->testing) n += snprintf(comment + n, sizeof comment - (size_t)n, " t=y");
    if (disposition != NULL)
      snprintf(comment + n, sizeof comment - (size_t)n, " dis=%.16s", disposition);
    authres_comment(b, comment);
  }
  if (out->domain[0] != '\0') authres_prop(b, "header.from", out->domain);
  if (found) authres_prop(b, "policy.dmarc", dmarc_policy_name(out->policy));
}
