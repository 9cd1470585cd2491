/*
 * listen_next: the session program's side of qlisten's pool mode
 * (listenproto.h): the next connection and its environment, and "done".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"
#include "listenproto.h"

/* The variables set for the previous connection: their names, and the
 * value each had before (the program's own environment: a listener's
 * SUBMISSION or QINJECT that a rule overrode), NULL if it had none. After
 * the connection each gets that value back, as a program qlisten started
 * for the next connection would have it (classic mode). */
static char prev_names[LISTEN_MSG_MAX];   /* "NAME\0NAME\0" */
static size_t prev_len;
static char *prev_value[LISTEN_ENV_MAX];  /* malloc'd */
static unsigned int prev_count;

int listen_ctlfd(void)
{
  const char *v = getenv("QLISTENFD");
  int fd = 0;
  size_t i;

  if (v == NULL || v[0] == '\0') return -1;
  for (i = 0; v[i] != '\0'; i++) {
    if (v[i] < '0' || v[i] > '9' || i >= 6) return -1;
    fd = fd * 10 + (v[i] - '0');
  }
  if (fd < 3 || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) return -1;
  unsetenv("QLISTENFD");
  return fd;
}

/* Back to the program's own environment: the last name set first, so
 * that a name set twice ends with the value from before both. */
static void unset_previous(void)
{
  const char *name[LISTEN_ENV_MAX];
  size_t pos = 0;
  unsigned int i;

  for (i = 0; i < prev_count && pos < prev_len; i++) {
    name[i] = prev_names + pos;
    pos += strlen(prev_names + pos) + 1;
  }
  while (i > 0) {
    i--;
    if (prev_value[i] != NULL) {
      setenv(name[i], prev_value[i], 1);
      free(prev_value[i]);
      prev_value[i] = NULL;
    } else {
      unsetenv(name[i]);
    }
  }
  prev_len = 0;
  prev_count = 0;
}

/* Sets the NAME=VALUE records of msg (len bytes); remembers the names. */
static int set_records(char *msg, size_t len)
{
  size_t pos = 0;
  unsigned int count = 0;

  while (pos < len) {
    char *rec = msg + pos;
    char *eq;
    char *old;
    size_t n = strnlen(rec, len - pos);

    if (n == len - pos || ++count > LISTEN_ENV_MAX) return -1; /* unterminated */
    eq = memchr(rec, '=', n);
    if (eq == NULL || eq == rec) return -1;
    *eq = '\0';
    old = getenv(rec);
    if (old != NULL && (old = strdup(old)) == NULL) return -1;
    if (setenv(rec, eq + 1, 1) == -1) {
      free(old);
      return -1;
    }
    memcpy(prev_names + prev_len, rec, (size_t)(eq - rec) + 1);
    prev_len += (size_t)(eq - rec) + 1;
    prev_value[prev_count++] = old;
    pos += n + 1;
  }
  return 0;
}

int listen_next(int ctl)
{
  char msg[LISTEN_MSG_MAX];
  ssize_t n;
  int fd;

  unset_previous();
  n = fdpass_recvmsg(ctl, msg, sizeof msg, &fd, 0);
  if (n == -1) return -1;
  if (n == 0 && fd == -1) {
    errno = 0;
    return -1;
  }
  if (fd == -1 || set_records(msg, (size_t)n) == -1) {
    if (fd != -1) close(fd);
    unset_previous(); /* what a malformed message set is undone */
    errno = EPROTO;
    return -1;
  }
  return fd;
}

int listen_done(int ctl)
{
  char done = LISTEN_DONE;
  ssize_t w;

  do {
    w = send(ctl, &done, 1, MSG_NOSIGNAL);
  } while (w == -1 && errno == EINTR);
  return w == 1 ? 0 : -1;
}
