#ifndef IPADDR_H
#define IPADDR_H
/*
 * ipaddr: facts about a client's address in text form, as qlisten (or
 * tcpserver) puts it into TCPREMOTEIP.
 *
 * ipaddr_isloopback: 1 if the address can only be this host's own, 0 if
 * not (or if it is not an address). Loopback is all of 127.0.0.0/8
 * (RFC 1122 3.2.1.3: such packets never leave or enter a host), ::1
 * (RFC 4291 2.5.3), and 127.0.0.0/8 mapped into IPv6 (::ffff:127.x.y.z,
 * RFC 4291 2.5.5.2), which a dual-stack listener reports for IPv4
 * clients. A stricter rule (127.0.0.1 only) would add no safety: any
 * local user may bind any of these addresses.
 */
int ipaddr_isloopback(const char *ip);

/*
 * ipaddr_sockaddr: the socket address of an address literal (IPv4 or
 * IPv6 text form) and a port, for connect(2): *len set. 0, or -1 if ip is
 * no address literal.
 */
struct sockaddr_storage;
int ipaddr_sockaddr(struct sockaddr_storage *ss, unsigned int *len, const char *ip,
                    unsigned int port);

#endif
