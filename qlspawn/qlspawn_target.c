/*
 * qlspawn_target: the LMTP server a mailbox names (qlspawn.h), parsed
 * apart from the client so that the unit test links it alone.
 */
#include <string.h>

#include <scan.h>

#include "qlspawn.h"

int lmtp_target_parse(struct lmtp_target *t, const char *s)
{
  const char *colon;
  size_t hlen;

  memset(t, 0, sizeof *t);
  if (strncmp(s, LMTP_PREFIX, sizeof LMTP_PREFIX - 1) != 0) return -1;
  s += sizeof LMTP_PREFIX - 1;
  if (strncmp(s, "unix:", 5) == 0) {
    s += 5;
    if (s[0] != '/' || strlen(s) >= sizeof t->path) return -1;
    t->unix_socket = 1;
    strcpy(t->path, s);
    return 0;
  }
  if (s[0] == '[') { /* [IPv6]:port */
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':') return -1;
    hlen = (size_t)(close - s - 1);
    colon = close + 1;
    s++;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL) return -1;
    hlen = (size_t)(colon - s);
    if (memchr(s, ':', hlen) != NULL) return -1;
  }
  if (hlen == 0 || hlen >= sizeof t->host) return -1;
  memcpy(t->host, s, hlen);
  t->host[hlen] = '\0';
  if (colon[1] == '\0' || colon[1 + scan_ulong(colon + 1, &t->port)] != '\0' || t->port == 0 ||
      t->port > 65535)
    return -1;
  return 0;
}
