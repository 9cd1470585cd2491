/* tests/unit/t_queue_insert.c: queue_insert on a small message (in the
 * writer's buffer) and on messages larger than that buffer (in the file);
 * queue_splice replacing the head of a message by shorter, longer and
 * equal bytes. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include "tap.h"
#include "tmpdir.h"
#include "queue.h"

#define ENVREC "T5\0Fs@x.org\0Rr@y.org\0"

static char msg[100000];
static char want[120000];
static char got[130000];

/* The queue file new/ID: 1 if it holds a header for mlen, m, then the
 * envelope (the I record queue_envelope adds, then ENVREC). */
static int file_is(unsigned long id, const char *qid, const char *m, size_t mlen)
{
  char path[QUEUE_PATH_MAX];
  char hdr[QUEUE_HDRLEN];
  unsigned long long len = 0;
  size_t ilen = strlen(qid) + 2;
  size_t elen = ilen + sizeof ENVREC - 1;
  ssize_t n;
  int fd = open(queue_path(path, "new", id), O_RDONLY);

  if (fd == -1) return 0;
  n = read(fd, got, sizeof got);
  close(fd);
  if (n < QUEUE_HDRLEN) return 0;
  memcpy(hdr, got, QUEUE_HDRLEN);
  if (queue_hdr_scan(hdr, &len) == -1 || len != mlen) return 0;
  if ((size_t)n != QUEUE_HDRLEN + mlen + elen) return 0;
  if (memcmp(got + QUEUE_HDRLEN, m, mlen) != 0) return 0;
  if (got[QUEUE_HDRLEN + mlen] != 'I' || memcmp(got + QUEUE_HDRLEN + mlen + 1, qid, ilen - 1) != 0)
    return 0;
  return memcmp(got + QUEUE_HDRLEN + mlen + ilen, ENVREC, sizeof ENVREC - 1) == 0;
}

/* A message of size bytes, put in pieces of step, then ins (and ins2)
 * before it and "tail\n" after it. 1 if the file is as it should be. */
static int round_trip(size_t size, size_t step, const char *ins, const char *ins2)
{
  struct queue_writer w;
  char qid[QUEUE_ID_MAX];
  unsigned long id = 0;
  size_t i;
  size_t a = strlen(ins);
  size_t b = ins2 != NULL ? strlen(ins2) : 0;

  for (i = 0; i < size; i++) msg[i] = (char)('a' + i % 26);
  for (i = 63; i < size; i += 64) msg[i] = '\n';
  if (queue_open(&w) == -1) return 0;
  memcpy(qid, w.id, sizeof qid);
  for (i = 0; i < size; i += step)
    if (queue_put(&w, msg + i, size - i < step ? size - i : step) == -1) return 0;
  if (queue_insert(&w, ins, a) == -1) return 0;
  if (ins2 != NULL && queue_insert(&w, ins2, b) == -1) return 0;
  if (queue_put(&w, "tail\n", 5) == -1) return 0;
  if (queue_envelope(&w, ENVREC, sizeof ENVREC - 1) == -1) return 0;
  if (queue_commit(&w, &id) == -1) return 0;
  memcpy(want, ins2 != NULL ? ins2 : "", b);
  memcpy(want + b, ins, a);
  memcpy(want + a + b, msg, size);
  memcpy(want + a + b + size, "tail\n", 5);
  return file_is(id, qid, want, a + b + size + 5);
}

/* A message of size bytes, its first cut bytes replaced by head, then
 * "tail\n" after it. 1 if the file is as it should be. */
static int splice_trip(size_t size, size_t cut, const char *head)
{
  struct queue_writer w;
  char qid[QUEUE_ID_MAX];
  unsigned long id = 0;
  size_t i;
  size_t a = strlen(head);

  for (i = 0; i < size; i++) msg[i] = (char)('a' + i % 26);
  for (i = 63; i < size; i += 64) msg[i] = '\n';
  if (queue_open(&w) == -1) return 0;
  memcpy(qid, w.id, sizeof qid);
  for (i = 0; i < size; i += 5000)
    if (queue_put(&w, msg + i, size - i < 5000 ? size - i : 5000) == -1) return 0;
  if (queue_splice(&w, cut, head, a) == -1) return 0;
  if (queue_put(&w, "tail\n", 5) == -1) return 0;
  if (queue_envelope(&w, ENVREC, sizeof ENVREC - 1) == -1) return 0;
  if (queue_commit(&w, &id) == -1) return 0;
  memcpy(want, head, a);
  memcpy(want + a, msg + cut, size - cut);
  memcpy(want + a + size - cut, "tail\n", 5);
  return file_is(id, qid, want, a + size - cut + 5);
}

int main(void)
{
  static char big[20000];
  struct queue_writer w;

  plan(16);
  if (chdir(tmpdir_make()) == -1) return 1;
  mkdir("queue", 0750);
  mkdir("queue/tmp", 0750);
  mkdir("queue/new", 0750);

  ok(round_trip(100, 100, "X-A: 1\n", NULL), "small message: in the buffer");
  ok(round_trip(0, 1, "X-A: 1\n", NULL), "empty message");
  ok(round_trip(100, 7, "X-A: 1\n", "X-B: 2\n"), "two insertions, the last one first");
  ok(round_trip(16000, 1000, "X-A: 1\n", NULL), "the buffer almost full: moved in the file");
  ok(round_trip(40000, 3000, "DKIM-Signature: v=1;\n b=abc\n", NULL), "over 16 KiB");
  ok(round_trip(99000, 20000, "X-A: 1\n", "X-B: 22\n"), "over 64 KiB, pieces larger than the buffer");
  memset(big, 'h', sizeof big - 1);
  big[sizeof big - 2] = '\n';
  ok(round_trip(5000, 500, big, NULL), "an insertion larger than the buffer");

  ok(splice_trip(100, 30, "X-New: 1\n"), "splice: a shorter head, small message");
  ok(splice_trip(50000, 20000, "X-New: 1\n"), "splice: a shorter head, the body moves down");
  ok(splice_trip(50000, 3, "X-New: 1\nX-Two: 2\n"), "splice: a longer head, the body moves up");
  ok(splice_trip(40000, 9, "X-Same: \n"), "splice: a head of the same length");
  ok(splice_trip(30000, 30000, ""), "splice: everything cut");
  ok(splice_trip(0, 0, "X-A: 1\n"), "splice: into an empty message");
  ok(queue_open(&w) == 0 && queue_put(&w, "m\n", 2) == 0 && queue_splice(&w, 3, "", 0) == -1 &&
     errno == EINVAL, "splice: a cut past the message refused");
  queue_abort(&w);
  ok(queue_open(&w) == 0 && queue_put(&w, "m\n", 2) == 0 && queue_envelope(&w, "Fa\0", 3) == 0 &&
     queue_insert(&w, "X: 1\n", 5) == -1 && errno == EINVAL, "refused after the envelope");
  queue_abort(&w);
  w.fd = -1;
  ok(queue_insert(&w, "X: 1\n", 5) == -1 && errno == EINVAL, "refused without a file");
  tmpdir_remove();
  return done_testing();
}
