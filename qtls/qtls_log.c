/*
 * qtls_say, qtls_die, qtls_die_sys: one-line diagnostics on fd 2, each in
 * one write(2), so that lines of concurrent processes never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qtls.h"

const char *qtls_prog = "qtls";
int qtls_in_child = 0;

/* Builds "prog: " head args [": " strerror(err)] "\n" and writes it. */
static void say_line(const char *head, const char *s, va_list ap, int err)
{
  char line[QTLS_LINE_MAX];
  size_t len = 0;
  const char *arg;

  line[0] = '\0';
  qtls_cat(line, sizeof line - 1, qtls_prog, ": ", head);
  for (arg = s; arg != NULL; arg = va_arg(ap, const char *))
    qtls_cat(line, sizeof line - 1, arg);
  if (err != 0) qtls_cat(line, sizeof line - 1, ": ", strerror(err));

  len = strlen(line);
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) line[i] = '?';
  line[len++] = '\n';
  while (write(2, line, len) == -1 && errno == EINTR) {}
}

void qtls_say_(const char *s, ...)
{
  va_list ap;
  int saved = errno;

  va_start(ap, s);
  say_line("", s, ap, 0);
  va_end(ap);
  errno = saved;
}

static void quit(int code) __attribute__((noreturn));
static void quit(int code)
{
  if (qtls_in_child) _exit(code);
  exit(code);
}

void qtls_die_(int code, const char *s, ...)
{
  va_list ap;

  va_start(ap, s);
  say_line("fatal: ", s, ap, 0);
  va_end(ap);
  quit(code);
}

void qtls_die_sys_(int code, const char *s, ...)
{
  va_list ap;
  int err = errno;

  va_start(ap, s);
  say_line("fatal: ", s, ap, err);
  va_end(ap);
  quit(code);
}
