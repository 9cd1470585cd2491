/*
 * qsmtpd_policy: pure helpers for qsmtpd's decisions: the actions of
 * control/access, "error:" targets of control/aliases, which senders an
 * alias gives an authenticated user, and the replies
 * for qinject's exit codes. Unit-tested in tests/unit/u_qsmtpd_policy.c.
 */
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "aliases.h"
#include "qsmtpd.h"

static int lower(int c)
{
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int word_is(const char *s, size_t len, const char *w)
{
  size_t i;

  if (len != strlen(w)) return 0;
  for (i = 0; i < len; i++)
    if (lower((unsigned char)s[i]) != w[i]) return 0;
  return 1;
}

static int is_digit(int c)
{
  return c >= '0' && c <= '9';
}

/* "x.y.z" at s: its length, 0 if none. x must be class ('4' or '5'; 0 = either). */
static size_t scan_enhanced(const char *s, size_t len, int cls)
{
  size_t i = 0;
  int part;

  if (len < 5 || (s[0] != '4' && s[0] != '5') || (cls != 0 && s[0] != cls) || s[1] != '.')
    return 0;
  i = 2;
  for (part = 0; part < 2; part++) {
    size_t digits = 0;
    while (i < len && is_digit((unsigned char)s[i]) && digits < 3) {
      i++;
      digits++;
    }
    if (digits == 0) return 0;
    if (part == 0) {
      if (i >= len || s[i] != '.') return 0;
      i++;
    }
  }
  if (i < len && is_digit((unsigned char)s[i])) return 0;
  return i;
}

/* "4nn" or "5nn" at s followed by a blank, ':' or the end. */
static int scan_code(const char *s, size_t len)
{
  if (len < 3 || (s[0] != '4' && s[0] != '5') || !is_digit((unsigned char)s[1]) ||
      !is_digit((unsigned char)s[2]))
    return 0;
  return len == 3 || s[3] == ' ' || s[3] == '\t' || s[3] == ':';
}

/* Writes "nnn x.y.z text\r\n" into reply (max bytes), text cleaned and cut. */
static void make_reply(char *reply, size_t max, const char *code, const char *enh, size_t enhlen,
                       const char *text, size_t textlen)
{
  size_t n = 0;
  size_t i;

  if (max < 16) {
    if (max > 0) reply[0] = '\0';
    return;
  }
  memcpy(reply, code, 3);
  reply[3] = ' ';
  n = 4;
  if (enhlen > 12) enhlen = 12;
  memcpy(reply + n, enh, enhlen);
  n += enhlen;
  reply[n++] = ' ';
  for (i = 0; i < textlen && n + 3 < max; i++) {
    unsigned char c = (unsigned char)text[i];
    reply[n++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
  }
  reply[n++] = '\r';
  reply[n++] = '\n';
  reply[n] = '\0';
}

/* The part after "ERROR:" or "error:": [x.y.z[:]] [nnn] text. */
static void error_reply(char *reply, size_t max, const char *s, size_t len, const char *def,
                        const char *deftext)
{
  size_t enhlen;
  const char *enh;
  char code[4];
  char enhbuf[16];

  while (len > 0 && (*s == ' ' || *s == '"')) { s++; len--; }
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '"')) len--;
  memcpy(code, def, 3);
  code[3] = '\0';
  enh = s;
  enhlen = scan_enhanced(s, len, 0);
  if (enhlen > 0) {
    s += enhlen;
    len -= enhlen;
    if (len > 0 && s[0] == ':') { s++; len--; }
    while (len > 0 && s[0] == ' ') { s++; len--; }
  }
  if (scan_code(s, len)) {
    memcpy(code, s, 3);
    s += 3;
    len -= 3;
    if (len > 0 && s[0] == ':') { s++; len--; }
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) { s++; len--; }
    /* "ERROR:550 5.7.1 text" */
    if (enhlen == 0) {
      enhlen = scan_enhanced(s, len, code[0]);
      if (enhlen > 0) {
        enh = s;
        s += enhlen;
        len -= enhlen;
        while (len > 0 && s[0] == ' ') { s++; len--; }
      }
    }
  }
  if (enhlen > 0 && enh[0] != code[0]) {
    /* the classes disagree: the enhanced code wins */
    code[0] = enh[0];
    code[1] = '5';
    code[2] = '0';
  }
  if (enhlen == 0) {
    memcpy(enhbuf, code[0] == '4' ? "4.7.1" : "5.7.1", 6);
    enh = enhbuf;
    enhlen = 5;
  }
  if (len == 0) {
    s = deftext;
    len = strlen(deftext);
  }
  make_reply(reply, max, code, enh, enhlen, s, len);
}

