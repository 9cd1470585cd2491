/* tests/unit/u_qremote_txn.c: qremote's mail transactions (qremote_txn.c)
 * against scripted replies. A child process plays the server on the
 * other end of a socket pair, answering each command with the next line
 * of its script; what the client sent comes back from it at the end and
 * is compared, with each recipient's result. The child ends at most
 * TIMEOUT seconds later. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stralloc.h>

#include "tap.h"
#include "queue.h"
#include "qremote_smtp.h"

#define MAX_RCPT 4
#define SENT_MAX 8192
#define TIMEOUT 30 /* seconds; the script never makes the client wait */

/* the message as queued, and as it must go out after DATA's 354 */
#define MSG "Subject: t\n\nhello\n.dot\n"
#define MSG_WIRE "Subject: t\r\n\r\nhello\r\n..dot\r\n.\r\n"
#define FROM "MAIL FROM:<s@example.org>\r\n"
#define TO_A "RCPT TO:<a@example.net>\r\n"
#define TO_B "RCPT TO:<b@example.net>\r\n"
#define TO_C "RCPT TO:<c@example.net>\r\n"
#define SAID "mx.test [127.0.0.1] said: "

static struct conn cn = CONN_INIT;
static struct rcpt rcpt[MAX_RCPT];
static struct job job;
static char results[MAX_RCPT + 1];  /* each recipient's result, '-' for none */
static char sent[SENT_MAX + 1];     /* what the client wrote */
static int closed;                  /* the transactions closed the connection */
static const char *const abc[] = {"a@example.net", "b@example.net", "c@example.net", NULL};
static const char *const ab[] = {"a@example.net", "b@example.net", NULL};

static void bail(const char *what)
{
  printf("Bail out! %s: %s\n", what, strerror(errno));
  exit(1);
}

static void write_all(int fd, const char *s, size_t len)
{
  while (len > 0) {
    ssize_t w = write(fd, s, len);

    if (w == -1 && errno == EINTR) continue;
    if (w <= 0) bail("write");
    s += w;
    len -= (size_t)w;
  }
}

/* The scripted server, in a child process: it answers each command line,
 * and each message at its final dot, with the next line of script, as a
 * server does; once the script is used up it shuts its side for writing
 * (the client meets end of file). It reads on until the client closes,
 * then writes all it read to out. */
static void server(int fd, const char *script, int out)
{
  static char got[SENT_MAX];
  size_t n = 0;
  size_t line = 0;
  int in_data = 0;

  alarm(TIMEOUT);
  if (*script == '\0') shutdown(fd, SHUT_WR);
  while (n < sizeof got) {
    ssize_t r = read(fd, got + n, 1);
    const char *end;

    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    if (got[n++] != '\n') continue;
    if (in_data) {
      int dot = n - line == 3 && memcmp(got + line, ".\r\n", 3) == 0;

      line = n;
      if (!dot) continue;
      in_data = 0;
    }
    line = n;
    if (*script == '\0') continue;
    end = strstr(script, "\r\n");
    if (end == NULL) _exit(1);
    end += 2;
    write_all(fd, script, (size_t)(end - script));
    in_data = memcmp(script, "354", 3) == 0;
    script = end;
    if (*script == '\0') shutdown(fd, SHUT_WR);
  }
  write_all(out, got, n);
  _exit(0);
}

