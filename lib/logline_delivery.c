/*
 * logline_delivery: the parts of a qsend delivery line (logline.h).
 */
#include <string.h>

#include "logline.h"
#include "queue.h"

static int starts(const char *s, size_t len, const char *word)
{
  size_t n = strlen(word);
  return len >= n && !memcmp(s, word, n);
}

int logline_delivery(const char *s, size_t len, struct logline_delivery *d)
{
  static const char *const words[3] = {" ok:", " deferred:", " failed:"};
  const char *first = NULL;
  size_t i = 0;
  int k;

  while (i < len && i < QUEUE_ID_MAX - 1 &&
         ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
    i++;
  if (i == 0 || i >= len || s[i] != '.') return 0;
  d->id_len = i;
  for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {}
  if (starts(s + i, len - i, " local ")) d->remote = 0;
  else if (starts(s + i, len - i, " remote ")) d->remote = 1;
  else return 0;
  for (k = 0; k < 3; k++) {
    const char *p = memmem(s + i, len - i, words[k], strlen(words[k]));
    if (p != NULL && (first == NULL || p < first)) {
      first = p;
      d->status = (enum logline_status)k;
    }
  }
  if (first == NULL) return 0;
  i = (size_t)(first - s) + strlen(words[d->status]);
  if (i < len && s[i] == ' ') i++;
  d->text = i;
  return 1;
}
