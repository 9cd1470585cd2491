/*
 * dkimc_call: one request to qdkimd and its answer (dkimc.h,
 * qdkimd/dkimproto.h): the request and the queue file in one packet, the
 * answer in one packet, parsed: "C LEN\n", LEN bytes of fields, a note.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "dkimc.h"
#include "fdpass.h"

static long long now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dkimc_call(int sock, int msgfd, const char *req, size_t reqlen, struct dkimc_answer *a)
{
  static char packet[DKIMP_REQ_MAX];
  long long deadline = now_ms() + DKIMP_TIMEOUT_MS;
  size_t pos;
  size_t fl = 0;
  size_t digits = 0;
  size_t notelen;
  ssize_t r;

  if (reqlen + 1 > sizeof packet) {
    errno = EMSGSIZE;
    return -1;
  }
  memcpy(packet, req, reqlen);
  packet[reqlen] = '\n';
  if (fdpass_send(sock, packet, reqlen + 1, msgfd) == -1) return -1;

  for (;;) {
    struct pollfd p = {.fd = sock, .events = POLLIN};
    long long left = deadline - now_ms();
    int k;

    if (left <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    k = poll(&p, 1, (int)left);
    if (k == -1 && errno == EINTR) continue;
    if (k == -1) return -1;
    if (k == 0) continue;
    r = recv(sock, a->buf, sizeof a->buf, MSG_TRUNC);
    if (r == -1 && errno == EINTR) continue;
    if (r == -1) return -1;
    break;
  }
  if (r == 0) {
    errno = EPIPE;
    return -1;
  }
  if ((size_t)r > sizeof a->buf || r < 4 || a->buf[1] != ' ') {
    errno = EPROTO;
    return -1;
  }
  a->code = a->buf[0];
  if (a->code != DKIMP_ADD && a->code != DKIMP_REJECT && a->code != DKIMP_TEMP) {
    errno = EPROTO;
    return -1;
  }
  for (pos = 2; pos < (size_t)r && a->buf[pos] >= '0' && a->buf[pos] <= '9'; pos++) {
    if (++digits > 6) break;
    fl = fl * 10 + (size_t)(a->buf[pos] - '0');
  }
  if (digits == 0 || digits > 6 || pos >= (size_t)r || a->buf[pos] != '\n' ||
      fl > (size_t)r - pos - 1) {
    errno = EPROTO;
    return -1;
  }
  pos++;
  a->fields = a->buf + pos;
  a->fieldslen = fl;
  pos += fl;
  notelen = (size_t)r - pos;
  if (notelen > DKIMP_REASON_MAX) notelen = DKIMP_REASON_MAX;
  for (size_t i = 0; i < notelen; i++) {
    unsigned char c = (unsigned char)a->buf[pos + i];
    a->note[i] = c < 0x20 || c > 0x7e ? '?' : (char)c;
  }
  a->note[notelen] = '\0';
  return 0;
}
