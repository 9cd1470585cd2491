/*
 * queue_verify: SPF, DKIM and DMARC verdicts for the message a writer is
 * making, from the verifier (qdkimd -v at run/dkimverify; queue_dkim
 * makes the call), and its Authentication-Results field put before the
 * message. qinject uses it for port-25 mail that a filter chain hands
 * over (qinject_dkim.c); qsmtpd, which writes the queue itself, makes its
 * own calls in qsmtpd_dkim.c under the same policy.
 */
#include <errno.h>
#include <unistd.h>

#include "dkimc.h"
#include "queue.h"

int queue_verify(struct queue_writer *w, const char *extra, size_t extralen, const char **why,
                 const char **note)
{
  static struct dkimc_answer answer;
  int r;

  *why = NULL;
  *note = NULL;
  /* no verifier on this instance (no port 25 listener made by qsetup) */
  if (access(QUEUE_VERIFY_SOCKET, F_OK) == -1) return 1;
  r = queue_dkim(w, QUEUE_VERIFY_SOCKET, 0, "verify", extra, extralen, &answer, why);
  if (r != 0) return r;
  *note = answer.note;
  if (answer.code == DKIMP_TEMP) {
    *why = "the DKIM verifier failed";
    return 1;
  }
  if (answer.code == DKIMP_REJECT) return 2;
  if (answer.fieldslen > 0 && queue_insert(w, answer.fields, answer.fieldslen) == -1) return -1;
  return 0;
}
