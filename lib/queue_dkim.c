/*
 * queue_dkim: one request to qdkimd (qdkimd/dkimproto.h) about the
 * message a writer is making (queue.h): the file is flushed and read back,
 * the request is "op OP", "off", "len" and the caller's further lines, the
 * answer is parsed into *a (lib/dkimc). The one client of the queue
 * writers: queue_sign and queue_verify are made of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "dkimc.h"
#include "queue.h"

int queue_dkim(struct queue_writer *w, const char *path, int wait_ms, const char *op,
               const char *extra, size_t extralen, struct dkimc_answer *a, const char **why)
{
  char req[DKIMP_REQ_MAX];
  size_t reqlen = 0;
  int msgfd;
  int sock;
  int r = 0;
  int e;

  *why = NULL;
  if (queue_flush(w) == -1) return -1;
  /* dkimc_call adds the final empty line: one byte kept for it */
  if (dkimc_start(req, sizeof req, &reqlen, op, QUEUE_HDRLEN, w->msglen) == -1 ||
      extralen >= sizeof req - reqlen) {
    *why = "request too long";
    errno = EMSGSIZE;
    return 1;
  }
  if (extralen > 0) memcpy(req + reqlen, extra, extralen);
  reqlen += extralen;
  msgfd = open(w->tmpname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (msgfd == -1) {
    *why = "unable to read the message back";
    return 1;
  }
  sock = dkimc_connect_wait(path, wait_ms);
  if (sock == -1) {
    *why = "unable to reach qdkimd";
    r = 1;
  } else if (dkimc_call(sock, msgfd, req, reqlen, a) == -1) {
    *why = "no answer from qdkimd";
    r = 1;
  }
  e = errno;
  if (sock != -1) close(sock);
  close(msgfd);
  errno = e;
  return r;
}
