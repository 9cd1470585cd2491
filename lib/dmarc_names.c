/*
 * dmarc_names: the words of DMARC results and policies (RFC 8601,
 * RFC 9989). libc only (dmarc.h). Library code.
 */
#include "dmarc.h"

const char *dmarc_result_name(int result)
{
  switch (result) {
    case DMARC_PASS: return "pass";
    case DMARC_FAIL: return "fail";
    case DMARC_TEMPERROR: return "temperror";
    case DMARC_PERMERROR: return "permerror";
    default: return "none";
  }
}

const char *dmarc_policy_name(int policy)
{
  switch (policy) {
    case DMARC_P_QUARANTINE: return "quarantine";
    case DMARC_P_REJECT: return "reject";
    default: return "none";
  }
}
