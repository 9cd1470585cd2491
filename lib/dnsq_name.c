/*
 * dnsq_name: a name as text into DNS wire form, and a query packet.
 * Library code (dnsq.h); libc only.
 */
#include <string.h>

#include "dnsq.h"

#define LABEL_MAX 63 /* RFC 1035 2.3.4 */
#define HEADER_LEN 12

size_t dnsq_name_wire(unsigned char *out, const char *name, size_t len)
{
  size_t pos = 0;
  size_t start = 0;
  size_t i;

  if (len > 0 && name[len - 1] == '.') len--;
  if (len == 0) { /* the root */
    out[0] = 0;
    return 1;
  }
  for (i = 0; i <= len; i++) {
    if (i < len && name[i] != '.') continue;
    size_t label = i - start;
    if (label == 0 || label > LABEL_MAX) return 0;
    if (pos + 1 + label + 1 > DNSQ_NAME_MAX) return 0;
    out[pos++] = (unsigned char)label;
    memcpy(out + pos, name + start, label);
    pos += label;
    start = i + 1;
  }
  out[pos++] = 0;
  return pos;
}

size_t dnsq_build(unsigned char *out, unsigned int id, const unsigned char *qwire,
                  size_t qwirelen, unsigned int qtype, int edns)
{
  size_t pos = HEADER_LEN;

  memset(out, 0, HEADER_LEN);
  out[0] = (unsigned char)(id >> 8);
  out[1] = (unsigned char)id;
  out[2] = 0x01;               /* RD */
  out[3] = 0x20;               /* AD: tell us what the resolver validated (RFC 6840 5.7) */
  out[5] = 1;                  /* QDCOUNT */
  memcpy(out + pos, qwire, qwirelen);
  pos += qwirelen;
  out[pos++] = (unsigned char)(qtype >> 8);
  out[pos++] = (unsigned char)qtype;
  out[pos++] = 0;
  out[pos++] = 1;              /* class IN */
  if (edns) {
    out[11] = 1;               /* ARCOUNT */
    out[pos++] = 0;            /* root owner */
    out[pos++] = 0;
    out[pos++] = DNSQ_T_OPT;
    out[pos++] = (unsigned char)(DNSQ_UDP_PAYLOAD >> 8);
    out[pos++] = (unsigned char)(DNSQ_UDP_PAYLOAD & 0xff);
    memset(out + pos, 0, 6);   /* extended rcode, version, flags, RDLENGTH */
    pos += 6;
  }
  return pos;
}