/* What the server read, up to SENT_MAX bytes, once it ends. */
static void sent_read(int fd)
{
  size_t n = 0;

  while (n < SENT_MAX) {
    ssize_t r = read(fd, sent + n, SENT_MAX - n);

    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  sent[n] = '\0';
}

/* A queue file: QUEUE_HDRLEN bytes of header (not read here), then MSG. */
static void message_make(void)
{
  static const char hdr[QUEUE_HDRLEN];
  int fd = memfd_create("u_qremote_txn", MFD_CLOEXEC);

  if (fd == -1) bail("memfd_create");
  write_all(fd, hdr, sizeof hdr);
  write_all(fd, MSG, sizeof MSG - 1);
  job.msgfd = fd;
  job.msglen = sizeof MSG - 1;
  job.sender = "s@example.org";
  job.qid = "test";
}

/* Runs transactions for the recipients addrs (NULL-terminated) against
 * a server that answers with the lines of script, with the extensions of
 * ext; reused as for txn_run. Its result; results, sent and closed are
 * filled in. */
static int run(const char *script, const char *const *addrs, const struct ehlo_ext *ext,
               int reused)
{
  int sv[2];
  int res[2];
  size_t n = 0;
  pid_t pid;
  int tx;

  for (; addrs[n] != NULL && n < MAX_RCPT; ++n) {
    rcpt[n].addr = addrs[n];
    rcpt[n].result = 0;
    rcpt[n].text.len = 0;
  }
  job.rcpt = rcpt;
  job.rcpt_count = n;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) bail("socketpair");
  if (pipe2(res, O_CLOEXEC) == -1) bail("pipe");
  pid = fork();
  if (pid == -1) bail("fork");
  if (pid == 0) {
    close(sv[0]);
    close(res[0]);
    server(sv[1], script, res[1]);
  }
  close(sv[1]);
  close(res[1]);

  wire_attach(&cn, sv[0]);
  cn.timeout = TIMEOUT;
  cn.ext = *ext;
  cn.failtext.len = 0;
  if (txn_scan(&cn, &job) == -1) bail("txn_scan");
  tx = txn_run(&cn, &job, reused);
  for (size_t i = 0; i < n; ++i) results[i] = rcpt[i].result != 0 ? rcpt[i].result : '-';
  results[n] = '\0';
  closed = cn.fd == -1;
  wire_close(&cn);

  sent_read(res[0]);
  close(res[0]);
  while (waitpid(pid, NULL, 0) == -1 && errno == EINTR) {}
  return tx;
}

/* The result text of recipient i is want. */
static int text_is(size_t i, const char *want)
{
  const stralloc *t = &rcpt[i].text;

  return t->len == strlen(want) && memcmp(t->s, want, t->len) == 0;
}

/* The result text of recipient i starts with want. */
static int text_starts(size_t i, const char *want)
{
  const stralloc *t = &rcpt[i].text;

  return t->len >= strlen(want) && memcmp(t->s, want, strlen(want)) == 0;
}

