/*
 * qstats_report: qstats' report of the totals that qstats.c read from the
 * logs (qstats.h), on fd 1: the text report like sendmail's mailstats
 * (report_text: one row per mailer, the total, what was queued, the
 * deferrals by the outbound TLS policy, the authentication verdicts), or
 * with -H one self-contained HTML page (report_html: the title, a chart
 * of the messages queued and delivered by hour of the day as inline SVG,
 * nothing fetched from elsewhere, then report_text's text as a table and
 * paragraphs). A write that fails is fatal: exit 111.
 */
#include <string.h>
#include <time.h>

#include <buffer.h>
#include <fmt.h>
#include <stralloc.h>

#include "ctl.h"
#include "datefmt.h"
#include "qlog.h"
#include "qstats.h"

static void out(const char *s, size_t len)
{
  if (buffer_put(buffer_1, s, len) == -1) qdie_sys(111, "unable to write output");
}

static void outs(const char *s)
{
  out(s, strlen(s));
}

/* A number right-aligned in width columns, after one blank. */
static void outcol(unsigned long long n, size_t width)
{
  char num[FMT_ULONG];
  size_t len = fmt_ulonglong(num, n);

  out(" ", 1);
  while (width-- > len) out(" ", 1);
  out(num, len);
}

static void outtime(unsigned long long t)
{
  char buf[DATETIME_MAX];

  out(buf, datetime_fmt(buf, (time_t)t));
}

static void outrow(const char *name, const struct mailer_stats *m)
{
  outs(name);
  outcol(m->msgs_from, 8);
  outcol(m->bytes_from, 12);
  outcol(m->msgs_to, 8);
  outcol(m->bytes_to, 12);
  outcol(m->deferred, 8);
  outcol(m->failed, 8);
  outcol(m->rejected, 8);
  outcol(m->discarded, 9);
  outs("\n");
}

void report_text(void)
{
  struct mailer_stats sum = {0};
  struct mailer_stats *local = &totals.stats[M_LOCAL];
  int k;

  /* queued by other means than SMTP: by difference; bounces and the
   * copies of aliases and .forward files are no mail received */
  if (totals.queued_msgs >
      totals.stats[M_ESMTP].msgs_from + totals.bounce_msgs + totals.copy_msgs)
    local->msgs_from = totals.queued_msgs - totals.stats[M_ESMTP].msgs_from -
                       totals.bounce_msgs - totals.copy_msgs;
  if (totals.queued_bytes >
      totals.stats[M_ESMTP].bytes_from + totals.bounce_bytes + totals.copy_bytes)
    local->bytes_from = totals.queued_bytes - totals.stats[M_ESMTP].bytes_from -
                        totals.bounce_bytes - totals.copy_bytes;
  for (k = 0; k < M_COUNT; k++) {
    sum.msgs_from += totals.stats[k].msgs_from;
    sum.bytes_from += totals.stats[k].bytes_from;
    sum.msgs_to += totals.stats[k].msgs_to;
    sum.bytes_to += totals.stats[k].bytes_to;
    sum.deferred += totals.stats[k].deferred;
    sum.failed += totals.stats[k].failed;
    sum.rejected += totals.stats[k].rejected;
    sum.discarded += totals.stats[k].discarded;
  }

  outs("Statistics from ");
  if (totals.first_time != 0) {
    outtime(totals.first_time);
    outs(" to ");
    outtime(totals.last_time);
  } else {
    outs("the logs");
  }
  outs("\n");
  outs("mailer  msgsfr   bytes_from   msgsto     bytes_to deferred  bounced rejected discarded\n");
  outrow("local ", &totals.stats[M_LOCAL]);
  outrow("esmtp ", &totals.stats[M_ESMTP]);
  outs("======================================================================================\n");
  outrow("total ", &sum);
  outs("queued ");
  {
    char num[FMT_ULONG];
    out(num, fmt_ulonglong(num, totals.queued_msgs));
    outs(" messages (");
    out(num, fmt_ulonglong(num, totals.queued_bytes));
    outs(" bytes), of them ");
    out(num, fmt_ulonglong(num, totals.bounce_msgs));
    outs(" bounces made here");
    if (totals.copy_msgs > 0) {
      outs(" and ");
      out(num, fmt_ulonglong(num, totals.copy_msgs));
      outs(totals.copy_msgs == 1 ? " copy" : " copies");
      outs(" made by aliases and .forward files");
    }
    outs("\n");
  }
  if (totals.tls_deferred > 0) {
    char num[FMT_ULONG];
    outs("deferred by the outbound TLS policy (DANE, MTA-STS, tlspolicy): ");
    out(num, fmt_ulonglong(num, totals.tls_deferred));
    outs("\n");
  }
  if (!totals.auth_seen) return;
  outs("authentication (messages by verdict)\n");
  for (size_t m = 0; m < AUTH_METHODS; m++) {
    int any = 0;

    for (size_t w = 0; w < AUTH_WORDS; w++) {
      char num[FMT_ULONG];

      if (totals.auth_counts[m][w] == 0) continue;
      outs(any ? " " : qstats_auth_methods[m]);
      if (!any) outs(":");
      outs(any ? "" : " ");
      outs(qstats_auth_words[w]);
      outs("=");
      out(num, fmt_ulonglong(num, totals.auth_counts[m][w]));
      any = 1;
    }
    if (any) outs("\n");
  }
}

/* ---- -H: the report as one HTML page ---- */

/* s (len bytes) with & < > " ' escaped */
static void html_text(const char *s, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++) {
    switch (s[i]) {
      case '&': outs("&amp;"); break;
      case '<': outs("&lt;"); break;
      case '>': outs("&gt;"); break;
      case '"': outs("&quot;"); break;
      case '\'': outs("&#39;"); break;
      default: out(s + i, 1);
    }
  }
}

