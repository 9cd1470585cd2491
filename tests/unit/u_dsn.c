/* tests/unit/u_dsn.c: dsn_send builds RFC 3464 reports as queue files. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "qsend_dsn.h"
#include "queue.h"

static char report[1 << 20];   /* the message of the last report */
static size_t report_len;
static char envelope[4096];    /* its envelope */
static size_t envelope_len;

static void write_file(const char *fn, const char *s, size_t len)
{
  int fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC, 0644);

  if (fd == -1 || write(fd, s, len) != (ssize_t)len || close(fd) == -1) {
    printf("Bail out! unable to write %s\n", fn);
    exit(1);
  }
}

/* Writes an original queue file with message msg and envelope env (len
 * bytes) and parses it into e; returns its fd. */
static int original(struct queue_env *e, const char *msg, const char *env, size_t envlen)
{
  static char buf[1 << 20];
  size_t msglen = strlen(msg);
  int fd;

  queue_hdr_fmt(buf, msglen);
  memcpy(buf + QUEUE_HDRLEN, msg, msglen);
  memcpy(buf + QUEUE_HDRLEN + msglen, env, envlen);
  write_file("orig", buf, QUEUE_HDRLEN + msglen + envlen);
  fd = open("orig", O_RDONLY);
  if (fd == -1 || queue_env_read(e, fd) == -1) {
    printf("Bail out! unable to read the original\n");
    exit(1);
  }
  return fd;
}

/* Moves the one new report out of queue/new into report/envelope.
 * Returns the number of files that were in queue/new. */
static int take_report(void)
{
  DIR *d = opendir("queue/new");
  struct dirent *de;
  int count = 0;
  static char buf[sizeof report + sizeof envelope + QUEUE_HDRLEN];

  report_len = envelope_len = 0;
  if (d == NULL) return -1;
  while ((de = readdir(d)) != NULL) {
    char fn[300];
    unsigned long long len;
    ssize_t r;
    int fd;

    if (de->d_name[0] == '.') continue;
    ++count;
    snprintf(fn, sizeof fn, "queue/new/%s", de->d_name);
    fd = open(fn, O_RDONLY);
    r = read(fd, buf, sizeof buf);
    close(fd);
    if (getenv("KEEP") == NULL) unlink(fn);
    if (r < QUEUE_HDRLEN || queue_hdr_scan(buf, &len) == -1 || len > (unsigned long long)r) continue;
    memcpy(report, buf + QUEUE_HDRLEN, (size_t)len);
    report_len = (size_t)len;
    report[report_len] = '\0';
    envelope_len = (size_t)r - QUEUE_HDRLEN - (size_t)len;
    memcpy(envelope, buf + QUEUE_HDRLEN + len, envelope_len);
  }
  closedir(d);
  return count;
}

static int has(const char *s)
{
  return strstr(report, s) != NULL;
}

static int env_is(const char *want, size_t len)
{
  /* the I, P and T records vary: compare from the F record on */
  const char *f = envelope;

  while (f < envelope + envelope_len && *f != 'F') {
    f = memchr(f, '\0', (size_t)(envelope + envelope_len - f));
    if (f == NULL) return 0;
    ++f;
  }
  return (size_t)(envelope + envelope_len - f) == len && memcmp(f, want, len) == 0;
}

#define ENV(s) (s), sizeof(s) - 1

