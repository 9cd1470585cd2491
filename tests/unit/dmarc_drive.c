/*
 * dmarc_drive: tests/69-dmarc.t's driver for lib/dmarc and lib/authres
 * (libc and lib/dnsq only). Reads the message file, takes the SPF and DKIM
 * verdicts from the command line, evaluates DMARC with the DNS servers of
 * control/resolvers (relative to the working directory) and prints
 *   RESULT POLICY FROMDOMAIN POLICYDOMAIN     ("-" for an empty field)
 * then the Authentication-Results header made of it all.
 * Exit: 0 done, 100 usage, 111 the message cannot be read.
 *
 *   dmarc_drive.bin [-i authservid] [-s DOMAIN:RESULT] [-d DOMAIN:RESULT]... FILE
 * RESULT: pass, fail, temperror (any other word counts as no pass); -s is
 * the SPF result for the MAIL FROM domain, each -d one DKIM signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authres.h"
#include "dmarc.h"
#include "dnsq.h"

#define USAGE "dmarc_drive.bin [-i authservid] [-s DOMAIN:RESULT] [-d DOMAIN:RESULT]... FILE"
#define MSG_MAX (1024 * 1024) /* bytes of the message read */
#define DKIM_MAX 8            /* -d options */

static void usage(void)
{
  fputs("dmarc_drive: usage: " USAGE "\n", stderr);
  exit(100);
}

/* "domain:result" split in place */
static void split(char *arg, const char **domain, const char **result)
{
  char *colon = strrchr(arg, ':');
  if (colon == NULL || colon == arg) usage();
  *colon = '\0';
  *domain = arg;
  *result = colon + 1;
}

int main(int argc, char **argv)
{
  static char msg[MSG_MAX];
  const char *authservid = "mx.test";
  const char *spf_result = NULL;
  const char *dkim_result[DKIM_MAX];
  struct dmarc_auth dkim[DKIM_MAX];
  struct dmarc_in in;
  struct dmarc_out out;
  char from[DMARC_DOMAIN_MAX + 1];
  char hdr[AUTHRES_MAX];
  struct authres b;
  size_t len;
  FILE *f;
  int opt;
  int r;

  memset(&in, 0, sizeof in);
  in.dkim = dkim;
  while ((opt = getopt(argc, argv, "i:s:d:")) != -1) {
    switch (opt) {
      case 'i': authservid = optarg; break;
      case 's': split(optarg, &in.spf.domain, &spf_result); break;
      case 'd':
        if (in.ndkim == DKIM_MAX) usage();
        split(optarg, &dkim[in.ndkim].domain, &dkim_result[in.ndkim]);
        in.ndkim++;
        break;
      default: usage();
    }
  }
  if (optind != argc - 1) usage();

  f = fopen(argv[optind], "rb");
  if (f == NULL) {
    perror("dmarc_drive: fatal: unable to open the message");
    return 111;
  }
  len = fread(msg, 1, sizeof msg, f);
  if (ferror(f)) {
    perror("dmarc_drive: fatal: unable to read the message");
    return 111;
  }
  fclose(f);

  if (spf_result != NULL) {
    in.spf.pass = strcmp(spf_result, "pass") == 0;
    in.spf_temperror = strcmp(spf_result, "temperror") == 0;
  }
  for (int i = 0; i < in.ndkim; i++) {
    dkim[i].pass = strcmp(dkim_result[i], "pass") == 0;
    if (strcmp(dkim_result[i], "temperror") == 0) in.dkim_temperror = 1;
  }

  dnsq_settimeout(500, 1);
  r = dmarc_from_domain(msg, len, from, sizeof from);
  if (r > 0) {
    in.from_domain = from;
    dmarc_eval(&in, &out, NULL);
  } else {
    memset(&out, 0, sizeof out);
    out.result = r == -1 ? DMARC_NONE : DMARC_PERMERROR;
  }
  printf("%s %s %s %s\n", dmarc_result_name(out.result),
         out.policy_domain[0] != '\0' ? dmarc_policy_name(out.policy) : "-",
         out.domain[0] != '\0' ? out.domain : "-",
         out.policy_domain[0] != '\0' ? out.policy_domain : "-");

  authres_start(&b, hdr, sizeof hdr, authservid);
  if (in.spf.domain != NULL) authres_add(&b, "spf", spf_result, "smtp.mailfrom", in.spf.domain);
  for (int i = 0; i < in.ndkim; i++)
    authres_add(&b, "dkim", dkim_result[i], "header.d", dkim[i].domain);
  authres_dmarc(&b, &out, NULL);
  if (authres_end(&b) < 0) {
    fputs("dmarc_drive: fatal: the header does not fit\n", stderr);
    return 111;
  }
  fputs(hdr, stdout);
  return fflush(stdout) == 0 ? 0 : 111;
}
