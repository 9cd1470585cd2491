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

/* One line: "key new-address", or a comment, or blank. */
static int generics_line(struct maps_job *job, char *line, size_t len)
{
  size_t i = 0;
  size_t kstart;
  size_t klen;
  size_t vstart;
  size_t vlen;
  const char *at;
  int r;

  while (i < len && blank(line[i])) i++;
  if (i == len || line[i] == '#') return 0;
  kstart = i;
  while (i < len && !blank(line[i])) i++;
  klen = i - kstart;
  while (i < len && blank(line[i])) i++;
  vstart = i;
  while (i < len && !blank(line[i])) i++;
  vlen = i - vstart;
  while (i < len && blank(line[i])) i++;
  if (vlen == 0 || i < len) {
    maps_error(&job->src, "want: key new-address", NULL);
    return 0;
  }
  maps_lower(line + kstart, klen);
  at = memrchr(line + kstart, '@', klen);
  if (at == NULL ? !maps_islocal(line + kstart, klen)
                 : (at == line + kstart || !maps_islocal(line + kstart, (size_t)(at - line - kstart)) ||
                    !maps_isdomain(at + 1, klen - (size_t)(at - line - kstart) - 1))) {
    maps_error(&job->src, "bad key (user or user@host)", NULL);
    return 0;
  }
  at = memrchr(line + vstart, '@', vlen);
  if (at == NULL || at == line + vstart ||
      !maps_islocal(line + vstart, (size_t)(at - line - vstart)) ||
      !maps_isdomain(at + 1, vlen - (size_t)(at - line - vstart) - 1)) {
    maps_error(&job->src, "bad new address (user@domain)", NULL);
    return 0;
  }
  r = maps_keyset_add(&job->seen, line + kstart, klen);
  if (r == -1) {
    errno = ENOMEM;
    return -1;
  }
  if (r == 0) {
    line[kstart + klen] = '\0';
    maps_error(&job->src, "duplicate key ", line + kstart);
    return 0;
  }
  if (job->src.errors > 0) return 0;
  return cdbmap_add(&job->w, line + kstart, klen, line + vstart, vlen);
}

static const struct maps_parser generics = {
  .text = GENERICS_TEXT, .cdb = GENERICS_CDB, .line = generics_line,
};

int maps_generics(void)
{
  return maps_run(&generics, NULL);
}
