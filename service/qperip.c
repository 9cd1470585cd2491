/*
 * qperip: limit the simultaneous connections of one client address.
 *
 *   qperip -f lockfile [-m reply] prog [arg...]
 *
 * Run by tcpserver (which has no per-address limit) in front of
 * qtls-server. It reads the limit from control/concurrencyperip (default
 * 40; 0 means no limit) in $QHOME at every connection, and the client's
 * address from TCPREMOTEIP. Loopback clients (127.0.0.0/8, ::1) are never
 * limited. An IPv6 client counts by its /64, the block one host gets.
 *
 * Counting without a counter: lockfile holds, for each address bucket,
 * LIMIT_MAX one-byte slots; a connection takes a free slot with an
 * open-file-description lock (F_OFD_SETLK) on a descriptor that it keeps
 * open across exec and that its children inherit. When the last process
 * of the connection exits, the kernel drops the lock: nothing to clean up,
 * nothing to get wrong after a crash. With no free slot the client gets
 * reply (with CRLF added; nothing if reply is empty, as on a TLS port)
 * and the connection ends. Addresses share a bucket only by a hash
 * collision among 2^20 buckets.
 * Exit: prog's, 0 after refusing a client, 100 usage, 111 if prog cannot
 * be run. A lock problem is logged and lets the client in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fmt.h>

#include "ctl.h"
#include "durable.h"
#include "qlog.h"

#define USAGE "qperip -f lockfile [-m reply] prog [arg...]"
#define PERIP_CTL "control/concurrencyperip"
#define PERIP_DEFAULT 40
#define LIMIT_MAX 1000     /* slots per bucket: the largest limit honoured */
#define BUCKETS (1 << 20)  /* buckets in the lock file (sparse: it stays empty) */
#define KEEP_FD_MIN 20     /* the kept descriptor sits above those protocols use */
#define REPLY_MAX 200

static void die_usage(void) { qdie(100, "usage: " USAGE); }

/* The bucket of an address, or -1 for loopback and unparsable ones. */
static long bucket_of(const char *ip)
{
  unsigned char bin[16];
  const unsigned char *key;
  size_t keylen;
  uint64_t h = 14695981039346656037ULL; /* FNV-1a */
  size_t i;

  if (inet_pton(AF_INET, ip, bin) == 1) {
    if (bin[0] == 127) return -1;
    key = bin;
    keylen = 4;
  } else if (inet_pton(AF_INET6, ip, bin) == 1) {
    static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(bin, loop6, 16) == 0) return -1;
    if (memcmp(bin, mapped, 12) == 0) {
      if (bin[12] == 127) return -1;
      key = bin + 12;
      keylen = 4;
    } else {
      key = bin;
      keylen = 8; /* the /64 */
    }
  } else {
    return -1;
  }
  for (i = 0; i < keylen; i++) {
    h ^= key[i];
    h *= 1099511628211ULL;
  }
  return (long)(h % BUCKETS);
}

/* 1 a slot is ours (fd kept open), 0 all taken, -1 error. */
static int take_slot(const char *fn, long bucket, unsigned long limit)
{
  struct flock fl;
  unsigned long slot;
  int fd;
  int kept;

  fd = open(fn, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd == -1) return -1;
  for (slot = 0; slot < limit; slot++) {
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)bucket * LIMIT_MAX + (off_t)slot;
    fl.l_len = 1;
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0) {
      /* Kept across exec, out of the way of descriptors 0-9. */
      kept = fcntl(fd, F_DUPFD, KEEP_FD_MIN);
      if (kept == -1) {
        close(fd);
        return -1;
      }
      close(fd);
      return 1;
    }
    if (errno != EAGAIN && errno != EACCES) {
      close(fd);
      return -1;
    }
  }
  close(fd);
  return 0;
}

int main(int argc, char **argv)
{
  const char *lockfile = NULL;
  const char *reply = "421 4.7.0 too many connections from your address";
  const char *ip;
  unsigned long limit;
  long bucket;
  int i = 1;
  int r;

  qlog_prog = "qperip";
  while (i < argc && argv[i][0] == '-') {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (i + 1 >= argc) die_usage();
    if (strcmp(argv[i], "-f") == 0) {
      lockfile = argv[i + 1];
    } else if (strcmp(argv[i], "-m") == 0) {
      reply = argv[i + 1];
      if (strlen(reply) > REPLY_MAX) die_usage();
    } else {
      die_usage();
    }
    i += 2;
  }
  if (i >= argc || lockfile == NULL) die_usage();

  ip = getenv("TCPREMOTEIP");
  bucket = (ip != NULL) ? bucket_of(ip) : -1;
  if (bucket >= 0 && qhome_chdir() == 0) {
    if (ctl_readint(&limit, PERIP_CTL, PERIP_DEFAULT) == -1) limit = PERIP_DEFAULT;
    if (limit > LIMIT_MAX) limit = LIMIT_MAX;
    if (limit > 0) {
      r = take_slot(lockfile, bucket, limit);
      if (r == -1) qwarn_sys("unable to lock ", lockfile, ": not limiting ", ip);
      if (r == 0) {
        char num[FMT_ULONG];
        qlog(ip, " refused: more than ", qlog_ulong(num, limit), " connections");
        if (reply[0] != '\0') {
          char line[REPLY_MAX + 3];
          size_t len = strlen(reply);
          memcpy(line, reply, len);
          memcpy(line + len, "\r\n", 2);
          if (durable_writeall(1, line, len + 2) == -1) {} /* the client may be gone */
        }
        return 0;
      }
    }
  }

  execvp(argv[i], argv + i);
  qdie_sys(111, "unable to run ", argv[i]);
}
