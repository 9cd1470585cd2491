/* Unit tests of qsmtpd's policy helpers and the Received: field
 * (qsmtpd/qsmtpd_policy.c, qsmtpd/qsmtpd_received.c). */
#include <string.h>
#include <sys/wait.h>

#include <stralloc.h>

#include "tap.h"
#include "datefmt.h"
#include "qsmtpd.h"

#define PLAIN "Received: from unknown ([192.0.2.1])\n\tby mx.example.org (qmta qsmtpd) with SMTP;"

static char rbuf[ACCESS_REPLY_MAX];

static int act(const char *v, const char *def)
{
  rbuf[0] = '\0';
  return policy_access_action(v, strlen(v), def, rbuf, sizeof rbuf);
}

static int alias(const char *t)
{
  rbuf[0] = '\0';
  return policy_alias_error(t, strlen(t), rbuf, sizeof rbuf);
}

static int exited(int code)
{
  return code << 8; /* the wait status of a normal exit, as waitpid gives it */
}

int main(void)
{
  stralloc sa = { 0 };
  struct received_info ri;
  char date[40];

  plan(40);

  ok(act("OK", "550") == ACT_OK, "OK");
  ok(act(" relay ", "550") == ACT_RELAY, "RELAY, any case, blanks");
  ok(act("DISCARD", "550") == ACT_DISCARD, "DISCARD");
  ok(act("REJECT", "554") == ACT_REJECT && strcmp(rbuf, "554 5.7.1 access denied\r\n") == 0,
     "REJECT with the default code");
  ok(act("ERROR:5.7.1:550 go away", "554") == ACT_ERROR &&
       strcmp(rbuf, "550 5.7.1 go away\r\n") == 0,
     "ERROR:x.y.z:nnn text");
  ok(act("ERROR:451 try later", "554") == ACT_ERROR &&
       strcmp(rbuf, "451 4.7.1 try later\r\n") == 0,
     "ERROR:nnn text");
  ok(act("ERROR:\"550 5.7.0 quoted\"", "554") == ACT_ERROR &&
       strcmp(rbuf, "550 5.7.0 quoted\r\n") == 0,
     "ERROR:\"nnn x.y.z text\"");
  ok(act("ERROR:4.7.1:550 mixed", "554") == ACT_ERROR && strncmp(rbuf, "450 4.7.1", 9) == 0,
     "classes disagree: the enhanced code wins");
  ok(act("ERROR:", "550") == ACT_ERROR && strcmp(rbuf, "550 5.7.1 access denied\r\n") == 0,
     "ERROR without anything");
  ok(act("ERROR:550 bad\r\nRCPT", "550") == ACT_ERROR &&
       strchr(rbuf, '\r') == rbuf + strlen(rbuf) - 2,
     "control bytes cannot end the reply early");
  ok(act("FROBNICATE", "550") == ACT_NONE, "unknown action");
  ok(act("", "550") == ACT_NONE, "empty action");

  ok(alias("error:5.1.1 no such user") && strcmp(rbuf, "550 5.1.1 no such user\r\n") == 0,
     "alias error: target");
  ok(alias("error:4.2.2 mailbox full") && strcmp(rbuf, "450 4.2.2 mailbox full\r\n") == 0,
     "temporary alias error");
  ok(alias("ERROR:5.7.0:553 go away") && strcmp(rbuf, "553 5.7.0 go away\r\n") == 0,
     "sendmail form of the error target");
  ok(alias("error:nouser 550 No such user here") &&
     strcmp(rbuf, "550 5.1.1 No such user here\r\n") == 0,
     "sendmail's error mailer name: its status code");
  ok(alias("error:tempfail try later") && strcmp(rbuf, "450 4.0.0 try later\r\n") == 0,
     "a temporary name: 450");
  ok(alias("error:No such user") && strcmp(rbuf, "550 5.7.1 No such user\r\n") == 0,
     "a text alone");
  ok(alias("error:nobody here") && strcmp(rbuf, "550 5.7.1 nobody here\r\n") == 0,
     "a word that names no error mailer name is text");
  ok(!alias("bob@example.org"), "ordinary target");

  ok(strncmp(inject_reply(exited(0)), "250 2.0.0", 9) == 0, "qinject 0");
  ok(strncmp(inject_reply(exited(11)), "554 5.1.3", 9) == 0, "qinject 11");
  ok(strncmp(inject_reply(exited(31)), "554 5.3.0", 9) == 0, "qinject 31");
  ok(strncmp(inject_reply(exited(53)), "451 4.3.0", 9) == 0, "qinject 53");
  ok(strncmp(inject_reply(exited(91)), "554", 3) == 0, "qinject 91");
  ok(strncmp(inject_reply(exited(20)), "554", 3) == 0, "qinject 11..40 permanent");
  ok(strncmp(inject_reply(exited(111)), "451", 3) == 0, "qinject other: temporary");
  ok(strncmp(inject_reply(9), "451", 3) == 0, "qinject killed: temporary");

  ok(date822_fmt(date, 0, 0) == 31 && strcmp(date, "Thu, 01 Jan 1970 00:00:00 +0000") == 0,
     "RFC 5322 date");
  memset(&ri, 0, sizeof ri);
  ri.helo = "client.example(x)";
  ri.host = "host.example.net";
  ri.ip = "192.0.2.1";
  ri.me = "mx.example.org";
  ri.proto = "ESMTPSA";
  ri.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384";
  ri.authuser = "alice@example.org";
  ri.now = 0;
  ok(received_fmt(&sa, &ri) == 0 && stralloc_0(&sa) &&
       strcmp(sa.s, "Received: from client.example?x? (host.example.net [192.0.2.1])\n"
                    "\tby mx.example.org (qmta qsmtpd) with ESMTPSA"
                    " (TLSv1.3 TLS_AES_256_GCM_SHA384)\n"
                    "\t(authenticated as alice@example.org);\n"
                    "\tThu, 01 Jan 1970 00:00:00 +0000\n") == 0,
     "Received: with TLS and AUTH, HELO cleaned");
  ri.id = "HKZ1Q0B7W83F2K";
  ok(received_fmt(&sa, &ri) == 0 && stralloc_0(&sa) &&
       strstr(sa.s, " (TLSv1.3 TLS_AES_256_GCM_SHA384)\n"
                    "\tid HKZ1Q0B7W83F2K (authenticated as alice@example.org);\n") != NULL,
     "Received: with the queue id");
  ri.id = NULL;
  ri.helo = "";
  ri.host = NULL;
  ri.tls = NULL;
  ri.authuser = NULL;
  ri.proto = "SMTP";
  ok(received_fmt(&sa, &ri) == 0 && stralloc_0(&sa) && strncmp(sa.s, PLAIN, strlen(PLAIN)) == 0,
     "Received: plain");
  ri.ip = "2001:db8::1";
  ok(received_fmt(&sa, &ri) == 0 && stralloc_0(&sa) &&
       strncmp(sa.s, "Received: from unknown ([IPv6:2001:db8::1])\n", 44) == 0,
     "Received: IPv6 address literal");
  ri.ip = "::ffff:192.0.2.9";
  ok(received_fmt(&sa, &ri) == 0 && stralloc_0(&sa) &&
       strncmp(sa.s, "Received: from unknown ([192.0.2.9])\n", 37) == 0,
     "Received: IPv4-mapped address as IPv4");
  /* authsender=address: aliases that name the login */
  {
    static const char t1[] = "alice@example.org\0bob@example.net";
    static const char t2[] = "Alice\0/var/mail/x";
    ok(policy_alias_names_user("info@example.org", t1, sizeof t1, "ALICE@example.org"),
       "alias: a target in full, any case");
    ok(!policy_alias_names_user("info@example.org", t1, sizeof t1, "carol@example.org"),
       "alias: not a target");
    ok(policy_alias_names_user("sales@example.org", t2, sizeof t2, "alice@example.org"),
       "alias: a bare local part at the sender's domain");
    ok(!policy_alias_names_user("sales@example.net", t2, sizeof t2, "alice@example.org"),
       "alias: a bare local part at another domain");
    ok(!policy_alias_names_user("sales@example.org", t2, sizeof t2, "bob@example.org"),
       "alias: a bare local part that is another user");
    ok(!policy_alias_names_user("x@example.org", "", 0, "alice@example.org"), "alias: no targets");
  }
  stralloc_free(&sa);
  return done_testing();
}
