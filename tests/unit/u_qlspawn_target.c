/* tests/unit/u_qlspawn_target.c: the LMTP servers mailboxes name. */
#include <string.h>

#include "tap.h"
#include "qlspawn.h"

int main(void)
{
  struct lmtp_target t;
  char longpath[200];

  plan(14);
  ok(lmtp_target_parse(&t, "lmtp:unix:/run/dovecot/lmtp") == 0 && t.unix_socket &&
         strcmp(t.path, "/run/dovecot/lmtp") == 0,
     "unix socket");
  ok(lmtp_target_parse(&t, "lmtp:unix:run/lmtp") == -1, "relative socket path refused");
  memset(longpath, 'a', sizeof longpath - 1);
  longpath[0] = '/';
  longpath[sizeof longpath - 1] = '\0';
  {
    char s[sizeof longpath + 16] = "lmtp:unix:";
    strcat(s, longpath);
    ok(lmtp_target_parse(&t, s) == -1, "socket path longer than sun_path refused");
  }
  ok(lmtp_target_parse(&t, "lmtp:10.0.0.5:24") == 0 && !t.unix_socket &&
         strcmp(t.host, "10.0.0.5") == 0 && t.port == 24,
     "IPv4 address and port");
  ok(lmtp_target_parse(&t, "lmtp:mail.example.org:2424") == 0 &&
         strcmp(t.host, "mail.example.org") == 0 && t.port == 2424,
     "host name and port");
  ok(lmtp_target_parse(&t, "lmtp:[::1]:24") == 0 && strcmp(t.host, "::1") == 0 && t.port == 24,
     "IPv6 address in brackets");
  ok(lmtp_target_parse(&t, "lmtp:::1:24") == -1, "IPv6 address without brackets refused");
  ok(lmtp_target_parse(&t, "lmtp:[::1]24") == -1, "no colon after the bracket refused");
  ok(lmtp_target_parse(&t, "lmtp:host") == -1, "no port refused");
  ok(lmtp_target_parse(&t, "lmtp:host:") == -1, "empty port refused");
  ok(lmtp_target_parse(&t, "lmtp:host:65536") == -1, "port out of range refused");
  ok(lmtp_target_parse(&t, "lmtp:host:24x") == -1, "port with junk refused");
  ok(lmtp_target_parse(&t, "lmtp::24") == -1, "empty host refused");
  ok(lmtp_target_parse(&t, "mail/example.org/ann/") == -1, "a Maildir is no LMTP server");
  return done_testing();
}