static void html_num(unsigned long long n)
{
  char num[FMT_ULONG];
  out(num, fmt_ulonglong(num, n));
}

/* report_text()'s text, caught by a buffer op in place of the output */
static stralloc html_captured;

static ssize_t html_capture(int fd, char *buf, size_t len, void *cookie)
{
  (void)fd;
  (void)cookie;
  if (!stralloc_catb(&html_captured, buf, len)) qdie_nomem();
  return (ssize_t)len;
}

/* The chart: for each hour two bars (queued, delivered), scaled to the
 * largest; each bar carries its figure as a tooltip and data-hour. */
static void html_chart(void)
{
  static const char *const kind[2] = {"queued", "delivered"};
  unsigned long long top = 1;
  int h;
  int k;

  for (h = 0; h < 24; h++) {
    if (totals.hour_in[h] > top) top = totals.hour_in[h];
    if (totals.hour_out[h] > top) top = totals.hour_out[h];
  }
  outs("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"240\" "
       "viewBox=\"0 0 760 240\" role=\"img\" aria-label=\"messages by hour\">\n");
  outs("<line x1=\"30\" y1=\"200\" x2=\"750\" y2=\"200\" stroke=\"#444\"/>\n");
  outs("<text x=\"30\" y=\"14\" font-size=\"11\">most in one hour: ");
  html_num(top);
  outs("</text>\n");
  for (h = 0; h < 24; h++) {
    for (k = 0; k < 2; k++) {
      unsigned long long n = k == 0 ? totals.hour_in[h] : totals.hour_out[h];
      unsigned long long height = n * 170 / top;

      outs("<rect class=\"");
      outs(kind[k]);
      outs("\" data-hour=\"");
      html_num((unsigned long long)h);
      outs("\" x=\"");
      html_num(32 + (unsigned long long)h * 30 + (unsigned long long)k * 13);
      outs("\" y=\"");
      html_num(200 - height);
      outs("\" width=\"12\" height=\"");
      html_num(height);
      outs(k == 0 ? "\" fill=\"#4a7ab5\"><title>" : "\" fill=\"#5aa55a\"><title>");
      html_num((unsigned long long)h);
      outs(":00 ");
      outs(kind[k]);
      outs(" ");
      html_num(n);
      outs("</title></rect>\n");
    }
    outs("<text x=\"");
    html_num(38 + (unsigned long long)h * 30);
    outs("\" y=\"215\" font-size=\"10\" text-anchor=\"middle\">");
    html_num((unsigned long long)h);
    outs("</text>\n");
  }
  outs("<rect x=\"560\" y=\"225\" width=\"10\" height=\"10\" fill=\"#4a7ab5\"/>"
       "<text x=\"574\" y=\"234\" font-size=\"11\">queued</text>\n"
       "<rect x=\"640\" y=\"225\" width=\"10\" height=\"10\" fill=\"#5aa55a\"/>"
       "<text x=\"654\" y=\"234\" font-size=\"11\">delivered</text>\n</svg>\n");
}

/* One line of report_text()'s text: a row of blank-separated cells, the
 * first line of a table its header (th). */
static void html_row(const char *s, size_t len, int header)
{
  size_t i = 0;

  outs("<tr>");
  while (i < len) {
    size_t start;

    while (i < len && s[i] == ' ') i++;
    if (i == len) break;
    start = i;
    while (i < len && s[i] != ' ') i++;
    outs(header ? "<th>" : "<td>");
    html_text(s + start, i - start);
    outs(header ? "</th>" : "</td>");
  }
  outs("</tr>\n");
}

/* The page: the title (control/me), the chart, then report_text()'s text:
 * its table as a table, its other lines as paragraphs. */
void report_html(void)
{
  stralloc *text = &html_captured;
  stralloc me = {0};
  char space[4096];
  buffer capture;
  buffer *saved = buffer_1;
  size_t pos = 0;
  int in_table = 0;

  buffer_init(&capture, html_capture, -1, space, sizeof space);
  buffer_1 = &capture;
  report_text();
  if (buffer_flush(&capture) == -1) qdie_nomem();
  buffer_1 = saved;
  if (ctl_readline(&me, "control/me", "qmta") == -1) qwarn_sys("unable to read control/me");

  outs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Mail report: ");
  html_text(me.s, me.len);
  outs("</title>\n<style>\nbody{font-family:sans-serif;margin:2em}"
       "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 8px;"
       "text-align:right}th{background:#eee}\n</style>\n</head>\n<body>\n<h1>Mail report: ");
  html_text(me.s, me.len);
  outs("</h1>\n<h2>Traffic by hour of the day</h2>\n");
  html_chart();
  outs("<h2>Statistics</h2>\n");
  while (pos < text->len) {
    const char *line = text->s + pos;
    const char *end = memchr(line, '\n', text->len - pos);
    size_t len = end != NULL ? (size_t)(end - line) : text->len - pos;
    int row = len > 0 && line[0] != '=' && memchr(line, ' ', len) != NULL &&
              (qstats_starts(line, len, "mailer ") || qstats_starts(line, len, "local ") ||
               qstats_starts(line, len, "esmtp ") || qstats_starts(line, len, "total "));

    pos += len + 1;
    if (len > 0 && line[0] == '=') continue; /* the rule above the total */
    if (row && !in_table) outs("<table>\n");
    if (!row && in_table) outs("</table>\n");
    if (row) html_row(line, len, !in_table);
    in_table = row;
    if (!row && len > 0) {
      outs("<p>");
      html_text(line, len);
      outs("</p>\n");
    }
  }
  if (in_table) outs("</table>\n");
  outs("</body>\n</html>\n");
  stralloc_free(text);
  stralloc_free(&me);
}

