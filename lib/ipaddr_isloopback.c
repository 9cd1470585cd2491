/*
 * ipaddr_isloopback: whether a client address is one of this host's
 * loopback addresses (see ipaddr.h). qsmtpd and qpop3d use it for
 * control/authplaintext, so that both apply the same rule.
 */
#include <arpa/inet.h>
#include <string.h>

#include "ipaddr.h"

#define LOOPBACK_NET4 127 /* RFC 1122 3.2.1.3: 127.0.0.0/8 */

int ipaddr_isloopback(const char *ip)
{
  static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  unsigned char bin[16];

  if (ip == NULL) return 0;
  /* inet_pton takes only the full dotted quad: "127.1" is not an address */
  if (inet_pton(AF_INET, ip, bin) == 1) return bin[0] == LOOPBACK_NET4;
  if (inet_pton(AF_INET6, ip, bin) != 1) return 0;
  if (memcmp(bin, loop6, sizeof loop6) == 0) return 1;
  return memcmp(bin, mapped, sizeof mapped) == 0 && bin[12] == LOOPBACK_NET4;
}
