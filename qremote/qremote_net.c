/*
 * qremote_net: addresses, connecting with a timeout, waiting on a socket,
 * and knowing our own addresses (never deliver to ourselves).
 * Addresses are 16 bytes everywhere; IPv4 is kept as ::ffff:a.b.c.d.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qremote.h"

static const char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (char)0xff, (char)0xff};

int net_ismapped(const char ip[16])
{
  return memcmp(ip, v4mapped, 12) == 0;
}

char *net_fmtip(char *buf, const char ip[16])
{
  if (net_ismapped(ip)) {
    if (inet_ntop(AF_INET, ip + 12, buf, IP_FMT_MAX) == NULL) buf[0] = '\0';
  } else {
    if (inet_ntop(AF_INET6, ip, buf, IP_FMT_MAX) == NULL) buf[0] = '\0';
  }
  return buf;
}

int net_scanip(char ip[16], const char *s, size_t len)
{
  char text[IP_FMT_MAX];

  if (len >= 5 && strncasecmp(s, "IPv6:", 5) == 0) {
    s += 5;
    len -= 5;
    if (len == 0 || len >= sizeof text) return 0;
    memcpy(text, s, len);
    text[len] = '\0';
    return inet_pton(AF_INET6, text, ip) == 1;
  }
  if (len == 0 || len >= sizeof text) return 0;
  memcpy(text, s, len);
  text[len] = '\0';
  if (inet_pton(AF_INET, text, ip + 12) == 1) {
    memcpy(ip, v4mapped, 12);
    return 1;
  }
  return inet_pton(AF_INET6, text, ip) == 1;
}

int net_wait(int fd, short events, unsigned long timeout)
{
  struct pollfd p;
  int ms = timeout > 2000000UL ? 2000000000 : (int)(timeout * 1000);
  int r;

  p.fd = fd;
  p.events = events;
  do r = poll(&p, 1, ms); while (r == -1 && errno == EINTR);
  if (r == -1) return -1;
  return r == 0 ? 0 : 1;
}

int net_connect(const char ip[16], unsigned long port, unsigned long timeout)
{
  struct sockaddr_in6 sa6;
  struct sockaddr_in sa4;
  struct sockaddr *sa;
  socklen_t salen;
  int fd;
  int err;
  socklen_t errlen = sizeof err;

  if (net_ismapped(ip)) {
    memset(&sa4, 0, sizeof sa4);
    sa4.sin_family = AF_INET;
    sa4.sin_port = htons((unsigned short)port);
    memcpy(&sa4.sin_addr, ip + 12, 4);
    sa = (struct sockaddr *)&sa4;
    salen = sizeof sa4;
  } else {
    memset(&sa6, 0, sizeof sa6);
    sa6.sin6_family = AF_INET6;
    sa6.sin6_port = htons((unsigned short)port);
    memcpy(&sa6.sin6_addr, ip, 16);
    sa = (struct sockaddr *)&sa6;
    salen = sizeof sa6;
  }

  fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd == -1) return -1;
  if (connect(fd, sa, salen) == 0) return fd;
  if (errno != EINPROGRESS) goto fail;
  switch (net_wait(fd, POLLOUT, timeout)) {
    case -1: goto fail;
    case 0: errno = ETIMEDOUT; goto fail;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1) goto fail;
  if (err != 0) {
    errno = err;
    goto fail;
  }
  return fd;

fail:
  err = errno;
  close(fd);
  errno = err;
  return -1;
}

int net_isme(const char ip[16])
{
  static const char any6[16] = {0};
  struct ifaddrs *list;
  struct ifaddrs *ifa;
  int found = 0;

  if (memcmp(ip, any6, 16) == 0) return 1;
  if (net_ismapped(ip) && memcmp(ip + 12, any6, 4) == 0) return 1;
  if (getifaddrs(&list) == -1) return 0;
  for (ifa = list; ifa != NULL && !found; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == NULL) continue;
    if (ifa->ifa_addr->sa_family == AF_INET && net_ismapped(ip)) {
      const struct sockaddr_in *s4 = (const struct sockaddr_in *)(void *)ifa->ifa_addr;
      if (memcmp(&s4->sin_addr, ip + 12, 4) == 0) found = 1;
    } else if (ifa->ifa_addr->sa_family == AF_INET6 && !net_ismapped(ip)) {
      const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(void *)ifa->ifa_addr;
      if (memcmp(&s6->sin6_addr, ip, 16) == 0) found = 1;
    }
  }
  freeifaddrs(list);
  return found;
}
