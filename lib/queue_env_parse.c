/*
 * queue_env_parse: index the envelope records held in e->env (see
 * queue.h). Only the structure is checked here; see the header.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "queue.h"

static int env_bad(void)
{
  errno = EINVAL;
  return -1;
}

static int rcpt_add(struct queue_env *e, size_t off)
{
  if (e->rcpt_count >= QUEUE_RCPT_MAX) return env_bad();
  if (e->rcpt_count == e->rcpt_alloc) {
    size_t n = e->rcpt_alloc ? e->rcpt_alloc * 2 : 16;
    struct queue_rcpt *r;

    if (n > QUEUE_RCPT_MAX) n = QUEUE_RCPT_MAX;
    r = realloc(e->rcpt, n * sizeof *r);
    if (r == NULL) {
      errno = ENOMEM;
      return -1;
    }
    e->rcpt = r;
    e->rcpt_alloc = n;
  }
  e->rcpt[e->rcpt_count].addr = off;
  e->rcpt[e->rcpt_count].notify = (size_t)-1;
  e->rcpt[e->rcpt_count].orcpt = (size_t)-1;
  e->rcpt_count++;
  return 0;
}

int queue_env_parse(struct queue_env *e)
{
  const char *s = e->env.s;
  size_t len = e->env.len;
  size_t i = 0;
  int have_t = 0;
  int have_f = 0;

  e->arrival = 0;
  e->qid = (size_t)-1;
  e->parent = (size_t)-1;
  e->sender = (size_t)-1;
  e->ret = (size_t)-1;
  e->envid = (size_t)-1;
  e->quarantine = (size_t)-1;
  e->rcpt_count = 0;

  while (i < len) {
    const char *z = memchr(s + i, '\0', len - i);
    size_t rlen;
    size_t v = i + 1; /* offset of the value */

    if (z == NULL) return env_bad(); /* last record not terminated */
    rlen = (size_t)(z - (s + i));
    if (rlen == 0) {
      /* an empty record ends the envelope, and only at the very end */
      if (i + 1 != len) return env_bad();
      break;
    }
    if (rlen > QUEUE_FIELD_MAX) return env_bad();

    switch (s[i]) {
      case 'T': {
        unsigned long long t = 0;
        size_t k;

        if (have_t || rlen < 2 || rlen > 21) return env_bad();
        for (k = v; k < i + rlen; k++) {
          unsigned int d = (unsigned int)(unsigned char)s[k] - '0';
          if (d > 9 || t > (~0ULL - d) / 10) return env_bad();
          t = t * 10 + d;
        }
        e->arrival = t;
        have_t = 1;
        break;
      }
      case 'F':
        if (have_f) return env_bad();
        e->sender = v;
        have_f = 1;
        break;
      case 'I':
        if (e->qid != (size_t)-1) return env_bad();
        e->qid = v;
        break;
      case 'P':
        if (e->parent != (size_t)-1) return env_bad();
        e->parent = v;
        break;
      case 'V':
        e->ret = v;
        break;
      case 'X':
        e->envid = v;
        break;
      case 'Q':
        if (e->quarantine != (size_t)-1) return env_bad();
        e->quarantine = v;
        break;
      case 'R':
        if (rcpt_add(e, v) == -1) return -1;
        break;
      case 'N':
        if (e->rcpt_count == 0 || e->rcpt[e->rcpt_count - 1].notify != (size_t)-1)
          return env_bad();
        e->rcpt[e->rcpt_count - 1].notify = v;
        break;
      case 'O':
        if (e->rcpt_count == 0 || e->rcpt[e->rcpt_count - 1].orcpt != (size_t)-1)
          return env_bad();
        e->rcpt[e->rcpt_count - 1].orcpt = v;
        break;
      default:
        break; /* L and tags of later versions */
    }
    i += rlen + 1;
  }

  if (!have_f) return env_bad();
  return 0;
}
