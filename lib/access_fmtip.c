/*
 * access_fmtip: the key of control/access.cdb for a network: the first
 * bits of the address bin (4 bytes for IPv4, 16 for IPv6). A prefix that
 * ends on an octet (IPv4) or a group (IPv6) is written as the octets or
 * groups it keeps, as the whole-octet keys always were ("192.168",
 * "ipv6:2001:db8"); any other is the whole network address and its length
 * ("192.168.16.0/20", "ipv6:2001:db8:0:0:0:0:0:0/29"). Bits past the
 * prefix are taken as zero. Groups are lowercase, without leading zeros.
 */
#include <string.h>

#include "access.h"

size_t access_fmtip(char *out, int v6, const unsigned char *bin, unsigned bits)
{
  static const char hex[] = "0123456789abcdef";
  unsigned width = v6 ? 16 : 8;
  unsigned total = v6 ? 128 : 32;
  unsigned parts = bits % width == 0 ? bits / width : total / width;
  unsigned char net[16];
  size_t n = 0;
  unsigned i;

  if (bits > total) bits = total;
  memset(net, 0, sizeof net);
  for (i = 0; i < total / 8; i++) {
    if (bits >= (i + 1) * 8) net[i] = bin[i];
    else if (bits > i * 8) net[i] = (unsigned char)(bin[i] & (0xff << (8 - (bits - i * 8))));
  }
  if (v6) {
    memcpy(out, "ipv6:", 5);
    n = 5;
  }
  for (i = 0; i < parts; i++) {
    if (i > 0) out[n++] = v6 ? ':' : '.';
    if (v6) {
      unsigned v = (unsigned)net[2 * i] << 8 | net[2 * i + 1];
      int started = 0;
      int shift;
      for (shift = 12; shift >= 0; shift -= 4) {
        unsigned digit = (v >> shift) & 15;
        if (digit != 0 || started || shift == 0) {
          out[n++] = hex[digit];
          started = 1;
        }
      }
    } else {
      unsigned v = net[i];
      if (v >= 100) out[n++] = (char)('0' + v / 100);
      if (v >= 10) out[n++] = (char)('0' + v / 10 % 10);
      out[n++] = (char)('0' + v % 10);
    }
  }
  if (bits % width != 0) {
    out[n++] = '/';
    if (bits >= 100) out[n++] = (char)('0' + bits / 100);
    if (bits >= 10) out[n++] = (char)('0' + bits / 10 % 10);
    out[n++] = (char)('0' + bits % 10);
  }
  return n;
}
