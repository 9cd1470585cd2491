/*
 * smtpdata_put: the message as the DATA of an SMTP or LMTP transaction
 * (smtpdata.h). Reads the queue file by offset, 64 KiB at a time.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "smtpdata.h"

#define CHUNK 65536

int smtpdata_put(buffer *out, int fd, off_t start, unsigned long long len)
{
  char buf[CHUNK];
  unsigned long long done = 0;
  int bol = 1;

  while (done < len) {
    size_t want = len - done > sizeof buf ? sizeof buf : (size_t)(len - done);
    ssize_t r = pread(fd, buf, want, start + (off_t)done);
    size_t pos = 0;

    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO; /* shorter than its header says */
      return -1;
    }
    while (pos < (size_t)r) {
      const char *nl = memchr(buf + pos, '\n', (size_t)r - pos);
      size_t end = nl != NULL ? (size_t)(nl - buf) : (size_t)r;

      /* RFC 5321 4.5.2: a line that starts with a period gets another */
      if (bol && end > pos && buf[pos] == '.' && buffer_put(out, ".", 1) == -1) return -2;
      if (buffer_put(out, buf + pos, end - pos) == -1) return -2;
      if (nl != NULL) {
        if (buffer_put(out, "\r\n", 2) == -1) return -2;
        bol = 1;
        pos = end + 1;
      } else {
        bol = 0;
        pos = end;
      }
    }
    done += (unsigned long long)r;
  }
  if (!bol && buffer_put(out, "\r\n", 2) == -1) return -2;
  if (buffer_put(out, ".\r\n", 3) == -1) return -2;
  return 0;
}
