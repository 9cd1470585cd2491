/*
 * fuzz_env: libFuzzer target for the envelope qinject reads on fd 1, the
 * qmail-queue protocol (qinject/qinject_env.c env_read, env_addr_check,
 * env_value_ok), and for the queue records it writes, as qsend reads them
 * back (lib/queue_env_parse.c). The input is what a caller of qinject
 * writes: a sendmail, a qsmtpd, or any local user through the setgid copy.
 * Checks beyond the sanitizers: env_read answers one of its exit codes and
 * never runs out of memory on a small envelope; an envelope it accepts
 * becomes records that queue_env_parse takes, with the same recipients,
 * the arrival time given, and addresses that addr_set reads back unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <buffer.h>
#include <stralloc.h>

#include "addr.h"
#include "qinject_env.h"
#include "queue.h"

#define NOW 1700000000ULL

static void check_addr(const struct queue_env *e, size_t off, int null_ok)
{
  struct addr a;
  const char *s = queue_env_str(e, off);
  size_t len = strlen(s);

  if (off >= e->env.len || len >= e->env.len - off) abort();
  if (addr_set(&a, s, len) != 1 || a.len != len || memcmp(a.s, s, len) != 0) abort();
  if (a.null && !null_ok) abort();
}

static void check_value(const struct queue_env *e, size_t off, char tag)
{
  const char *s;

  if (off == (size_t)-1) return;
  if (off >= e->env.len) abort();
  s = queue_env_str(e, off);
  if (!env_value_ok(tag, s, strlen(s))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct queue_env e;
  buffer b;
  size_t count = 0;
  int code;

  if (size > 65536) return 0;
  buffer_frombuf(&b, (const char *)data, size);
  e.env.len = 0;
  code = env_read(&b, &e.env, NOW, &count);
  switch (code) {
    case QQ_OK: break;
    case QQ_ADDR_TOO_LONG:
    case QQ_READ:
    case QQ_ENVELOPE:
      if (count != 0) abort();
      return 0;
    default: abort(); /* QQ_NOMEM, QQ_TIMEOUT: not from a small envelope in memory */
  }

  if (queue_env_parse(&e) != 0) abort();
  if (e.rcpt_count != count || count == 0 || e.arrival != NOW) abort();
  check_addr(&e, e.sender, 1);
  check_value(&e, e.ret, 'V');
  check_value(&e, e.envid, 'X');
  for (size_t i = 0; i < e.rcpt_count; ++i) {
    check_addr(&e, e.rcpt[i].addr, 0);
    check_value(&e, e.rcpt[i].notify, 'N');
    check_value(&e, e.rcpt[i].orcpt, 'O');
  }
  return 0;
}
