/*
 * qdkim-keygen: makes a domain's DKIM signing keys and prints the DNS
 * records to publish. Run by the admin in QHOME (root or the instance's
 * user). ISC licence.
 *
 *   qdkim-keygen [-t rsa|ed25519|both] [-b bits] [-C dir] domain selector
 *
 * Writes DIR/DOMAIN/SELECTOR.rsa and/or DIR/DOMAIN/SELECTOR.ed25519 (PEM
 * private keys, mode 0640; run as root, owned by root and the group of
 * DIR), and DIR/DOMAIN/selector with SELECTOR if that file does not exist
 * (the active selector; see dkim.h). DIR defaults to $QHOME/control/dkim,
 * else control/dkim when run in an instance's directory, else
 * /var/qmta/control/dkim. An
 * existing key file is never overwritten. Each file is written under a
 * temporary name, fsynced and linked into place, then the directory is
 * fsynced. Prints one line per key:
 *   SELECTOR._domainkey.DOMAIN. IN TXT "v=DKIM1; k=rsa; p=..." (strings of
 *   at most 255 bytes)
 * Exit: 0 done; 100 usage, bad domain or selector, a key already there;
 * 111 a system or crypto error.
 * Plain POSIX and OpenSSL only: never libowfat.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim.h"
#include "dkim_int.h"
#include "qtls.h"

#define USAGE "usage: qdkim-keygen [-t rsa|ed25519|both] [-b bits] [-C dir] domain selector"
#define RSA_BITS_DEFAULT 2048
#define RSA_BITS_MAX 4096 /* larger keys do not fit a usual DNS answer */
#define TXT_STRING_MAX 255 /* RFC 1035 3.3.14: one character-string */

static void die_usage(void)
{
  qtls_die(100, USAGE);
}

static void die_nomem(void)
{
  qtls_die(111, "out of memory");
}

static void die_crypto(const char *what)
{
  ERR_clear_error();
  qtls_die(111, "unable to ", what);
}

/* writes data as path: a temporary file, fsync, link (refusing an existing
 * path: 0 if it was there, 1 written), unlink of the temporary name */
static int write_new(const char *dir, const char *path, const char *data, size_t len, gid_t gid)
{
  char tmp[4200];
  int fd;
  int r;

  if ((size_t)snprintf(tmp, sizeof tmp, "%s/.tmp.%ld", dir, (long)getpid()) >= sizeof tmp)
    qtls_die(100, "path too long: ", dir);
  unlink(tmp);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd == -1) qtls_die_sys(111, "unable to create ", tmp);
  if (gid != (gid_t)-1 && fchown(fd, 0, gid) == -1) qtls_die_sys(111, "unable to chown ", tmp);
  if (fchmod(fd, 0640) == -1) qtls_die_sys(111, "unable to chmod ", tmp);
  if (qtls_write_all(fd, data, len) == -1 || fsync(fd) == -1 || close(fd) == -1)
    qtls_die_sys(111, "unable to write ", tmp);
  r = link(tmp, path);
  if (r == -1 && errno != EEXIST) qtls_die_sys(111, "unable to link ", path);
  unlink(tmp);
  return r == 0;
}

static void dir_sync(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd == -1 || fsync(fd) == -1) qtls_die_sys(111, "unable to sync ", dir);
  close(fd);
}

static void make_dir(const char *path, gid_t gid)
{
  if (mkdir(path, 0750) == -1) {
    if (errno != EEXIST) qtls_die_sys(111, "unable to create ", path);
    return;
  }
  if (gid != (gid_t)-1 && chown(path, 0, gid) == -1) qtls_die_sys(111, "unable to chown ", path);
}