static void pipelined(void)
{
  struct ehlo_ext ext = {.pipelining = 1};

  ok(run("250 ok\r\n250 a\r\n250 b\r\n250 c\r\n354 go\r\n250 queued\r\n", abc, &ext, 0) ==
         TX_DONE,
     "all accepted: done");
  ok(strcmp(results, "KKK") == 0 && text_is(0, SAID "250 queued"), "all accepted: K K K");
  ok(strcmp(sent, FROM TO_A TO_B TO_C "DATA\r\n" MSG_WIRE) == 0,
     "all accepted: MAIL, RCPTs and DATA in one go, then the message");

  run("250 ok\r\n250 a\r\n550 5.1.1 no such user\r\n250 c\r\n354 go\r\n250 queued\r\n", abc,
      &ext, 0);
  ok(strcmp(results, "KDK") == 0, "one RCPT refused with 550: K D K");
  ok(text_is(1, SAID "550 5.1.1 no such user") && text_is(2, SAID "250 queued"),
     "the refusal's text and the acceptance's");

  ok(run("250 ok\r\n250 a\r\n452 4.5.3 too many\r\n354 go\r\n250 queued 1\r\n"
         "250 ok\r\n250 b\r\n354 go\r\n250 queued 2\r\n",
         ab, &ext, 0) == TX_DONE,
     "452 on a RCPT: done");
  ok(strcmp(results, "KK") == 0 && text_is(0, SAID "250 queued 1") &&
         text_is(1, SAID "250 queued 2"),
     "452 on a RCPT: that recipient goes in a second transaction");
  ok(strcmp(sent, FROM TO_A TO_B "DATA\r\n" MSG_WIRE FROM TO_B "DATA\r\n" MSG_WIRE) == 0 &&
         !closed,
     "452 on a RCPT: the second transaction's commands; the connection stays open");

  run("250 ok\r\n451 4.7.1 later\r\n451 4.7.1 later\r\n354 go\r\n250 empty\r\n250 reset\r\n", ab,
      &ext, 0);
  ok(strcmp(results, "ZZ") == 0, "every RCPT answered 4xx: the destination's trouble, Z Z");
  ok(strcmp(sent, FROM TO_A TO_B "DATA\r\n.\r\nRSET\r\n") == 0,
     "354 with no recipient accepted: an empty message, then RSET (RFC 2920 3.1)");

  run("250 ok\r\n451 4.2.2 mailbox full\r\n250 b\r\n354 go\r\n250 queued\r\n", ab, &ext, 0);
  ok(strcmp(results, "TK") == 0, "one RCPT answered 451: that recipient alone is deferred, T");

  run("250 ok\r\n552 5.2.2 mailbox full\r\n552 5.3.4 too big\r\n552 5.3.40 x\r\n354 go\r\n"
      "250 empty\r\n250 reset\r\n",
      abc, &ext, 0);
  ok(strcmp(results, "TDT") == 0,
     "552 to RCPT: a 452 (RFC 5321 4.5.3.1.10), T, unless its code says too big (5.3.4), D");
  run("250 ok\r\n552 5.2.3 over the mailbox's limit\r\n250 b\r\n354 go\r\n250 queued\r\n", ab,
      &ext, 0);
  ok(strcmp(results, "DK") == 0, "552 5.2.3 to RCPT: D");

  run("250 ok\r\n250 a\r\n250 b\r\n554 5.7.1 no\r\n250 reset\r\n", ab, &ext, 0);
  ok(strcmp(results, "DD") == 0 && text_is(0, SAID "554 5.7.1 no"), "DATA refused 554: D D");
  ok(strcmp(sent, FROM TO_A TO_B "DATA\r\nRSET\r\n") == 0, "DATA refused: no message, RSET");

  run("250 ok\r\n250 a\r\n250 b\r\n354 go\r\n451 4.7.1 scan failed\r\n", ab, &ext, 0);
  ok(strcmp(results, "TT") == 0 && text_is(1, SAID "451 4.7.1 scan failed"),
     "451 after the final dot: T T");

  run("250 ok\r\n250 a\r\n250 b\r\n354 go\r\n421 4.3.2 going down\r\n", ab, &ext, 0);
  ok(strcmp(results, "ZZ") == 0, "421 after the final dot: the destination's trouble, Z Z");

  run("550 5.7.1 sender refused\r\n250 a\r\n250 b\r\n503 no\r\n250 reset\r\n", ab, &ext, 0);
  ok(strcmp(results, "DD") == 0 && text_is(0, SAID "550 5.7.1 sender refused"),
     "MAIL refused: every recipient gets its reply");
  ok(strcmp(sent, FROM TO_A TO_B "DATA\r\nRSET\r\n") == 0,
     "MAIL refused: the pipelined replies are read, then RSET");
}

static void lockstep(void)
{
  struct ehlo_ext ext = {0};

  run("250 ok\r\n250 a\r\n550 5.1.1 no such user\r\n250 c\r\n354 go\r\n250 queued\r\n", abc,
      &ext, 0);
  ok(strcmp(results, "KDK") == 0, "no PIPELINING, one RCPT refused: K D K");
  ok(strcmp(sent, FROM TO_A TO_B TO_C "DATA\r\n" MSG_WIRE) == 0, "no PIPELINING: the commands");

  run("550 5.7.1 sender refused\r\n250 reset\r\n", ab, &ext, 0);
  ok(strcmp(results, "DD") == 0, "no PIPELINING, MAIL refused: D D");
  ok(strcmp(sent, FROM "RSET\r\n") == 0, "no PIPELINING: no RCPT after a refused MAIL");

  run("250 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n250 reset\r\n", ab, &ext, 0);
  ok(strcmp(results, "DD") == 0 && strcmp(sent, FROM TO_A TO_B "RSET\r\n") == 0,
     "no PIPELINING, every RCPT refused: no DATA, RSET");

  run("250 ok\r\n250 a\r\n452 4.5.3 too many\r\n354 go\r\n250 one\r\n"
      "250 ok\r\n250 b\r\n354 go\r\n250 two\r\n",
      ab, &ext, 0);
  ok(strcmp(results, "KK") == 0 && text_is(1, SAID "250 two"),
     "no PIPELINING, 452 on a RCPT: a second transaction");

  run("250 ok\r\n250 a\r\n250 b\r\n554 5.7.1 no\r\n250 reset\r\n", ab, &ext, 0);
  ok(strcmp(results, "DD") == 0 && strcmp(sent, FROM TO_A TO_B "DATA\r\nRSET\r\n") == 0,
     "no PIPELINING, DATA refused 554: D D, RSET");
}

