/* qlocal as a program: see qlocal.c. */
#include "qlocal.h"

int main(int argc, char **argv)
{
  return qlocal_main(argc, argv);
}