/* the PEM of pkey's private key into b */
static void private_pem(EVP_PKEY *pkey, struct dkim_buf *b)
{
  BIO *bio = BIO_new(BIO_s_mem());
  char *p;
  long n;

  if (bio == NULL || PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
    die_crypto("write the key");
  n = BIO_get_mem_data(bio, &p);
  if (n <= 0 || dkim_buf_put(b, p, (size_t)n) == -1) die_nomem();
  BIO_free(bio);
}

/* the record's p=: the SubjectPublicKeyInfo of an RSA key (RFC 6376
 * 3.6.1), the bare 32 bytes of an Ed25519 one (RFC 8463 4.2) */
static void public_b64(EVP_PKEY *pkey, int type, struct dkim_buf *b)
{
  unsigned char raw[32];
  unsigned char *der = NULL;
  char *text;
  size_t len = sizeof raw;
  int n;

  if (type == DKIM_ED25519) {
    if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof raw)
      die_crypto("get the public key");
    der = raw;
  } else {
    n = i2d_PUBKEY(pkey, &der);
    if (n <= 0) die_crypto("get the public key");
    len = (size_t)n;
  }
  text = malloc(4 * ((len + 2) / 3) + 1);
  if (text == NULL) die_nomem();
  dkim_b64_encode(text, der, len);
  if (dkim_buf_puts(b, text) == -1) die_nomem();
  free(text);
  if (der != raw) OPENSSL_free(der);
}

static void print_record(const char *domain, const char *selector, int type, const char *p)
{
  struct dkim_buf rec = { 0 };
  struct dkim_buf line = { 0 };
  size_t i;

  if (dkim_buf_puts(&rec, type == DKIM_RSA ? "v=DKIM1; k=rsa; p=" : "v=DKIM1; k=ed25519; p=") ==
        -1 || dkim_buf_puts(&rec, p) == -1)
    die_nomem();
  if (dkim_buf_puts(&line, selector) == -1 || dkim_buf_puts(&line, "._domainkey.") == -1 ||
      dkim_buf_puts(&line, domain) == -1 || dkim_buf_puts(&line, ". IN TXT") == -1)
    die_nomem();
  for (i = 0; i < rec.len; i += TXT_STRING_MAX) {
    size_t n = rec.len - i < TXT_STRING_MAX ? rec.len - i : TXT_STRING_MAX;
    if (dkim_buf_puts(&line, " \"") == -1 || dkim_buf_put(&line, rec.s + i, n) == -1 ||
        dkim_buf_puts(&line, "\"") == -1)
      die_nomem();
  }
  if (dkim_buf_puts(&line, "\n") == -1) die_nomem();
  if (qtls_write_all(1, line.s, line.len) == -1) qtls_die_sys(111, "unable to write output");
  dkim_buf_free(&rec);
  dkim_buf_free(&line);
}

/* The key directory without -C: QHOME's control/dkim when QHOME is set;
 * else control/dkim here when this is an instance's directory (a control
 * directory is here); else the default instance's, /var/qmta. */
static const char *default_dir(void)
{
  static char buf[4096];
  const char *home = getenv("QHOME");
  struct stat st;

  if ((home == NULL || home[0] == '\0') && stat("control", &st) == 0 && S_ISDIR(st.st_mode))
    return "control/dkim";
  if (home == NULL || home[0] == '\0') home = "/var/qmta";
  if ((size_t)snprintf(buf, sizeof buf, "%s/control/dkim", home) >= sizeof buf)
    qtls_die(100, "QHOME too long: ", home);
  return buf;
}

