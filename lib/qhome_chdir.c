/* qhome_chdir: chdir to the instance; file names are relative after it. */
#include <unistd.h>
#include "ctl.h"

int qhome_chdir(void)
{
  return chdir(qhome());
}
