/*
 * fuzz_queue: libFuzzer target for reading a queue file as qsend,
 * qlspawn and qremote do (lib/queue_env_read.c, queue_hdr_scan.c,
 * queue_env_parse.c): the header with the message length, then the
 * envelope records after the message. The input is the whole file, put
 * into a memory file (memfd) that queue_env_read reads with fstat and
 * pread. A queue file is written by our own code, but whoever can write
 * queue/ (the queue group) can plant one: its reader must not trust it.
 * Checks beyond the sanitizers: a header read back formats to the same 24
 * bytes; an envelope read has the length the file leaves for it; every
 * offset the parse gives points at a NUL-terminated value inside the
 * envelope; a sender is there and at most QUEUE_RCPT_MAX recipients.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "queue.h"

static int memfd = -1;

static void check_off(const struct queue_env *e, size_t off, int optional)
{
  if (off == (size_t)-1 && optional) return;
  if (off == 0 || off >= e->env.len) abort(); /* a value follows its tag */
  if (memchr(e->env.s + off, '\0', e->env.len - off) == NULL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct queue_env e;
  unsigned long long len;

  if (size > 65536) return 0;
  if (memfd == -1) {
    memfd = memfd_create("fuzz_queue", MFD_CLOEXEC);
    if (memfd == -1) abort();
  }
  if (size >= QUEUE_HDRLEN && queue_hdr_scan((const char *)data, &len) == 0) {
    char hdr[QUEUE_HDRLEN];

    queue_hdr_fmt(hdr, len);
    if (memcmp(hdr, data, QUEUE_HDRLEN) != 0) abort();
  }
  if (ftruncate(memfd, 0) == -1) abort();
  if (size > 0 && pwrite(memfd, data, size, 0) != (ssize_t)size) abort();

  if (queue_env_read(&e, memfd) == -1) return 0;
  if (e.msglen + QUEUE_HDRLEN + e.env.len != size) abort();
  check_off(&e, e.sender, 0);
  check_off(&e, e.ret, 1);
  check_off(&e, e.envid, 1);
  check_off(&e, e.qid, 1);
  check_off(&e, e.parent, 1);
  check_off(&e, e.quarantine, 1);
  {
    char id[QUEUE_ID_MAX];
    unsigned long long inode;
    size_t n = queue_env_id(&e, 4242, id);

    /* whatever the I record says, the id names this file (inode 4242) */
    if (n == 0 || n >= QUEUE_ID_MAX || strlen(id) != n) abort();
    if (queue_id_scan(id, &inode) == -1 || inode != 4242) abort();
  }
  if (e.rcpt_count > QUEUE_RCPT_MAX) abort();
  for (size_t i = 0; i < e.rcpt_count; ++i) {
    check_off(&e, e.rcpt[i].addr, 0);
    check_off(&e, e.rcpt[i].notify, 1);
    check_off(&e, e.rcpt[i].orcpt, 1);
  }
  return 0;
}
