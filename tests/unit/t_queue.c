/* tests/unit/t_queue.c: queue file writer and envelope reader in a temp QHOME. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "tap.h"
#include "tmpdir.h"
#include "queue.h"

#define ENV(e, s) env_set(e, s, sizeof(s) - 1)

static int env_set(struct queue_env *e, const char *s, size_t len)
{
  if (!stralloc_copyb(&e->env, s, len)) return -2;
  return queue_env_parse(e);
}

static size_t count_dir(const char *d)
{
  DIR *dir = opendir(d);
  struct dirent *x;
  size_t n = 0;

  if (dir == NULL) return (size_t)-1;
  while ((x = readdir(dir)) != NULL)
    if (x->d_name[0] != '.') n++;
  closedir(dir);
  return n;
}

static int write_raw(const char *fn, const char *s, size_t len)
{
  return tmpdir_put(fn, s, len);
}

int main(void)
{
  static char msg[40000];
  struct queue_writer w;
  struct queue_env e = {0};
  struct stat st;
  char path[QUEUE_PATH_MAX];
  char hdr[QUEUE_HDRLEN];
  unsigned long long len;
  unsigned long id = 0;
  unsigned long id2 = 0;
  unsigned long id3 = 0;
  int fifo;
  int fd;
  int r;
  char c;
  size_t k;

  plan(119);
  if (chdir(tmpdir_make()) == -1) return 1;

  /* paths */
  ok(strcmp(queue_path(path, "mess", 1234), "queue/mess/18/1234") == 0, "path mess");
  ok(strcmp(queue_path(path, "info", 31), "queue/info/31/31") == 0, "path info");
  ok(strcmp(queue_path(path, "new", 77), "queue/new/77") == 0, "path new");
  ok(strlen(queue_path(path, "mess", ~0UL)) < QUEUE_PATH_MAX, "path of the largest id fits");
  ok(strlen(queue_path(path, "averyveryverylongdirectoryname", ~0UL)) < QUEUE_PATH_MAX,
     "path with a long name is cut");

  /* header */
  queue_hdr_fmt(hdr, 0);
  ok(memcmp(hdr, "Q1 00000000000000000000\n", 24) == 0, "header of 0");
  queue_hdr_fmt(hdr, 4096);
  ok(memcmp(hdr, "Q1 00000000000000004096\n", 24) == 0, "header of 4096");
  ok(queue_hdr_scan(hdr, &len) == 0 && len == 4096, "header scanned");
  queue_hdr_fmt(hdr, ~0ULL);
  ok(queue_hdr_scan(hdr, &len) == 0 && len == ~0ULL, "header of the largest length");
  ok(queue_hdr_scan("Q1 99999999999999999999\n", &len) == -1, "header overflow refused");
  ok(queue_hdr_scan("Q2 00000000000000004096\n", &len) == -1, "header version refused");
  ok(queue_hdr_scan("Q1 0000000000000000409x\n", &len) == -1, "header digit refused");
  ok(queue_hdr_scan("Q1 00000000000000004096 ", &len) == -1, "header end refused");
  ok(queue_hdr_scan("Q1 -0000000000000004096\n", &len) == -1, "header sign refused");

  /* queue ids */
  {
    char qid[QUEUE_ID_MAX];
    unsigned long long ino = 0;

    ok(queue_id_fmt(qid, 0, 0) == 11 && strcmp(qid, "00000000000") == 0, "id of zeros");
    ok(queue_id_fmt(qid, 1700000000123456ULL, 183332) == 14 &&
       strcmp(qid, "GQLL7VDGZK3XGK") == 0, "id of a time and an inode");
    ok(queue_id_scan(qid, &ino) == 0 && ino == 183332, "inode scanned back");
    ok(queue_id_fmt(qid, ~0ULL, ~0ULL) < QUEUE_ID_MAX && queue_id_scan(qid, &ino) == 0 &&
       ino == ~0ULL, "the largest id fits and scans");
    ok(queue_id_scan("1234", &ino) == 0 && ino == 1234, "an old decimal id");
    ok(queue_id_scan("12A4", &ino) == -1, "a short id with a letter refused");
    ok(queue_id_scan("GQW9H0E3XC3xGK", &ino) == -1 && queue_id_scan("", &ino) == -1 &&
       queue_id_scan("GQW9H0E3XC3X.K", &ino) == -1, "other bytes refused");
    ok(queue_id_scan("GQW9H0E3XCZZZZZZZZZZZZZZZZZ", &ino) == -1, "inode overflow refused");
    ok(ENV(&e, "IGQW9H0E3XC3XGK\0PABC\0Fa@b\0") == 0 &&
       strcmp(queue_env_str(&e, e.qid), "GQW9H0E3XC3XGK") == 0 &&
       strcmp(queue_env_str(&e, e.parent), "ABC") == 0, "I and P parsed");
    ok(ENV(&e, "Ia\0Ib\0Fa@b\0") == -1 && ENV(&e, "Pa\0Pb\0Fa@b\0") == -1, "two I or two P refused");
    ok(ENV(&e, "Fa@b\0") == 0 && e.qid == (size_t)-1 && queue_env_id(&e, 77, qid) == 12 &&
       strcmp(qid, "000000000025") == 0, "no I record: the inode with a time of zeros");
  }

  /* envelope parsing */
  r = ENV(&e, "T1700000000\0Fa@b.example\0Rc@d.example\0Rx@y.example\0NSUCCESS,FAILURE\0"
              "Orfc822;x@y.example\0");
  ok(r == 0 && e.arrival == 1700000000ULL && e.rcpt_count == 2, "envelope parsed");
  ok(strcmp(queue_env_str(&e, e.sender), "a@b.example") == 0, "sender");
  ok(strcmp(queue_env_str(&e, e.rcpt[0].addr), "c@d.example") == 0 &&
     e.rcpt[0].notify == (size_t)-1 && e.rcpt[0].orcpt == (size_t)-1, "first recipient");
  ok(strcmp(queue_env_str(&e, e.rcpt[1].addr), "x@y.example") == 0 &&
     strcmp(queue_env_str(&e, e.rcpt[1].notify), "SUCCESS,FAILURE") == 0 &&
     strcmp(queue_env_str(&e, e.rcpt[1].orcpt), "rfc822;x@y.example") == 0,
     "second recipient with N and O");
  ok(e.ret == (size_t)-1 && e.envid == (size_t)-1, "no V, no X");
  r = ENV(&e, "T1\0F\0VHDRS\0Xid+2Bx\0L3\0Rc@d\0");
  ok(r == 0 && *queue_env_str(&e, e.sender) == '\0' &&
     strcmp(queue_env_str(&e, e.ret), "HDRS") == 0 &&
     strcmp(queue_env_str(&e, e.envid), "id+2Bx") == 0, "null sender, V, X, L");
  ok(ENV(&e, "Qheld by a milter\0T1\0Fa@b\0Rc@d\0") == 0 && e.quarantine != (size_t)-1 &&
     strcmp(queue_env_str(&e, e.quarantine), "held by a milter") == 0, "Q: quarantined");
  ok(ENV(&e, "Fa@b\0Rc@d\0") == 0 && e.quarantine == (size_t)-1, "no Q: not quarantined");
  ok(ENV(&e, "Qa\0Qb\0Fa@b\0") == -1, "two Q refused");
  ok(ENV(&e, "Fa@b\0Rc@d\0Zfuture\0") == 0 && e.rcpt_count == 1, "unknown tag skipped");
  ok(ENV(&e, "Fa@b\0Rc@d\0\0") == 0, "trailing empty record");
  ok(ENV(&e, "Fa@b\0Rc@d\0") == 0 && e.arrival == 0, "T optional");
  ok(ENV(&e, "Fa@b\0") == 0 && e.rcpt_count == 0, "no recipients is structurally fine");
  errno = 0;
  ok(ENV(&e, "Rc@d\0") == -1 && errno == EINVAL, "no sender refused");
  ok(ENV(&e, "Fa@b\0Fc@d\0Rc@d\0") == -1, "two senders refused");
  ok(ENV(&e, "Fa@b\0NNEVER\0Rc@d\0") == -1, "N before any R refused");
  ok(ENV(&e, "Fa@b\0Rc@d\0NNEVER\0NNEVER\0") == -1, "two N for one R refused");
  ok(ENV(&e, "Fa@b\0Rc@d\0Ox\0Oy\0") == -1, "two O for one R refused");
  ok(ENV(&e, "Fa@b\0Rc@d") == -1, "unterminated record refused");
  ok(ENV(&e, "Fa@b\0\0Rc@d\0") == -1, "empty record inside refused");
  ok(ENV(&e, "T12x\0Fa@b\0") == -1, "bad T refused");
  ok(ENV(&e, "T\0Fa@b\0") == -1, "empty T refused");
  ok(ENV(&e, "T99999999999999999999999\0Fa@b\0") == -1, "huge T refused");
  ok(ENV(&e, "T1\0T2\0Fa@b\0") == -1, "two T refused");
  {
    stralloc s = {0};
    stralloc_copys(&s, "Fa@b");
    stralloc_0(&s);
    stralloc_append(&s, "R");
    for (k = 0; k < QUEUE_FIELD_MAX - 1; k++) stralloc_append(&s, "x");
    stralloc_0(&s);
    stralloc_copy(&e.env, &s);
    ok(queue_env_parse(&e) == 0, "record of QUEUE_FIELD_MAX bytes");
    s.len--;
    stralloc_append(&s, "x");
    stralloc_0(&s);
    stralloc_copy(&e.env, &s);
    ok(queue_env_parse(&e) == -1, "record of QUEUE_FIELD_MAX + 1 bytes refused");

    stralloc_copyb(&s, "Fa@b\0", 5);
    for (k = 0; k < 1000; k++) stralloc_catb(&s, "Rrcpt@example.org\0NNEVER\0", 25);
    stralloc_copy(&e.env, &s);
    ok(queue_env_parse(&e) == 0 && e.rcpt_count == 1000, "1000 recipients");
    stralloc_copyb(&s, "Fa@b\0", 5);
    for (k = 0; k < QUEUE_RCPT_MAX; k++) stralloc_catb(&s, "Rr\0", 3);
    stralloc_copy(&e.env, &s);
    ok(queue_env_parse(&e) == 0 && e.rcpt_count == QUEUE_RCPT_MAX, "QUEUE_RCPT_MAX recipients");
    stralloc_catb(&s, "Rr\0", 3);
    stralloc_copy(&e.env, &s);
    ok(queue_env_parse(&e) == -1 && errno == EINVAL, "one more refused");
    stralloc_free(&s);
  }
  queue_env_free(&e);

  /* writer: no queue yet */
  ok(queue_open(&w) == -1 && errno == ENOENT, "open without queue/tmp fails");
  mkdir("queue", 0750);
  mkdir("queue/tmp", 0750);
  mkdir("queue/new", 0750);

  umask(077);
  ok(queue_open(&w) == 0, "open");
  ok(stat(w.tmpname, &st) == 0 && (st.st_mode & 07777) == 0640 && count_dir("queue/tmp") == 1,
     "temp file in queue/tmp, mode 0640 despite the umask");
  ok(strncmp(w.tmpname, "queue/tmp/", 10) == 0, "temp name");
  for (k = 0; k < sizeof msg; k++) msg[k] = (k % 80 == 79) ? '\n' : (char)('a' + k % 26);
  r = queue_put(&w, "Received: test\n", 15);
  r = r == 0 ? queue_put(&w, msg, 100) : r;
  r = r == 0 ? queue_put(&w, msg + 100, sizeof msg - 100) : r; /* larger than the buffer */
  r = r == 0 ? queue_put(&w, "", 0) : r;
  ok(r == 0, "put in pieces");
  ok(queue_envelope(&w, "T5\0Fs@x.org\0", 12) == 0 && queue_envelope(&w, "Rr@y.org\0", 9) == 0,
     "envelope in pieces");
  errno = 0;
  ok(queue_put(&w, "x", 1) == -1 && errno == EINVAL, "put after the envelope refused");

  /* a reader on the trigger FIFO sees the byte */
  mkfifo("queue/trigger", 0620);
  fifo = open("queue/trigger", O_RDONLY | O_NONBLOCK);
  ok(queue_commit(&w, &id) == 0, "commit");
  ok(read(fifo, &c, 1) == 1, "trigger byte written");
  close(fifo);
  queue_path(path, "new", id);
  ok(stat(path, &st) == 0 && st.st_ino == id && count_dir("queue/tmp") == 0, "queue/new/ID, ID = inode");
  ok((size_t)st.st_size == 24 + 15 + sizeof msg + 21 + strlen(w.id) + 2, "file size");

  fd = open(path, O_RDONLY);
  ok(fd != -1 && queue_env_read(&e, fd) == 0, "env_read");
  ok(e.msglen == 15 + sizeof msg && e.arrival == 5 && e.rcpt_count == 1 &&
     strcmp(queue_env_str(&e, e.sender), "s@x.org") == 0 &&
     strcmp(queue_env_str(&e, e.rcpt[0].addr), "r@y.org") == 0, "envelope read back");
  {
    char qid[QUEUE_ID_MAX];
    unsigned long long ino = 0;

    ok(e.qid != (size_t)-1 && strcmp(queue_env_str(&e, e.qid), w.id) == 0 &&
       e.parent == (size_t)-1, "the I record holds the writer's id, no P record");
    ok(queue_env_id(&e, id, qid) == strlen(w.id) && strcmp(qid, w.id) == 0 &&
       queue_id_scan(qid, &ino) == 0 && ino == id, "the id names the file's inode");
    ok(queue_env_id(&e, id + 1, qid) > 0 && queue_id_scan(qid, &ino) == 0 && ino == id + 1 &&
       strcmp(qid, w.id) != 0, "an I record of another inode is not believed");
  }
  {
    static char back[sizeof msg + 40];
    ssize_t n = pread(fd, back, 24 + 15 + sizeof msg, 0);
    ok(n == (ssize_t)(24 + 15 + sizeof msg) && memcmp(back, "Q1 00000000000000040015\n", 24) == 0 &&
       memcmp(back + 24, "Received: test\n", 15) == 0 && memcmp(back + 39, msg, sizeof msg) == 0,
       "header and message bytes");
  }
  close(fd);

  /* no reader on the FIFO: commit still fine; two messages get two IDs */
  ok(queue_open(&w) == 0 && queue_put(&w, "m\n", 2) == 0 &&
     queue_envelope(&w, "F\0Rr@y.org\0", 11) == 0 && queue_commit(&w, &id2) == 0 && id2 != id,
     "commit without a trigger reader");
  ok(count_dir("queue/new") == 2, "two files in queue/new");
  ok(queue_open(&w) == 0 && (w.parent = "HKZ1Q0B7W83F2K", queue_put(&w, "m\n", 2) == 0) &&
     queue_envelope(&w, "F\0", 2) == 0 && queue_commit(&w, &id3) == 0, "commit with a parent");
  queue_path(path, "new", id3);
  fd = open(path, O_RDONLY);
  ok(fd != -1 && queue_env_read(&e, fd) == 0 && e.parent != (size_t)-1 &&
     strcmp(queue_env_str(&e, e.parent), "HKZ1Q0B7W83F2K") == 0, "the P record read back");
  close(fd);
  unlink(path);
  queue_path(path, "new", id2);
  fd = open(path, O_RDONLY);
  ok(fd != -1 && queue_env_read(&e, fd) == 0 && e.msglen == 2 && *queue_env_str(&e, e.sender) == 0,
     "reuse of a queue_env, null sender");
  close(fd);

  /* abort, and commit without an envelope */
  ok(queue_open(&w) == 0 && queue_put(&w, "m\n", 2) == 0, "open for abort");
  errno = 0;
  ok(queue_commit(&w, &id2) == -1 && errno == EINVAL, "commit without envelope refused");
  queue_abort(&w);
  ok(count_dir("queue/tmp") == 0 && count_dir("queue/new") == 2, "abort leaves nothing");
  queue_abort(&w);
  ok(1, "second abort is harmless");

  /* malformed files */
  write_raw("short", "Q1 0000", 7);
  fd = open("short", O_RDONLY);
  ok(queue_env_read(&e, fd) == -1 && errno == EINVAL, "short file refused");
  close(fd);
  write_raw("trunc", "Q1 00000000000000000100\nabc", 27);
  fd = open("trunc", O_RDONLY);
  ok(queue_env_read(&e, fd) == -1 && errno == EINVAL, "message shorter than the header says");
  close(fd);
  write_raw("noenv", "Q1 00000000000000000003\nabc", 27);
  fd = open("noenv", O_RDONLY);
  ok(queue_env_read(&e, fd) == -1 && errno == EINVAL, "no envelope refused (no F)");
  close(fd);
  write_raw("badhdr", "X1 00000000000000000003\nabcFa\0", 30);
  fd = open("badhdr", O_RDONLY);
  ok(queue_env_read(&e, fd) == -1 && errno == EINVAL, "bad header refused");
  close(fd);

  /* the pool: a finished queue file goes back, the next one reuses it */
  mkdir("queue/pool", 0750);
  ok(queue_open(&w) == 0 && queue_envelope(&w, "T5\0Fs@x.org\0Rr@y.org\0", 22) == 0 &&
         queue_commit(&w, &id) == 0,
     "a message to finish");
  queue_path(path, "new", id);
  ok(queue_pool_put(path) == 0 && access(path, F_OK) == -1 && count_dir("queue/pool") == 1,
     "put: the file moves into the pool");
  ok(queue_open(&w) == 0 && count_dir("queue/pool") == 0 && fstat(w.fd, &st) == 0 &&
         st.st_ino == id && st.st_size == 0 && (st.st_mode & 07777) == 0640,
     "open takes it back, emptied, mode 0640");
  ok(queue_put(&w, "x\n", 2) == 0 && queue_envelope(&w, "T6\0Fs@x.org\0Rr@y.org\0", 22) == 0 &&
         queue_commit(&w, &id2) == 0 && id2 == id,
     "committed again under the same id");
  queue_path(path, "new", id);
  fd = open(path, O_RDONLY);
  ok(fd != -1 && queue_env_read(&e, fd) == 0 && e.arrival == 6 && e.msglen == 2,
     "nothing of the old message is left");
  close(fd);
  ok(queue_open(&w) == 0 && fstat(w.fd, &st) == 0 && st.st_ino != id, "empty pool: a new file");
  queue_abort(&w);
  {
    char fifo_name[QUEUE_PATH_MAX];
    size_t n = 11;

    memcpy(fifo_name, "queue/pool/", 11);
    n += fmt_ulong(fifo_name + n, (unsigned long)geteuid());
    memcpy(fifo_name + n, ".7", 3);
    ok(mkfifo(fifo_name, 0600) == 0 && queue_open(&w) == 0 && fstat(w.fd, &st) == 0 &&
           S_ISREG(st.st_mode) && count_dir("queue/pool") == 0,
       "a FIFO in the pool is dropped, not opened for good: a new file instead");
    queue_abort(&w);
  }
  ok(link(path, "queue/second") == 0 && queue_pool_put(path) == -1 && access(path, F_OK) == 0,
     "a file with a second link stays out of the pool");
  unlink("queue/second");
  ok(write_raw("queue/big", msg, sizeof msg) == 0 && write_raw("queue/big2", msg, sizeof msg) == 0,
     "large files");
  fd = open("queue/big", O_WRONLY | O_APPEND);
  for (k = 0; k < 4 && fd != -1; k++) r = (int)write(fd, msg, sizeof msg);
  if (fd != -1) close(fd);
  ok(queue_pool_put("queue/big") == -1 && access("queue/big", F_OK) == 0,
     "a file over QUEUE_POOL_FILEMAX stays out");
  for (k = 0; k < QUEUE_POOL; k++) {
    char fn[32];

    memcpy(fn, "queue/f", 7);
    fn[7 + fmt_ulong(fn + 7, k)] = '\0';
    if (write_raw(fn, "x", 1) != 0 || queue_pool_put(fn) != 0) break;
  }
  ok(k == QUEUE_POOL && count_dir("queue/pool") == QUEUE_POOL, "the pool holds QUEUE_POOL files");
  ok(queue_pool_put("queue/big2") == -1 && errno == EEXIST && access("queue/big2", F_OK) == 0,
     "a full pool takes no more");
  queue_env_free(&e);

  /* a pooled file that someone holds open for writing is not reused (a
   * caller that kept one could rewrite the next message after its
   * commit); one held open for reading is (a Maildir worker keeps the last
   * file it delivered open) */
  {
    int leases;
    int other;

    fd = open("queue/leasetest", O_RDONLY | O_CREAT | O_EXCL, 0600);
    leases = fd != -1 && fcntl(fd, F_SETLEASE, F_RDLCK) == 0;
    if (fd != -1) close(fd);
    unlink("queue/leasetest");
    for (k = 0; k < QUEUE_POOL; k++) {
      char fn[QUEUE_PATH_MAX];
      size_t n = 11;

      memcpy(fn, "queue/pool/", 11);
      n += fmt_ulong(fn + n, (unsigned long)geteuid());
      fn[n++] = '.';
      fn[n + fmt_ulong(fn + n, k)] = '\0';
      unlink(fn);
    }
    ok(queue_open(&w) == 0 && queue_envelope(&w, "T5\0Fs@x.org\0Rr@y.org\0", 22) == 0 &&
           queue_commit(&w, &id) == 0,
       "a message to pool");
    queue_path(path, "new", id);
    other = open(path, O_RDONLY);
    ok(other != -1 && queue_pool_put(path) == 0 && count_dir("queue/pool") == 1, "pooled");
    ok(queue_open(&w) == 0 && fstat(w.fd, &st) == 0 && st.st_ino == id,
       "a reader of a pooled file does not keep it from reuse");
    ok(queue_envelope(&w, "T5\0Fs@x.org\0Rr@y.org\0", 22) == 0 && queue_commit(&w, &id) == 0,
       "committed");
    if (other != -1) close(other);
    queue_path(path, "new", id);
    other = open(path, O_RDWR);
    ok(other != -1 && queue_pool_put(path) == 0 && count_dir("queue/pool") == 1,
       "pooled again, a writable descriptor kept on it");
    r = queue_open(&w);
    if (leases)
      ok(r == 0 && fstat(w.fd, &st) == 0 && st.st_ino != id && count_dir("queue/pool") == 0,
         "a pooled file someone holds open for writing is dropped: a new file instead");
    else
      ok(1, "# SKIP no leases on this file system");
    queue_abort(&w);
    if (other != -1) close(other);
  }

  /* bounds: a small share of the file system, capped; nothing when short */
  ok(queue_pool_budget(8ULL << 20, 8ULL << 20) == (8ULL << 20) / QUEUE_POOL_SHARE,
     "budget: 1/64 of an 8 MB file system");
  ok(queue_pool_budget(1ULL << 40, 1ULL << 40) == QUEUE_POOL_BYTES, "budget: capped");
  ok(queue_pool_budget(8ULL << 20, (8ULL << 20) / QUEUE_POOL_SHORT - 1) == 0,
     "budget: nothing while the disk is short");

  /* the sweep: files that waited longer than QUEUE_POOL_IDLE go, so that
   * an account that stopped sending keeps nothing */
  {
    unsigned long long kept = 1;
    time_t t = time(NULL);
    size_t before;

    for (k = 0; k < 5; k++) {
      char fn[32];

      memcpy(fn, "queue/s", 7);
      fn[7 + fmt_ulong(fn + 7, k)] = '\0';
      if (write_raw(fn, msg, 1000) != 0 || queue_pool_put(fn) != 0) break;
    }
    before = count_dir("queue/pool");
    ok(k == 5 && before >= 5, "five more files pooled");
    ok(queue_pool_sweep(t, &kept) == 0 && count_dir("queue/pool") == before && kept >= 5000,
       "sweep now: fresh files stay, counted");
    mkdir("queue/pool/adir", 0700);
    ok(queue_pool_sweep(t, NULL) == 1 && count_dir("queue/pool") == before,
       "sweep: anything but a plain file goes");
    ok(queue_pool_sweep(t + QUEUE_POOL_IDLE + 1, &kept) == (int)before &&
       count_dir("queue/pool") == 0 && kept == 0,
       "sweep after QUEUE_POOL_IDLE: every idle file dropped");

    /* a writer short of space empties the pool, of every owner */
    for (k = 0; k < 3; k++) {
      char fn[32];

      memcpy(fn, "queue/d", 7);
      fn[7 + fmt_ulong(fn + 7, k)] = '\0';
      if (write_raw(fn, "x", 1) != 0 || queue_pool_put(fn) != 0) break;
    }
    write_raw("queue/pool/4242.1", "x", 1); /* another owner's */
    errno = ENOSPC;
    ok(queue_pool_drain() == 4 && count_dir("queue/pool") == 0 && errno == ENOSPC,
       "drain: every file of every owner, errno kept");
    w.drained = 0;
    write_raw("queue/pool/4242.2", "x", 1);
    ok(queue_pool_relief(&w, EIO) == 0 && count_dir("queue/pool") == 1,
       "relief: not for errors other than ENOSPC and EDQUOT");
    ok(queue_pool_relief(&w, EDQUOT) == 1 && count_dir("queue/pool") == 0 && w.drained,
       "relief: EDQUOT empties the pool, try again");
    write_raw("queue/pool/4242.3", "x", 1);
    ok(queue_pool_relief(&w, ENOSPC) == 0 && count_dir("queue/pool") == 1,
       "relief: once per message");
    w.drained = 0;
    unlink("queue/pool/4242.3");
    ok(queue_pool_relief(&w, ENOSPC) == 0, "relief: an empty pool gives nothing: fail now");
  }

  /* a write that fails is final for the message: what it wrote of the
   * buffer is in the file, so writing the buffer again (a later flush, the
   * commit) would put those bytes in twice under a header that counts them
   * once; the file is aborted instead */
  {
    int real;
    int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
    size_t before = count_dir("queue/new");

    ok(queue_open(&w) == 0 && queue_put(&w, msg, 1000) == 0, "open for a failing write");
    real = w.fd;
    w.fd = ro; /* writes fail now: EBADF */
    ok(queue_flush(&w) == -1 && errno == EBADF && w.failed == EBADF, "the failed flush is kept");
    w.fd = real; /* writes would work again, but the message is spoiled */
    ok(queue_flush(&w) == -1 && errno == EBADF && queue_put(&w, msg, sizeof msg) == -1 &&
       errno == EBADF, "later flushes and writes fail with the first error");
    ok(queue_envelope(&w, "F\0Rr@y.org\0", 11) == -1 || queue_commit(&w, &id) == -1,
       "the message cannot be committed");
    queue_abort(&w);
    close(ro);
    ok(count_dir("queue/new") == before, "nothing reached queue/new");
  }

  tmpdir_remove();
  return done_testing();
}
