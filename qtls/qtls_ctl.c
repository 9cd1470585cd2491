/*
 * qtls_ctl_answer, qtls_ctl_refuse: qtlsd's answers to a session program
 * on its connection, in the tlsd protocol (lib/tlsd.h); qtls_nline also
 * makes qtls-client's "N reason" status line for qremote.
 */
#include <string.h>

#include "qtls.h"

void qtls_ctl_answer(int ctl, const char *line)
{
  qtls_write_all(ctl, line, strlen(line)); /* the program may be gone: nothing changes */
}

char *qtls_nline(char line[QTLS_STATUS_MAX], const char *what, const char *why)
{
  char text[QTLS_LINE_MAX];
  char reason[QTLS_TEXT_MAX + 1];

  text[0] = '\0';
  qtls_cat(text, sizeof text, what, why);
  qtls_clean(reason, sizeof reason, text, 0, 1);
  line[0] = '\0';
  return qtls_cat(line, QTLS_STATUS_MAX, "N ", reason, "\n");
}

void qtls_ctl_refuse(int ctl, const char *what, const char *why)
{
  char line[QTLS_STATUS_MAX];

  qtls_ctl_answer(ctl, qtls_nline(line, what, why));
}
