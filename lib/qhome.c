/* qhome: the instance directory, $QHOME or QHOME_DEFAULT. */
#include <stdlib.h>
#include "ctl.h"

const char *qhome(void)
{
  const char *h = getenv("QHOME");

  if (h == NULL || *h == '\0') return QHOME_DEFAULT;
  return h;
}
