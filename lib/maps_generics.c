/*
 * maps_generics: control/generics -> control/generics.cdb.
 *
 *   key <blanks> new-address      (sendmail's genericstable)
 * key: "user" (that user on every local host name) or "user@host",
 * lowercased. new-address: "user@domain", kept as written. The value is
 * the new address, without a NUL.
 */
#include <errno.h>
#include <string.h>

#include "maps.h"

static int blank(char c) { return c == ' ' || c == '\t'; }

int maps_generics(void)
{
  struct maps_src src;
  struct cdbmap_writer w;
  struct maps_keyset seen = {0};
  char line[MAPS_LINE_MAX];
  size_t len;
  int r;
  int e;

  r = maps_open(&src, GENERICS_TEXT);
  if (r != 1) return r;
  if (maps_writer_start(&w, GENERICS_CDB, 0644) == -1) {
    e = errno;
    maps_close(&src);
    errno = e;
    return -1;
  }

  while ((r = maps_line(&src, line, sizeof line, &len)) == 1) {
    size_t i = 0;
    size_t kstart;
    size_t klen;
    size_t vstart;
    size_t vlen;
    const char *at;

    while (i < len && blank(line[i])) i++;
    if (i == len || line[i] == '#') continue;
    kstart = i;
    while (i < len && !blank(line[i])) i++;
    klen = i - kstart;
    while (i < len && blank(line[i])) i++;
    vstart = i;
    while (i < len && !blank(line[i])) i++;
    vlen = i - vstart;
    while (i < len && blank(line[i])) i++;
    if (vlen == 0 || i < len) {
      maps_error(&src, "want: key new-address", NULL);
      continue;
    }
    maps_lower(line + kstart, klen);
    at = memrchr(line + kstart, '@', klen);
    if (at == NULL ? !maps_islocal(line + kstart, klen)
                   : (at == line + kstart || !maps_islocal(line + kstart, (size_t)(at - line - kstart)) ||
                      !maps_isdomain(at + 1, klen - (size_t)(at - line - kstart) - 1))) {
      maps_error(&src, "bad key (user or user@host)", NULL);
      continue;
    }
    at = memrchr(line + vstart, '@', vlen);
    if (at == NULL || at == line + vstart ||
        !maps_islocal(line + vstart, (size_t)(at - line - vstart)) ||
        !maps_isdomain(at + 1, vlen - (size_t)(at - line - vstart) - 1)) {
      maps_error(&src, "bad new address (user@domain)", NULL);
      continue;
    }
    r = maps_keyset_add(&seen, line + kstart, klen);
    if (r == -1) goto nomem;
    if (r == 0) {
      line[kstart + klen] = '\0';
      maps_error(&src, "duplicate key ", line + kstart);
      continue;
    }
    if (src.errors == 0 && cdbmap_add(&w, line + kstart, klen, line + vstart, vlen) == -1) goto fail;
  }
  if (r == -1) goto fail;
  maps_close(&src);
  maps_keyset_free(&seen);
  if (src.errors > 0) {
    cdbmap_abort(&w);
    return 1;
  }
  return cdbmap_finish(&w);

nomem:
  errno = ENOMEM;
fail:
  e = errno;
  cdbmap_abort(&w);
  maps_close(&src);
  maps_keyset_free(&seen);
  errno = e;
  return -1;
}