int policy_access_action(const char *val, size_t len, const char *def, char *reply, size_t max)
{
  while (len > 0 && (val[0] == ' ' || val[0] == '\t')) { val++; len--; }
  while (len > 0 && (val[len - 1] == ' ' || val[len - 1] == '\t' || val[len - 1] == '\0'))
    len--;
  if (word_is(val, len, "ok")) return ACT_OK;
  if (word_is(val, len, "relay")) return ACT_RELAY;
  if (word_is(val, len, "discard")) return ACT_DISCARD;
  if (word_is(val, len, "reject")) {
    make_reply(reply, max, def, "5.7.1", 5, "access denied", 13);
    return ACT_REJECT;
  }
  if (len >= 6 && word_is(val, 6, "error:")) {
    error_reply(reply, max, val + 6, len - 6, def, "access denied");
    return ACT_ERROR;
  }
  return ACT_NONE;
}

int policy_alias_error(const char *target, size_t len, char *reply, size_t max)
{
  const char *status;
  size_t used;

  if (len < 6 || !word_is(target, 6, "error:")) return 0;
  target += 6;
  len -= 6;
  while (len > 0 && (*target == ' ' || *target == '\t')) { target++; len--; }
  status = aliases_exitname(target, len, &used);
  if (status == NULL) {
    error_reply(reply, max, target, len, "550", "address rejected");
    return 1;
  }
  /* sendmail's "error:nouser [nnn] text": the name's status code, and a
   * reply code of its class */
  {
    char code[4] = {status[0], '5', '0', '\0'};

    target += used;
    len -= used;
    while (len > 0 && (*target == ' ' || *target == '\t')) { target++; len--; }
    if (scan_code(target, len) && target[0] == status[0]) {
      memcpy(code, target, 3);
      target += 3;
      len -= 3;
      while (len > 0 && (*target == ' ' || *target == '\t' || *target == ':')) { target++; len--; }
    }
    while (len > 0 && (target[len - 1] == ' ' || target[len - 1] == '"')) len--;
    if (len == 0) {
      target = "address rejected";
      len = 16;
    }
    make_reply(reply, max, code, status, 5, target, len);
  }
  return 1;
}

const char *inject_reply(int status)
{
  if (WIFSIGNALED(status)) return "451 4.3.0 queue program crashed, try again later\r\n";
  if (!WIFEXITED(status)) return "451 4.3.0 queue program failed, try again later\r\n";
  switch (WEXITSTATUS(status)) {
    case 0: return "250 2.0.0 ok: message accepted\r\n";
    case 11: return "554 5.1.3 envelope address too long\r\n";
    case 31: return "554 5.3.0 mail server permanently rejected message\r\n";
    case 51: return "451 4.3.0 queue out of memory, try again later\r\n";
    case 52: return "451 4.3.0 queue timeout, try again later\r\n";
    case 53: return "451 4.3.0 queue write error or disk full, try again later\r\n";
    case 54: return "451 4.3.0 queue unable to read the message, try again later\r\n";
    case 55: return "451 4.3.5 queue unable to read configuration, try again later\r\n";
    case 56: return "451 4.4.0 queue network problem, try again later\r\n";
    case 61: return "451 4.3.0 queue home directory problem, try again later\r\n";
    case 62: case 63: case 64: case 65: case 66:
      return "451 4.3.0 queue directory problem, try again later\r\n";
    case 71: return "451 4.3.0 mail server temporarily rejected message\r\n";
    case 72: return "451 4.4.1 connection to mail server timed out\r\n";
    case 73: return "451 4.4.1 connection to mail server rejected\r\n";
    case 74: return "451 4.4.2 communication with mail server failed\r\n";
    case 81: return "451 4.3.0 queue internal bug, try again later\r\n";
    case 91: return "554 5.3.0 queue refused the envelope\r\n";
    default: break;
  }
  /* qmail-queue's convention: 11..40 are permanent, anything else temporary */
  if (WEXITSTATUS(status) >= 11 && WEXITSTATUS(status) <= 40)
    return "554 5.3.0 queue refused the message\r\n";
  return "451 4.3.0 queue temporary problem, try again later\r\n";
}

int policy_alias_names_user(const char *sender, const char *targets, size_t tlen, const char *user)
{
  const char *sat = strrchr(sender, '@');
  const char *uat = strrchr(user, '@');
  size_t pos = 0;

  while (pos < tlen) {
    const char *t = targets + pos;
    size_t n = strnlen(t, tlen - pos);

    pos += n + 1;
    if (n == strlen(user) && strncasecmp(t, user, n) == 0) return 1;
    /* "info: alice" gives alice@D the address info@D */
    if (memchr(t, '@', n) == NULL && sat != NULL && uat != NULL && n == (size_t)(uat - user) &&
        strncasecmp(t, user, n) == 0 && strcasecmp(sat, uat) == 0)
      return 1;
  }
  return 0;
}
