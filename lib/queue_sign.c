/*
 * queue_sign: a DKIM signature for the message a writer is making, from
 * the signer (qdkimd -s at run/dkimsign), put before the message
 * (queue_dkim makes the call). qinject signs with it (local mail, and a
 * session's mail that a filter chain hands over: qinject_dkim.c), qsend
 * its delivery reports. What a failure costs is the caller's choice:
 * local mail and reports are queued unsigned, a session's mail is
 * refused for now (qsmtpd, which writes the queue itself, makes its own
 * calls in qsmtpd_dkim.c under the same policy).
 */
#include <errno.h>
#include <unistd.h>

#include "dkimc.h"
#include "queue.h"

#define KEYDIR "control/dkim"

int queue_sign(struct queue_writer *w, int wait_ms, const char **why, const char **note)
{
  static struct dkimc_answer answer;
  int r;

  *why = NULL;
  *note = NULL;
  if (access(KEYDIR, F_OK) == -1) return 0; /* no key anywhere: nothing to sign */
  r = queue_dkim(w, QUEUE_SIGN_SOCKET, wait_ms, "sign", "", 0, &answer, why);
  if (r != 0) return r;
  if (answer.code != DKIMP_ADD) {
    *why = "the DKIM signer failed";
    *note = answer.note;
    return 1;
  }
  if (answer.fieldslen > 0 && queue_insert(w, answer.fields, answer.fieldslen) == -1) return -1;
  return 0;
}
