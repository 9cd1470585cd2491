/*
 * qtls_ctl_answer, qtls_ctl_refuse: the wrapper's side of the STARTTLS
 * control descriptor (qtls-server.8). Used by qtls-server, when it cannot
 * start its TLS stage, and by qtls-server-tls.
 */
#include <string.h>

#include "qtls.h"

void qtls_ctl_answer(int ctl, const char *line)
{
  qtls_write_all(ctl, line, strlen(line)); /* the program may be gone: nothing changes */
}

void qtls_ctl_refuse(int ctl, const char *what, const char *why)
{
  char text[QTLS_LINE_MAX];
  char reason[QTLS_TEXT_MAX + 1];
  char line[QTLS_STATUS_MAX];

  text[0] = '\0';
  qtls_cat(text, sizeof text, what, why);
  qtls_clean(reason, sizeof reason, text, 0, 1);
  line[0] = '\0';
  qtls_cat(line, sizeof line, "N ", reason, "\n");
  qtls_ctl_answer(ctl, line);
}
