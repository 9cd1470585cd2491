/*
 * qmetrics_expo: the exposition, Prometheus' text format 0.0.4: for each
 * family "# HELP", "# TYPE", then its samples; counters end in _total;
 * the latency histogram has cumulative _bucket{le="..."} samples ending
 * in le="+Inf" (equal to _count), _sum in seconds and _count. Label
 * values are listener names (name_ok: nothing to escape) and fixed words.
 */
#include <string.h>

#include <fmt.h>

#include "qlog.h"
#include "qmetrics.h"

#define LATENCY "qmta_delivery_latency_seconds"

static stralloc *expo_out;
static const char *expo_name;

void cat(stralloc *sa, const char *s)
{
  if (!stralloc_cats(sa, s)) qdie_nomem();
}

void catnum(stralloc *sa, unsigned long long n)
{
  char num[FMT_ULONG];

  if (!stralloc_catb(sa, num, fmt_ulonglong(num, n))) qdie_nomem();
}

/* microseconds as seconds with up to 6 decimals: "0.25", "3600", "1.000001" */
static void catsec(stralloc *sa, unsigned long long us)
{
  char frac[7];
  int i;
  int last = -1;

  catnum(sa, us / 1000000ULL);
  us %= 1000000ULL;
  for (i = 5; i >= 0; i--) {
    frac[i] = (char)('0' + us % 10);
    us /= 10;
    if (last < 0 && frac[i] != '0') last = i;
  }
  if (last < 0) return;
  frac[last + 1] = '\0';
  cat(sa, ".");
  cat(sa, frac);
}

static void one(const char *labels, unsigned long long value)
{
  cat(expo_out, expo_name);
  if (labels[0] != '\0') {
    cat(expo_out, "{");
    cat(expo_out, labels);
    cat(expo_out, "}");
  }
  cat(expo_out, " ");
  catnum(expo_out, value);
  cat(expo_out, "\n");
}

static void bucket(const char *class, const char *le, unsigned long long n)
{
  cat(expo_out, LATENCY "_bucket{class=\"");
  cat(expo_out, class);
  cat(expo_out, "\",le=\"");
  cat(expo_out, le);
  cat(expo_out, "\"} ");
  catnum(expo_out, n);
  cat(expo_out, "\n");
}

static void histogram_print(void)
{
  int c;

  cat(expo_out, "# HELP " LATENCY
      " Time from arrival (the queue id's time) to delivery, by destination class.\n");
  cat(expo_out, "# TYPE " LATENCY " histogram\n");
  for (c = 0; c < C_COUNT; c++) {
    const struct histogram *h = &latency[c];
    unsigned long long sum = 0;
    size_t i;

    for (i = 0; i < BUCKETS; i++) {
      stralloc le = {0};

      sum += h->bucket[i];
      catsec(&le, bucket_us[i]);
      if (!stralloc_0(&le)) qdie_nomem();
      bucket(class_names[c], le.s, sum);
      stralloc_free(&le);
    }
    bucket(class_names[c], "+Inf", h->count);
    cat(expo_out, LATENCY "_sum{class=\"");
    cat(expo_out, class_names[c]);
    cat(expo_out, "\"} ");
    catsec(expo_out, h->sum_us);
    cat(expo_out, "\n" LATENCY "_count{class=\"");
    cat(expo_out, class_names[c]);
    cat(expo_out, "\"} ");
    catnum(expo_out, h->count);
    cat(expo_out, "\n");
  }
}

void expo_build(stralloc *out)
{
  int f;

  out->len = 0;
  expo_out = out;
  for (f = 0; f < F_COUNT; f++) {
    expo_name = families[f].name;
    cat(out, "# HELP ");
    cat(out, expo_name);
    cat(out, " ");
    cat(out, families[f].help);
    cat(out, "\n# TYPE ");
    cat(out, expo_name);
    cat(out, " counter\n");
    counter_each((enum family)f, one);
  }
  histogram_print();
  gauge_print(out);
}
