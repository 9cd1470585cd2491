/*
 * qtls_ca_default: the system's trust anchors for qtls-client and qmtasts
 * (when no CA file is given). Where the system keeps a hashed directory
 * (SSL_CERT_DIR, else OpenSSL's certs/; Debian's update-ca-certificates
 * makes the links), OpenSSL looks the issuer that a chain names up there
 * during the handshake: one small file. Only where it has none is the
 * bundle file (OpenSSL's cert.pem) loaded, as before.
 * Not SSL_CTX_set_default_verify_paths: it parses the whole bundle (on
 * Debian about 140 certificates, 200 KB of PEM, each key decoded by the
 * providers) before the first byte goes out. qtls-client runs once per
 * STARTTLS, after the server's 220, when qtlsd's handshake limit is
 * already counting: that parse cost milliseconds in a normal build, but
 * seconds of CPU per helper under AddressSanitizer, and a burst of
 * helpers on a busy machine outran the limit on both ends.
 * A bundle named by SSL_CERT_FILE is still loaded whole, as OpenSSL would:
 * that is the admin's (or a test's) choice.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "qtls_ssl.h"

#define HASH_NAME_LEN 10 /* "0123abcd.0": X509_NAME_hash, ".", a number */

static int is_hash_name(const char *s)
{
  size_t i;

  if (strlen(s) < HASH_NAME_LEN || s[8] != '.' || s[9] < '0' || s[9] > '9') return 0;
  for (i = 0; i < 8; i++)
    if ((s[i] < '0' || s[i] > '9') && (s[i] < 'a' || s[i] > 'f')) return 0;
  return 1;
}

/* 1 if dir holds at least one certificate under its hash name (a list of
 * directories, or one that cannot be read, counts as none). */
static int hashed(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  int found = 0;

  if (d == NULL) return 0;
  while (!found && (e = readdir(d)) != NULL) found = is_hash_name(e->d_name);
  closedir(d);
  return found;
}

/* What SSL_CTX_set_default_verify_paths does (both read SSL_CERT_DIR and
 * SSL_CERT_FILE themselves, and take a missing file as an empty one),
 * without the bundle where the directory serves. */
int qtls_ca_default(SSL_CTX *ctx)
{
  const char *file = getenv(X509_get_default_cert_file_env());
  const char *dir = getenv(X509_get_default_cert_dir_env());

  if (dir == NULL || dir[0] == '\0') dir = X509_get_default_cert_dir();
  if (SSL_CTX_set_default_verify_dir(ctx) != 1) return -1;
  if ((file != NULL && file[0] != '\0') || !hashed(dir))
    return SSL_CTX_set_default_verify_file(ctx) == 1 ? 0 : -1;
  return 0;
}
