/*
 * qspf: evaluates SPF (RFC 7208) for one client from the command line, or
 * for many, one a line, on standard input (-b).
 *   qspf [-t ms] [-r receiver] [-e text] IP SENDER HELO
 *     prints the result ("pass", "fail", ...) and, for a fail, a second
 *     line with the explanation (the domain's exp=, else -e's text).
 *   qspf -b [-t ms] [-r receiver] [-e text]
 *     reads "IP<TAB>SENDER<TAB>HELO" lines (SENDER may be empty), prints
 *     "RESULT<TAB>EXPLANATION" for each, the DNS cache emptied in between.
 * Run by anybody; with QHOME set it reads QHOME/control/resolvers (dnsq.h).
 * Exit: 0 evaluated (whatever the result), 100 usage or a bad address,
 * 111 a system error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsq.h"
#include "qlog.h"
#include "spf.h"

#define USAGE "qspf [-t ms] [-r receiver] [-e text] IP SENDER HELO | qspf -b [-t ms] ..."
#define LINE_MAX_BYTES 2048 /* one batch line */

static const char *receiver;
static const char *default_exp = "";

/* ip text into ip[16]: its length (4 or 16), 0 if invalid */
static size_t scan_ip(const char *s, unsigned char *ip)
{
  if (inet_pton(AF_INET, s, ip) == 1) return 4;
  if (inet_pton(AF_INET6, s, ip) == 1) return 16;
  return 0;
}

/* the result and explanation of one case; -1 if the address is invalid */
static int one(const char *ipt, const char *sender, const char *helo, const char **exp)
{
  static struct spf_ctx ctx;
  unsigned char ip[16];
  size_t iplen = scan_ip(ipt, ip);
  int r;

  if (iplen == 0) return -1;
  r = spf_check(&ctx, ip, iplen, sender, helo, receiver);
  *exp = ctx.exp[0] != 0 ? ctx.exp : default_exp;
  return r;
}

static int batch(void)
{
  char line[LINE_MAX_BYTES];

  while (fgets(line, sizeof line, stdin) != NULL) {
    size_t len = strlen(line);
    char *sender;
    char *helo;
    const char *exp = "";
    int r;

    if (len == 0 || line[len - 1] != '\n') qdie(100, "line too long or unterminated");
    line[len - 1] = 0;
    sender = strchr(line, '\t');
    helo = sender != NULL ? strchr(sender + 1, '\t') : NULL;
    if (helo == NULL) qdie(100, "a line is IP<TAB>SENDER<TAB>HELO");
    *sender++ = 0;
    *helo++ = 0;
    dnsq_cache_clear();
    r = one(line, sender, helo, &exp);
    if (r == -1) {
      printf("invalid\t\n");
    } else {
      printf("%s\t%s\n", spf_result_name(r), r == SPF_FAIL ? exp : "");
    }
    if (fflush(stdout) == EOF) qdie_sys(111, "unable to write output");
  }
  if (ferror(stdin)) qdie_sys(111, "unable to read input");
  return 0;
}

int main(int argc, char **argv)
{
  const char *qh = getenv("QHOME");
  int opt;
  int batch_mode = 0;
  const char *exp = "";
  int r;

  qlog_prog = "qspf";
  opterr = 0; /* our own one-line usage message, not getopt's */
  while ((opt = getopt(argc, argv, "bt:r:e:")) != -1) {
    switch (opt) {
      case 'b': batch_mode = 1; break;
      case 't': {
        char *end;
        unsigned long ms = strtoul(optarg, &end, 10);
        if (*optarg == 0 || *end != 0 || ms == 0 || ms > 60000) qdie_usage(USAGE);
        dnsq_settimeout((unsigned int)ms, 0);
        break;
      }
      case 'r': receiver = optarg; break;
      case 'e': default_exp = optarg; break;
      default: qdie_usage(USAGE);
    }
  }
  argc -= optind;
  argv += optind;
  if (qh != NULL && qh[0] != 0 && chdir(qh) == -1) qdie_sys(111, "unable to chdir to ", qh);
  if (batch_mode) {
    if (argc != 0) qdie_usage(USAGE);
    return batch();
  }
  if (argc != 3) qdie_usage(USAGE);
  r = one(argv[0], argv[1], argv[2], &exp);
  if (r == -1) qdie(100, "not an IP address: ", argv[0]);
  printf("%s\n", spf_result_name(r));
  if (r == SPF_FAIL) printf("%s\n", exp);
  if (fflush(stdout) == EOF) qdie_sys(111, "unable to write output");
  return 0;
}