static void lost(void)
{
  struct ehlo_ext ext = {.pipelining = 1};

  ok(run("", ab, &ext, 1) == TX_LOST && strcmp(results, "--") == 0,
     "a kept connection found closed before MAIL's reply: lost, no result");
  ok(run("", ab, &ext, 0) == TX_DONE && strcmp(results, "ZZ") == 0 &&
         text_is(0, "4.4.2 mx.test [127.0.0.1]: connection lost: end of file"),
     "a fresh one: Z, connection lost");
  ok(run("250 ok\r\n250 a\r\n250 b\r\n354 go\r\n", ab, &ext, 1) == TX_DONE &&
         strcmp(results, "ZZ") == 0 &&
         text_starts(0, "4.4.2 mx.test [127.0.0.1]: connection lost after the message was sent"),
     "closed after the final dot: Z, it may arrive twice");
  ok(closed, "the connection is closed");
}

static void extensions(void)
{
  struct ehlo_ext ext = {.pipelining = 1, .size = 1, .sizemax = 10, .dsn = 1};
  char want[256];

  run("", ab, &ext, 0);
  ok(strcmp(results, "DD") == 0 && strcmp(sent, "") == 0 &&
         text_is(0, "5.3.4 mx.test [127.0.0.1]: message of 27 bytes exceeds the server's "
                    "limit of 10"),
     "SIZE: a message over the server's limit is not sent");

  ext.sizemax = 0;
  job.ret = "HDRS";
  job.envid = "a+b=c d";
  rcpt[0].notify = "SUCCESS,FAILURE";
  rcpt[0].orcpt = "rfc822;a+x@example.net";
  run("250 ok\r\n250 a\r\n354 go\r\n250 queued\r\n", ab + 1, &ext, 0);
  job.ret = NULL;
  job.envid = NULL;
  rcpt[0].notify = NULL;
  rcpt[0].orcpt = NULL;
  strcpy(want, "MAIL FROM:<s@example.org> SIZE=27 RET=HDRS ENVID=a+2Bb+3Dc+20d\r\n"
               "RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bx@example.net\r\n"
               "DATA\r\n" MSG_WIRE);
  ok(strcmp(sent, want) == 0, "SIZE and DSN parameters, xtext-encoded");

  rcpt[0].orcpt = "utf-8;\xc3\xbcser\\+1@example.net";
  run("250 ok\r\n250 a\r\n354 go\r\n250 queued\r\n", ab + 1, &ext, 0);
  rcpt[0].orcpt = NULL;
  ok(strstr(sent, " ORCPT=utf-8;\\x{FC}ser\\x{5C}+2B1@example.net\r\n") != NULL,
     "ORCPT utf-8: utf-8-addr-xtext (RFC 6533), for any server");

  ext = (struct ehlo_ext){.pipelining = 1};
  run("250 ok\r\n", (const char *const[]){"b@\xc3\xa9xample.net", NULL}, &ext, 0);
  ok(strcmp(results, "D") == 0 && strcmp(sent, "") == 0 && text_starts(0, "5.6.7 "),
     "an 8-bit address without SMTPUTF8: D, nothing sent");
}

int main(void)
{
  plan(34);
  strcpy(cn.host_name, "mx.test");
  strcpy(cn.ip_text, "127.0.0.1");
  message_make();

  pipelined();
  lockstep();
  lost();
  extensions();
  /* BDAT (RFC 3030) is not used by qremote: nothing to test there */

  for (size_t i = 0; i < MAX_RCPT; ++i) stralloc_free(&rcpt[i].text);
  stralloc_free(&cn.reply);
  stralloc_free(&cn.reply_lines);
  stralloc_free(&cn.failtext);
  stralloc_free(&cn.cmd);
  close(job.msgfd);
  return done_testing();
}
