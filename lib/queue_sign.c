/*
 * queue_sign: a DKIM signature for the message a writer is making, from
 * the signer (qdkimd -s at run/dkimsign), put before the message.
 * qinject signs local mail with it, qsend its delivery reports. Neither
 * ever loses a message for it: a signer that cannot be reached or fails
 * leaves the message unsigned and the caller logs why (qsmtpd, which can
 * still refuse, does its own calls in qsmtpd_dkim.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "dkimc.h"
#include "queue.h"

#define SIGN_SOCKET "run/dkimsign"
#define KEYDIR "control/dkim"

int queue_sign(struct queue_writer *w, const char **why, const char **note)
{
  static struct dkimc_answer answer;
  char req[256];
  char num[FMT_ULONG];
  size_t reqlen = 0;
  int msgfd;
  int sock;
  int r = 1;

  *why = NULL;
  *note = NULL;
  if (access(KEYDIR, F_OK) == -1) return 0; /* no key anywhere: nothing to sign */
  if (queue_flush(w) == -1) return -1;
  msgfd = open(w->tmpname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (msgfd == -1) {
    *why = "unable to read it back";
    return 1;
  }
  sock = dkimc_connect(SIGN_SOCKET);
  if (sock == -1) {
    *why = "unable to reach " SIGN_SOCKET;
    close(msgfd);
    return 1;
  }
  num[fmt_ulong(num, QUEUE_HDRLEN)] = '\0';
  dkimc_add(req, sizeof req, &reqlen, "op", "sign");
  dkimc_add(req, sizeof req, &reqlen, "off", num);
  num[fmt_ulonglong(num, w->msglen)] = '\0';
  dkimc_add(req, sizeof req, &reqlen, "len", num);
  if (dkimc_call(sock, msgfd, req, reqlen, &answer) == -1) {
    *why = "the DKIM signer did not answer";
  } else if (answer.code != DKIMP_ADD) {
    *why = "the DKIM signer failed";
    *note = answer.note;
  } else if (answer.fieldslen > 0 && queue_insert(w, answer.fields, answer.fieldslen) == -1) {
    r = -1;
  } else {
    r = 0;
  }
  {
    int e = errno;
    close(sock);
    close(msgfd);
    errno = e;
  }
  return r;
}
