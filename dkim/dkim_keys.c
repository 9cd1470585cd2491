/*
 * dkim_keys_for: the signing keys for a From domain, in the layout of
 * dkim.h (DIR/DOMAIN/selector, DIR/DOMAIN/SELECTOR.rsa and .ed25519): the
 * domain itself, then each parent domain. ISC licence.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dkim.h"
#include "dkim_int.h"

#define SELECTOR_FILE_MAX 256 /* bytes read of DIR/DOMAIN/selector */

/* the selector named in path: 1 found, 0 no such file, -1 error */
static int read_selector(const char *path, char sel[64])
{
  char buf[SELECTOR_FILE_MAX];
  ssize_t got;
  size_t n;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd == -1) return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
  got = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (got == -1) return -1;
  n = (size_t)got;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) n--;
  if (memchr(buf, '\n', n) != NULL) n = (size_t)((char *)memchr(buf, '\n', n) - buf);
  if (n == 0 || n >= 64 || !dkim_name_ok(buf, n)) {
    errno = EINVAL;
    return -1;
  }
  memcpy(sel, buf, n);
  sel[n] = '\0';
  return 1;
}

int dkim_keys_for(const char *dir, const char *domain, struct dkim_keyfile *keys, int max)
{
  static const struct {
    const char *ext;
    int type;
  } kinds[] = { { ".rsa", DKIM_RSA }, { ".ed25519", DKIM_ED25519 } };
  char dom[256];
  char path[4096];
  char sel[64];
  size_t len = strlen(domain);
  size_t i;
  const char *d;

  while (len > 0 && domain[len - 1] == '.') len--;
  if (!dkim_name_ok(domain, len) || len >= sizeof dom) {
    errno = EINVAL;
    return -1;
  }
  for (i = 0; i < len; i++)
    dom[i] = domain[i] >= 'A' && domain[i] <= 'Z' ? (char)(domain[i] - 'A' + 'a') : domain[i];
  dom[len] = '\0';

  for (d = dom; d != NULL; d = strchr(d, '.') != NULL ? strchr(d, '.') + 1 : NULL) {
    int r;
    int n = 0;
    size_t k;

    if ((size_t)snprintf(path, sizeof path, "%s/%s/selector", dir, d) >= sizeof path) {
      errno = ENAMETOOLONG;
      return -1;
    }
    r = read_selector(path, sel);
    if (r == -1) return -1;
    if (r == 0) continue;
    for (k = 0; k < sizeof kinds / sizeof kinds[0] && n < max; k++) {
      struct stat st;
      struct dkim_keyfile *kf = &keys[n];
      if ((size_t)snprintf(kf->path, sizeof kf->path, "%s/%s/%s%s", dir, d, sel,
                           kinds[k].ext) >= sizeof kf->path) {
        errno = ENAMETOOLONG;
        return -1;
      }
      if (stat(kf->path, &st) == -1) {
        if (errno == ENOENT) continue;
        return -1;
      }
      memcpy(kf->domain, d, strlen(d) + 1);
      memcpy(kf->selector, sel, strlen(sel) + 1);
      kf->type = kinds[k].type;
      n++;
    }
    return n;
  }
  return 0;
}
