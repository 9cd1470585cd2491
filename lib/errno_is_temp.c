/*
 * errno_is_temp: whether a failure with errno e is worth a retry later
 * (111) or is permanent (100). Resource shortages, I/O trouble and
 * network conditions pass; bad names, permissions and formats do not.
 */
#include <errno.h>
#include "qlog.h"

int errno_is_temp(int e)
{
  switch (e) {
    case EINTR:
    case EAGAIN:
#if defined(EWOULDBLOCK) && EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case ENOMEM:
    case ENOSPC:
    case EIO:
    case EDQUOT:
    case ENFILE:
    case EMFILE:
    case ETIMEDOUT:
    case EBUSY:
    case ETXTBSY:
    case ENOBUFS:
    case EDEADLK:
    case ENOLCK:
    case ESTALE:
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case EHOSTDOWN:
    case EPIPE:
    case EPROTO:
      return 1;
    default:
      return 0;
  }
}
