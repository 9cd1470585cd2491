#ifndef ACCESS_H
#define ACCESS_H
/*
 * access: control/access (sendmail's access syntax) compiled by qnewmaps
 * into control/access.cdb, consulted by qsmtpd.
 *
 * Text: "[Tag:]key <blanks> action", '#' comments. Tags: Connect:, From:,
 * To: (any case); untagged keys apply to all three. Keys: an IPv4 address
 * or prefix ("192.168.0", "10"), an IPv6 address or prefix ("IPv6:2001:db8"),
 * a network in CIDR form ("192.168.16.0/20", "IPv6:2001:db8::/29"; no bit
 * set past the length), a host name or domain (matches subdomains too),
 * "user@domain", "user@".
 * Actions: OK, RELAY, REJECT, DISCARD, "ERROR:x.y.z:nnn text" (also
 * "ERROR:nnn text").
 *
 * CDB: key = "c:" / "f:" / "t:" for tagged entries, "*:" for untagged,
 * then the key lowercased (an IP network as access_fmtip writes it); value =
 * the action as written. For CIDR keys whose length is not a whole number of
 * octets (IPv4) or groups (IPv6), ACCESS_CIDR4 and ACCESS_CIDR6 hold one
 * character a length, '1' where the map has such a key, so that a lookup
 * tries those lengths only. One more record,
 * ACCESS_HOSTKEYS ("!hostnames" -> "1"), says that a host-name key is there
 * that a Connect lookup can match (a Connect: or untagged domain key): only
 * then does qsmtpd look up the client's name in DNS.
 *
 * access_lookup finds the most specific entry for one thing:
 *   ACCESS_CONNECT: ip (text form) and, if not NULL, the client's host name
 *   ACCESS_FROM / ACCESS_TO: an address in internal form
 * Order: the exact address, "user@", the domain and then each parent domain
 * (longest first); for IPs the full address then each shorter prefix, bit
 * by bit (the longest prefix wins, whatever form it was written in); the
 * tagged entry before the untagged at each step. 1 found (action in val,
 * NUL-terminated), 0 none, -1 error + errno.
 *
 * access_hostkeys: 1 the map has the ACCESS_HOSTKEYS record, 0 it has not
 * (or there is no map), -1 error + errno.
 */
#include <stddef.h>
#include <stralloc.h>

#define ACCESS_TEXT "control/access"
#define ACCESS_CDB "control/access.cdb"
#define ACCESS_CONNECT 'c'
#define ACCESS_FROM 'f'
#define ACCESS_TO 't'
#define ACCESS_HOSTKEYS "!hostnames" /* no tag is '!': no key can collide */
#define ACCESS_CIDR4 "!cidr4"         /* 33 characters: lengths 0..32 */
#define ACCESS_CIDR6 "!cidr6"         /* 129 characters: lengths 0..128 */
#define ACCESS_IPKEY_MAX 48           /* "ipv6:" + 8 groups of 4 + 7 ':' + "/128" */

int access_lookup(int kind, const char *key, size_t len, const char *host, stralloc *val);
int access_hostkeys(void);
/* The key of the network of the first bits of bin (v6: 16 bytes, else 4)
 * into out (ACCESS_IPKEY_MAX bytes, not NUL-terminated). Length. */
size_t access_fmtip(char *out, int v6, const unsigned char *bin, unsigned bits);

#endif