int main(void)
{
  char dir[] = "/tmp/u_dsn.XXXXXX";
  struct queue_env e = {0};
  struct dsn_rcpt r[2];
  char newid[QUEUE_ID_MAX];
  const char *msg = "Received: (qmta) by me.test\nFrom: alice@me.test\nSubject: hello\n\n"
                    "body line\n--=_qmta_ not a boundary\n";
  int fd;

  plan(53);
  if (mkdtemp(dir) == NULL || chdir(dir) == -1 || mkdir("queue", 0755) == -1 ||
      mkdir("queue/tmp", 0755) == -1 || mkdir("queue/new", 0755) == -1 ||
      mkdir("control", 0755) == -1) {
    printf("Bail out! unable to set up %s\n", dir);
    return 1;
  }
  write_file("control/me", "me.test\n", 8);

  /* 1. a failure with a server's reply */
  fd = original(&e, msg, ENV("T1700000000\0Falice@me.test\0Rbob@x.test\0Rcarol@x.test\0"));
  r[0].idx = 1;
  r[0].reason = "mx.x.test [192.0.2.1] said: 550 5.1.1 <carol@x.test>: no such user";
  ok(dsn_send(fd, &e, DSN_FAILED, r, 1, newid) == 0, "failure report queued");
  ok(take_report() == 1, "one new queue file");
  ok(env_is(ENV("F\0Ralice@me.test\0")), "envelope: null sender, to the original sender");
  ok(has("From: Mail Delivery System <MAILER-DAEMON@me.test>\n"), "from MAILER-DAEMON@me");
  ok(has("\nTo: <alice@me.test>\n"), "To: the sender");
  ok(has("Content-Type: multipart/report; report-type=delivery-status;\n boundary=\""),
     "multipart/report");
  ok(has("\nAuto-Submitted: auto-replied\n"), "Auto-Submitted");
  {
    struct stat st;
    char want[200];
    char oid[QUEUE_ID_MAX];

    fstat(fd, &st);
    queue_id_fmt(oid, 0, (unsigned long long)st.st_ino); /* no I record in the original */
    snprintf(want, sizeof want, "P%s", oid);
    ok(envelope_len > 0 && envelope[0] == 'I' && strcmp(envelope + strlen(envelope) + 1, want) == 0,
       "envelope: the report's id, then the original's as parent");
    snprintf(want, sizeof want, "Its queue id here was %s.\n", oid);
    ok(has(want) && newid[0] != '\0' && strcmp(envelope + 1, newid) == 0,
       "the text names the original's id; newid is the report's");
    snprintf(want, sizeof want, "Reporting-MTA: dns; me.test\nX-Qmta-Queue-ID: %s\n", oid);
    ok(has(want), "X-Qmta-Queue-ID names the original");
  }
  ok(has("Content-Type: message/delivery-status\n\nReporting-MTA: dns; me.test\nX-Qmta-Queue-ID: ") &&
     has("\nArrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\n\n"),
     "per-message fields");
  ok(has("\nFinal-Recipient: rfc822; carol@x.test\nAction: failed\nStatus: 5.1.1\n"
         "Remote-MTA: dns; mx.x.test\nDiagnostic-Code: smtp; 550 5.1.1 <carol@x.test>: no such user\n"),
     "per-recipient fields");
  ok(!has("bob@x.test"), "only the reported recipient");
  ok(has("Content-Type: message/rfc822\n\nReceived: (qmta) by me.test\nFrom: alice@me.test\n"
         "Subject: hello\n\nbody line\n--=_qmta_ not a boundary\n\n--"),
     "the whole message attached");
  ok(report_len > 3 && memcmp(report + report_len - 3, "--\n", 3) == 0, "closing boundary last");
  {
    const char *b = strstr(report, "boundary=\"");
    char close_line[200];

    if (b != NULL) {
      const char *q = strchr(b + 10, '"');
      snprintf(close_line, sizeof close_line, "\n--%.*s--\n", (int)(q - b - 10), b + 10);
    }
    ok(b != NULL && has(close_line), "the closing delimiter matches the boundary");
  }
  ok(has("<carol@x.test>:\n    mx.x.test [192.0.2.1] said: 550 5.1.1"), "reason in the text part");
  close(fd);

  /* 2. RET=HDRS, ENVID, ORCPT, our own reason */
  fd = original(&e, msg, ENV("T1700000000\0Falice@me.test\0VHDRS\0Xenv-42\0Rbob@x.test\0"
                             "Orfc822;Bob@X.test\0"));
  r[0].idx = 0;
  r[0].reason = "5.1.2 domain x.test does not exist (DNS: NXDOMAIN)";
  ok(dsn_send(fd, &e, DSN_FAILED, r, 1, newid) == 0 && take_report() == 1, "RET=HDRS report queued");
  ok(has("Content-Type: text/rfc822-headers\n\nReceived: (qmta) by me.test\nFrom: alice@me.test\n"
         "Subject: hello\n\n--"),
     "only the header attached");
  ok(!has("body line"), "no body");
  ok(has("Original-Envelope-Id: env-42\n"), "ENVID reported");
  ok(has("Original-Recipient: rfc822;Bob@X.test\nFinal-Recipient: rfc822; bob@x.test\n"),
     "ORCPT reported");
  ok(has("Status: 5.1.2\n"), "status from our own reason");
  ok(has("Diagnostic-Code: X-qmta; 5.1.2 domain x.test does not exist (DNS: NXDOMAIN)\n"),
     "our reason as diagnostic");
  ok(!has("Remote-MTA"), "no Remote-MTA without a server");
  close(fd);

  /* 3. bigger than bouncemaxbytes: header only */
  write_file("control/bouncemaxbytes", "40\n", 3);
  fd = original(&e, msg, ENV("T1700000000\0Falice@me.test\0Rbob@x.test\0"));
  r[0].reason = "some local reason that is long enough to need folding when it goes into the "
                "Diagnostic-Code field";
  ok(dsn_send(fd, &e, DSN_FAILED, r, 1, newid) == 0 && take_report() == 1, "big message report queued");
  ok(has("Content-Type: text/rfc822-headers\n\nReceived: (qmta) by me.test\n\n--"),
     "header cut at a line end within the limit");
  ok(has("Only the header of the message is attached."), "the text says so");
  ok(has("Status: 5.0.0\n"), "unknown reason: 5.0.0");
  ok(has("Diagnostic-Code: X-qmta; some local reason that is long enough to need\n"
         " folding when it goes into the Diagnostic-Code field\n"), "long field folded at a blank");
  unlink("control/bouncemaxbytes");
  close(fd);

  /* 4. null sender: double bounce to postmaster@me, sender #@[] */
  fd = original(&e, msg, ENV("T1700000000\0F\0Rbob@x.test\0"));
  r[0].reason = "mx.x.test [192.0.2.1] said: 554 no";
  ok(dsn_send(fd, &e, DSN_FAILED, r, 1, newid) == 0 && take_report() == 1, "double bounce queued");
  ok(env_is(ENV("F#@[]\0Rpostmaster@me.test\0")), "double bounce envelope");
  ok(has("Status: 5.0.0\n") && has("Diagnostic-Code: smtp; 554 no\n"), "reply without code");
  ok(dsn_send(fd, &e, DSN_DELAYED, r, 1, newid) == 0 && take_report() == 0, "no delay notice to <>");
  write_file("control/doublebounceto", "admin@else.test\n", 16);
  ok(dsn_send(fd, &e, DSN_FAILED, r, 1, newid) == 0 && take_report() == 1 &&
     env_is(ENV("F#@[]\0Radmin@else.test\0")), "control/doublebounceto");
  unlink("control/doublebounceto");
  close(fd);

  /* 5. a failed double bounce is dropped */
  fd = original(&e, msg, ENV("T1700000000\0F#@[]\0Rpostmaster@me.test\0"));
  ok(dsn_send(fd, &e, DSN_FAILED, r, 1, newid) == 0 && take_report() == 0, "double bounce dropped");
  close(fd);

  /* 6. NOTIFY */
  fd = original(&e, msg, ENV("T1700000000\0Falice@me.test\0Rbob@x.test\0NNEVER\0"
                             "Rcarol@x.test\0NSUCCESS\0"));
  r[0].idx = 0;
  r[0].reason = "mx [1.2.3.4] said: 550 5.7.1 no";
  r[1].idx = 1;
  r[1].reason = "mx [1.2.3.4] said: 250 2.0.0 ok";
  ok(dsn_send(fd, &e, DSN_FAILED, r, 1, newid) == 0 && take_report() == 0, "NOTIFY=NEVER: nothing");
  ok(dsn_send(fd, &e, DSN_FAILED, r + 1, 1, newid) == 0 && take_report() == 0,
     "NOTIFY=SUCCESS: no failure report");
  ok(dsn_send(fd, &e, DSN_DELIVERED, r, 2, newid) == 0 && take_report() == 1, "success notice queued");
  ok(has("Final-Recipient: rfc822; carol@x.test\nAction: delivered\nStatus: 2.0.0\n"),
     "Action: delivered");
  ok(!has("bob@x.test"), "NEVER recipient left out of the success notice");
  ok(has("Content-Type: text/rfc822-headers"), "success notice: header only");
  ok(dsn_send(fd, &e, DSN_RELAYED, r, 2, newid) == 0 && take_report() == 1,
     "relayed notice queued");
  ok(has("Final-Recipient: rfc822; carol@x.test\nAction: relayed\nStatus: 2.0.0\n"),
     "Action: relayed (RFC 3464 2.3.3)");
  ok(has("Subject: Delivery report: mail relayed\n") && !has("Last-Attempt-Date"),
     "relayed: its subject, no Last-Attempt-Date");
  close(fd);

  /* 7. delay warning with the default NOTIFY; no success notice without SUCCESS */
  fd = original(&e, msg, ENV("T1700000000\0Falice@me.test\0Rbob@x.test\0"));
  r[0].idx = 0;
  r[0].reason = "mx [1.2.3.4] said: 451 4.3.0 later";
  ok(dsn_send(fd, &e, DSN_DELAYED, r, 1, newid) == 0 && take_report() == 1, "delay warning queued");
  ok(has("Action: delayed\nStatus: 4.3.0\n"), "Action: delayed");
  ok(has("Will-Retry-Until: Sun, 19 Nov 2023 22:13:20 +0000\n"), "Will-Retry-Until = arrival + 5 days");
  ok(dsn_send(fd, &e, DSN_DELIVERED, r, 1, newid) == 0 && take_report() == 0,
     "no success notice without NOTIFY=SUCCESS");
  ok(dsn_send(fd, &e, DSN_FAILED, r, 1, newid) == 0 && take_report() == 1 &&
     has("Action: failed\nStatus: 5.4.7\n") && has("Diagnostic-Code: smtp; 451 4.3.0 later\n"),
     "expired after temporary failures: 5.4.7 with the last reply");
  ok(dsn_send(fd, &e, 'Q', r, 1, newid) == -1, "unknown kind refused");
  close(fd);

  /* 8. UTF-8 address: global delivery status */
  fd = original(&e, msg, ENV("T1700000000\0Falice@me.test\0Rj\xc3\xb6rg@x.test\0"));
  r[0].reason = "mx [1.2.3.4] said: 550 5.1.1 unknown";
  ok(dsn_send(fd, &e, DSN_FAILED, r, 1, newid) == 0 && take_report() == 1, "UTF-8 report queued");
  ok(has("report-type=global-delivery-status;") && has("message/global-delivery-status") &&
     has("Final-Recipient: utf-8; j\xc3\xb6rg@x.test\n"), "message/global-delivery-status");
  close(fd);

  queue_env_free(&e);
  unlink("orig");
  unlink("control/me");
  rmdir("control");
  rmdir("queue/tmp");
  rmdir("queue/new");
  rmdir("queue");
  chdir("/");
  rmdir(dir);
  return done_testing();
}
