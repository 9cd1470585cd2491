/* u_qinject_dkim: reading the fields of QMTA_DKIMREQ (qinject_dkim.h). */
#include <string.h>

#include "tap.h"
#include "qinject_dkim.h"

int main(void)
{
  const char *req = "id mx.example.org\nip 192.0.2.7\nhelo \nfrom bob@example.net\n"
                    "spfd example.net\nspf pass";
  char val[16];

  plan(9);
  ok(qinject_dkim_field(req, "id", val, sizeof val) == 1 && !strcmp(val, "mx.example.org"),
     "first line");
  ok(qinject_dkim_field(req, "spf", val, sizeof val) == 1 && !strcmp(val, "pass"),
     "last line without LF; not taken from spfd");
  ok(qinject_dkim_field(req, "spfd", val, sizeof val) == 1 && !strcmp(val, "example.net"),
     "spfd");
  ok(qinject_dkim_field(req, "helo", val, sizeof val) == 1 && val[0] == '\0', "empty value");
  ok(qinject_dkim_field(req, "from", val, 8) == 1 &&
     !strcmp(val, "bob@exa"), "a long value cut to fit, NUL-terminated");
  ok(qinject_dkim_field(req, "auth", val, sizeof val) == 0, "missing key");
  ok(qinject_dkim_field(req, "i", val, sizeof val) == 0, "a key is a whole word");
  ok(qinject_dkim_field(NULL, "id", val, sizeof val) == 0, "no variable");
  ok(qinject_dkim_field("id\nip 1", "id", val, sizeof val) == 0, "a key without value");
  return done_testing();
}
