/*
 * fuzz_dmarc: libFuzzer target for the parsers of lib/dmarc and
 * lib/authres that read input from outside: dmarc_record_parse (a TXT
 * record), dmarc_from_domain (a message's header) and authres_is_ours (an
 * Authentication-Results field), and the writer fed with the input as
 * values. The first byte chooses. Checks beyond the sanitizers: results
 * in their documented ranges, a From domain lower case, of [a-z0-9._-]
 * without empty labels, NUL-terminated within its buffer; a header written
 * has lines under AUTHRES_FOLD bytes (values up to 24 bytes) and no
 * control byte but its folding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "dmarc.h"

static void check_record(const char *txt)
{
  struct dmarc_record r;
  int res = dmarc_record_parse(txt, &r);

  if (res != 0 && res != 1) abort();
  if (res == 1) {
    if (r.p < DMARC_P_UNSET || r.p > DMARC_P_REJECT) abort();
    if (r.sp < DMARC_P_UNSET || r.sp > DMARC_P_REJECT) abort();
    if (r.np < DMARC_P_UNSET || r.np > DMARC_P_REJECT) abort();
    if (r.psd < DMARC_PSD_U || r.psd > DMARC_PSD_N) abort();
  }
}

static void check_from(const char *msg, size_t len)
{
  char dom[64];
  int r = dmarc_from_domain(msg, len, dom, sizeof dom);

  if (r == -1 || r == -2) return;
  if (r <= 0 || (size_t)r >= sizeof dom || strlen(dom) != (size_t)r) abort();
  if (dom[0] == '.' || dom[r - 1] == '.' || strstr(dom, "..") != NULL) abort();
  for (int i = 0; i < r; i++) {
    char c = dom[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      abort();
  }
}

static void check_write(const char *s, size_t len)
{
  char buf[AUTHRES_MAX];
  char value[25]; /* short enough that no item needs a line of its own */
  struct authres b;
  long n;
  size_t col = 0;

  if (len >= sizeof value) len = sizeof value - 1;
  memcpy(value, s, len);
  value[len] = '\0';
  authres_start(&b, buf, sizeof buf, "mx.example.net");
  authres_add(&b, "spf", "pass", "smtp.mailfrom", value);
  authres_method(&b, "dkim", "fail", value);
  authres_comment(&b, value);
  authres_prop(&b, "header.d", value);
  n = authres_end(&b);
  if (n < 0) return; /* a value with a NUL inside is cut there, never refused */
  if ((size_t)n != strlen(buf)) abort();
  for (long i = 0; i < n; i++) {
    unsigned char c = (unsigned char)buf[i];
    if (c == '\n') {
      if (i + 1 < n && buf[i + 1] != '\t') abort(); /* every new line is folding */
      col = 0;
      continue;
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) abort();
    if (++col >= AUTHRES_FOLD) abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s;

  if (size < 1) return 0;
  s = malloc(size);
  if (s == NULL) return 0;
  memcpy(s, data + 1, size - 1);
  s[size - 1] = '\0';
  switch (data[0] % 4) {
    case 0: check_record(s); break;
    case 1: check_from(s, size - 1); break;
    case 2: {
      int r = authres_is_ours(s, size - 1, "mx.example.net");
      if (r != 0 && r != 1) abort();
      break;
    }
    case 3: check_write(s, size - 1); break;
  }
  free(s);
  return 0;
}