int main(int argc, char **argv)
{
  const char *dir = NULL;
  const char *kinds = "both";
  unsigned int bits = RSA_BITS_DEFAULT;
  char domain[256];
  char domdir[4096];
  char path[4200];
  const char *selector;
  struct stat st;
  gid_t gid = (gid_t)-1;
  int want[2];
  int k;
  int opt;
  size_t i;

  qtls_prog = "qdkim-keygen";
  opterr = 0; /* getopt says nothing: the usage line does */
  while ((opt = getopt(argc, argv, "t:b:C:")) != -1) {
    switch (opt) {
    case 't': kinds = optarg; break;
    case 'b':
      if (qtls_scan_uint(optarg, &bits) == -1 || bits < DKIM_RSA_MIN_BITS || bits > RSA_BITS_MAX)
        qtls_die(100, "bits must be 1024 to 4096");
      break;
    case 'C': dir = optarg; break;
    default: die_usage();
    }
  }
  if (argc - optind != 2) die_usage();
  if (dir == NULL) dir = default_dir();
  want[0] = strcmp(kinds, "rsa") == 0 || strcmp(kinds, "both") == 0;
  want[1] = strcmp(kinds, "ed25519") == 0 || strcmp(kinds, "both") == 0;
  if (!want[0] && !want[1]) die_usage();
  i = strlen(argv[optind]);
  if (i > 0 && argv[optind][i - 1] == '.') i--;
  if (i >= sizeof domain || !dkim_name_ok(argv[optind], i) || memchr(argv[optind], '.', i) == NULL)
    qtls_die(100, "bad domain: ", argv[optind]);
  for (size_t j = 0; j < i; j++) {
    char c = argv[optind][j];
    domain[j] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
  }
  domain[i] = '\0';
  selector = argv[optind + 1];
  if (strlen(selector) >= 64 || !dkim_name_ok(selector, strlen(selector)))
    qtls_die(100, "bad selector: ", selector);

  /* DIR and DIR/DOMAIN: 0750; as root, group of DIR */
  if (stat(dir, &st) == -1) {
    char parent[4096];
    const char *slash = strrchr(dir, '/');

    if (errno != ENOENT) qtls_die_sys(111, "unable to stat ", dir);
    /* DIR is made, its parent not: a control/ that is not there is the
     * wrong place (not an instance), said as such */
    if (slash != NULL && (size_t)(slash - dir) < sizeof parent) {
      memcpy(parent, dir, (size_t)(slash - dir));
      parent[slash - dir] = '\0';
      if (parent[0] != '\0' && stat(parent, &st) == -1)
        qtls_die(111, "no directory ", parent, ": not an instance? (QHOME, or -C dir)");
    }
    make_dir(dir, (gid_t)-1);
    if (stat(dir, &st) == -1) qtls_die_sys(111, "unable to stat ", dir);
  }
  if (geteuid() == 0) gid = st.st_gid;
  if ((size_t)snprintf(domdir, sizeof domdir, "%s/%s", dir, domain) >= sizeof domdir)
    qtls_die(100, "path too long: ", dir);
  make_dir(domdir, gid);

  for (k = 0; k < 2; k++) {
    if (!want[k]) continue;
    snprintf(path, sizeof path, "%s/%s%s", domdir, selector, k == 0 ? ".rsa" : ".ed25519");
    if (lstat(path, &st) == 0) qtls_die(100, "refusing to overwrite ", path);
    if (errno != ENOENT) qtls_die_sys(111, "unable to stat ", path);
  }
  for (k = 0; k < 2; k++) {
    struct dkim_buf pem = { 0 };
    struct dkim_buf pub = { 0 };
    int type = k == 0 ? DKIM_RSA : DKIM_ED25519;
    EVP_PKEY *pkey;

    if (!want[k]) continue;
    pkey = type == DKIM_RSA ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits)
                            : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (pkey == NULL) die_crypto("make a key");
    private_pem(pkey, &pem);
    public_b64(pkey, type, &pub);
    snprintf(path, sizeof path, "%s/%s%s", domdir, selector, k == 0 ? ".rsa" : ".ed25519");
    if (!write_new(domdir, path, pem.s, pem.len, gid))
      qtls_die(100, "refusing to overwrite ", path);
    OPENSSL_cleanse(pem.s, pem.len);
    print_record(domain, selector, type, pub.s);
    dkim_buf_free(&pem);
    dkim_buf_free(&pub);
    EVP_PKEY_free(pkey);
  }
  /* the active selector, unless one is set (rotation rewrites it by hand) */
  {
    struct dkim_buf sel = { 0 };
    if (dkim_buf_puts(&sel, selector) == -1 || dkim_buf_puts(&sel, "\n") == -1) die_nomem();
    snprintf(path, sizeof path, "%s/selector", domdir);
    write_new(domdir, path, sel.s, sel.len, gid);
    dkim_buf_free(&sel);
  }
  dir_sync(domdir);
  return 0;
}
