/*
 * qlocal_report: the outcome of one delivery, as the delivery functions
 * return it (struct qlocal_result in qlocal.h): an exit code (0
 * delivered, 100 permanent failure, 111 temporary failure) and one line
 * for the delivery report, at most REPORT_LINE_MAX bytes, control bytes
 * replaced by '?'. report_write puts the line on fd 1 for qlspawn.
 */
#include <errno.h>
#include <string.h>

#include "durable.h"
#include "qlocal.h"

/* Sets res from the n parts, cut at REPORT_LINE_MAX; returns code. */
static int report_parts(struct qlocal_result *res, int code, const char *const *parts, int n)
{
  size_t len = 0;
  size_t j;
  int i;

  for (i = 0; i < n; i++) {
    size_t k;
    if (parts[i] == NULL) continue;
    k = strlen(parts[i]);
    if (k > REPORT_LINE_MAX - len) k = REPORT_LINE_MAX - len;
    memcpy(res->line + len, parts[i], k);
    len += k;
  }
  for (j = 0; j < len; j++)
    if ((unsigned char)res->line[j] < 32) res->line[j] = '?';
  res->line[len] = '\0';
  res->len = len;
  res->code = code;
  res->expanded = 0;
  return code;
}

int report(struct qlocal_result *res, int code, const char *s1, const char *s2, const char *s3)
{
  const char *parts[3];

  parts[0] = s1;
  parts[1] = s2;
  parts[2] = s3;
  return report_parts(res, code, parts, 3);
}

int report_sys(struct qlocal_result *res, int code, const char *what, const char *obj)
{
  const char *parts[4];

  parts[0] = what;
  parts[1] = obj;
  parts[2] = ": ";
  parts[3] = strerror(errno);
  return report_parts(res, code, parts, 4);
}

int report_write(const struct qlocal_result *res)
{
  char line[REPORT_LINE_MAX + 1];

  memcpy(line, res->line, res->len);
  line[res->len] = '\n';
  durable_writeall(1, line, res->len + 1);
  return res->code;
}
