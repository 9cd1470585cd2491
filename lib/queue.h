#ifndef QUEUE_H
#define QUEUE_H
/*
 * queue: the layout of QHOME/queue and the format of a queue file.
 *
 *   queue/tmp/NAME       being written by qinject (NAME = pid.time.counter)
 *   queue/new/ID         committed by qinject, not yet taken in by qsend
 *   queue/mess/NN/ID     taken in by qsend (NN = ID % QUEUE_SPLIT, decimal)
 *   queue/info/NN/ID     qsend's per-recipient state log (absent: all pending)
 *   queue/bounce/        (reserved for qsend's notifications)
 *   queue/bad/ID         a damaged file set aside by qsend (ID.N if ID was
 *                        taken); listed by qstat, never delivered
 *   queue/flush/         sendmail -qR/-qS/-qI requests for qsend
 *   queue/admin/         qqueue's requests (delete, hold, ...) for qsend,
 *                        written by root only (qsend_admin.c)
 *   queue/pool/UID.N     a finished queue file kept for reuse by its owner
 *                        UID (see queue_pool.c; N < QUEUE_POOL); the pool
 *                        is bounded in all, swept of idle files, and
 *                        emptied by a writer that finds the disk full
 *   queue/trigger        FIFO: qinject writes one byte after each commit
 *
 * ID (in file names) is the inode number of the queue file, in decimal:
 * unique while the file exists, and back soon after (the pool reuses
 * files). A message's queue id, the name it has in replies, logs, mailq
 * and reports, is unique for the life of an instance instead:
 *
 *   TTTTTTTTTTIIII   T: the time queue_open took the file, microseconds
 *                    since the epoch in 10 base-36 digits (0-9 A-Z);
 *                    I: the inode number (the ID above) in base 36.
 *   e.g. "HKZ1Q0B7W83F2K" (time HKZ1Q0B7W8, inode 3F2K = 183332)
 *
 * A file holds one inode from queue_open to its removal, and the next
 * message to get that inode takes its time later, so no two messages
 * share an id unless the clock is set back to the very microsecond an
 * earlier message with that inode was opened. The time part sorts in
 * time order; queue_id_scan gives the inode back, so a tool finds the
 * file of an id at once (queue/mess/NN/ID). The id is written into the
 * envelope (the I record) and checked against the file's inode when it
 * is read (queue_env_id); a file without a valid I record (queued before
 * ids had a time part, or forged) has the id of its inode with a time
 * part of zeros ("0000000000" + inode). Tools also take an inode number
 * in decimal (at most 10 digits) where they take an id.
 *
 * Who may do what (qsetup sets it up; on an instance made by another user
 * that user is everyone below and the owner bits are all that count):
 *   writers   qsmtpd (qmta-smtpd), local users through the setgid copy of
 *             qinject, root's qinject (as nobody): the queue group
 *             qmta-queue and nothing else. They may create a file in tmp/
 *             and rename it into new/, take back pooled files of their own
 *             uid, and write the trigger. They can read no message but the
 *             ones they wrote, and remove or rename no file of another.
 *   qsend     qmta-send owns every directory below queue/ but mess/ and
 *             info/ (root's, so that nobody can replace a subdirectory)
 *             and everything in them: it takes in, retires, sets aside.
 *   readers   the group qmta-send (qsend, qremote's qmta-remote; an admin
 *             who runs qstat as another user than root needs it and
 *             qmta-queue): read messages and state, write nothing.
 * The modes, with the writers in the "other" class (members of neither
 * qmta-send nor the owner) and queue/ itself entered only by qmta-queue
 * (which readers are in too):
 *   queue/             root:qmta-queue       0750
 *   tmp/               qmta-send:qmta-send   3703  setgid: files get group
 *                                                  qmta-send; sticky
 *   new/               qmta-send:qmta-send   1757  writers list it only so
 *                                                  that queue_commit can
 *                                                  fsync it; sticky
 *   pool/              qmta-send:qmta-send   1757  sticky: a writer moves
 *                                                  or removes its own only
 *   mess/ info/        root:qmta-send        0750
 *   mess/NN/ info/NN/  qmta-send:qmta-send   0750
 *   bounce/ bad/       qmta-send:qmta-send   0750
 *   flush/             qmta-send:qmta-send   2750  sendmail -q (root) writes;
 *                                                  setgid: qsend reads
 *   admin/             qmta-send:qmta-send   0700  qqueue (root) writes
 *   trigger            qmta-send:qmta-queue  0620
 * A queue file is its writer's, group qmta-send, mode 0640 (queue_open):
 * qsend and qremote read it through the group, no other writer can. A
 * writer short of space removes its own pooled files and asks qsend for
 * the rest (queue_pool_relief). Root-run code (qlspawn, qstat, qsetup)
 * still treats every directory a writer can write as hostile.
 *
 * A queue file is ONE file (one fsync commits it):
 *
 *   offset 0        "Q1 " + 20 decimal digits (the message length) + "\n"
 *   offset 24       the message, LF line ends, qinject's Received: first
 *   offset 24+len   the envelope: text0 records to the end of the file
 *
 * Envelope records (each "X...\0"; order as shown; unknown tags are skipped):
 *   Iid       the queue id (queue_envelope writes it; optional for old files)
 *   Pparent   the queue id of the message this one was made from: an alias
 *             forward (qlocal, through qinject's QPARENT) or a delivery
 *             report (qsend); optional, for the logs only
 *   Qreason   quarantined (optional; qsmtpd, for a milter): every recipient
 *             starts on hold, as if "S" lines were in the info log, until
 *             a "U" line releases it (qqueue release); reason is one line
 *             of printable ASCII, at most QUEUE_REASON_MAX bytes
 *   Ttime     arrival, seconds since the epoch (qinject)
 *   Ffrom     sender in internal form ("" for the null sender)
 *   Vret      DSN RET: "FULL" or "HDRS" (optional)
 *   Xenvid    DSN ENVID, xtext-decoded (optional)
 *   Lhops     (optional, reserved)
 *   Rrcpt     a recipient in internal form; then, optionally for it:
 *   Nnotify   DSN NOTIFY for the recipient before it: "NEVER" or a
 *             comma list of SUCCESS, FAILURE, DELAY
 *   Oorcpt    DSN ORCPT for the recipient before it ("rfc822;addr")
 * Recipients are numbered 0, 1, ... in file order: that number is the
 * recipient's index in the info log.
 *
 * Commit (qinject): write tmp/NAME, fsync, fstat -> ID, rename to new/ID,
 * fsync new/, then write a byte to the trigger. Only then exit 0.
 * Take-in (qsend): rename new/ID to mess/NN/ID (no fsync needed: the file
 * is durable in one place or the other).
 * Removal (qsend): unlink info/NN/ID, then move mess/NN/ID to the pool, or
 * unlink it (in that order: a stale info file could otherwise meet a new
 * message with the same inode, which the pool makes the rule).
 *
 * The info log is append-only text, one record a line, written by qsend:
 *   "D<idx>\n"                       delivered
 *   "F<idx> <time> <reason>\n"       failed permanently (bounce committed first)
 *   "Z<idx> <next> <time> <reason>\n" deferred until <next>, tried at <time>
 *   "H<idx> <next> <time> <fails> <reason>\n"
 *                                    held back untried at <time>: the
 *                                    destination rests until <next> after
 *                                    <fails> failed attempts, the last
 *                                    because of <reason>
 *   "W<idx>\n"                       delay warning sent
 *   "S<idx> <time>\n"                on hold from <time> (qqueue hold):
 *                                    never tried until a U
 *   "U<idx> <time>\n"                released (qqueue release, requeue)
 * The last D/F/Z/H line of an index wins (an H never follows a D or F);
 * the last S/U line says whether it is on hold (with none, a message with
 * a Q record is on hold, any other is not).
 * Each Z counts one try (the backoff and the tries shown grow with them);
 * an H does not: it only sets the next try and the reason shown. qsend
 * writes at most one H per recipient and rest of its destination. reason
 * is one line, at most QUEUE_REASON_MAX bytes, control bytes replaced.
 * Example: "Z0 1764070200 1764066600 connection refused by 192.0.2.7\n"
 *          "H1 1764070200 1764066601 1 connection refused by 192.0.2.7\n"
 */
#include <stddef.h>
#include <time.h>
#include <stralloc.h>

#define QUEUE_SPLIT 32
#define QUEUE_HDRLEN 24
#define QUEUE_REASON_MAX 600
#define QUEUE_FIELD_MAX 1000 /* longest envelope record accepted, tag included */
#define QUEUE_RCPT_MAX 100000 /* most recipients one queue file may hold */
#define QUEUE_ENV_MAX (64UL << 20) /* most envelope bytes queue_env_read accepts */

/* "queue/mess/NN/ID" etc. into buf (at least QUEUE_PATH_MAX bytes),
 * NUL-terminated. which: "mess" or "info"; "new" gives "queue/new/ID"
 * (not split). which is cut at 16 bytes. Returns buf. */
#define QUEUE_PATH_MAX 64
char *queue_path(char *buf, const char *which, unsigned long id);

/* Formats the 24-byte header for a message of len bytes into hdr. */
void queue_hdr_fmt(char hdr[QUEUE_HDRLEN], unsigned long long len);
/* Parses a header; 0 ok (*len set), -1 malformed. */
int queue_hdr_scan(const char hdr[QUEUE_HDRLEN], unsigned long long *len);

struct queue_rcpt {
  size_t addr;    /* offset into env.s of the address (NUL-terminated) */
  size_t notify;  /* offset of the N value, or (size_t)-1 */
  size_t orcpt;   /* offset of the O value, or (size_t)-1 */
};

/* A parsed envelope. env holds the raw records; the fields point into it. */
struct queue_env {
  stralloc env;             /* raw envelope bytes */
  size_t qid;               /* offset of the I value or (size_t)-1 */
  size_t parent;            /* offset of the P value or (size_t)-1 */
  unsigned long long arrival;
  size_t sender;            /* offset of the sender in env.s */
  size_t ret;               /* offset of V value or (size_t)-1 */
  size_t envid;             /* offset of X value or (size_t)-1 */
  size_t quarantine;        /* offset of the Q value or (size_t)-1 */
  struct queue_rcpt *rcpt;  /* rcpt_count entries, malloc'd */
  size_t rcpt_count;
  size_t rcpt_alloc;
  unsigned long long msglen;
};

/* A struct queue_env starts zeroed ("struct queue_env e = {0};") and may be
 * reused for one file after another; queue_env_free releases it.
 * Parsing checks the structure only: record lengths, a numeric T, exactly
 * one F, N and O only after an R (at most one each), at most QUEUE_RCPT_MAX
 * recipients, the last record NUL-terminated (a trailing empty record is
 * allowed). Addresses are not validated: the reader of each does that
 * (addr_set), so that one bad recipient cannot block a whole message. */

/* Reads the header and envelope of the queue file open on fd (any
 * position; uses pread). 0 ok, -1 error + errno (EINVAL: malformed). */
int queue_env_read(struct queue_env *e, int fd);
/* Parses raw envelope records already in e->env. 0 ok, -1 malformed (EINVAL). */
int queue_env_parse(struct queue_env *e);
void queue_env_free(struct queue_env *e);
#define queue_env_str(e, off) ((e)->env.s + (off))

/* Queue ids (see the top). QUEUE_ID_MAX holds any id and its NUL. */
#define QUEUE_ID_MAX 32
#define QUEUE_ID_TIMELEN 10
#define QUEUE_ID_TIMESPAN 3656158440062976ULL /* 36^10 */
/* Formats the id of a file taken at usec with inode into dest (at least
 * QUEUE_ID_MAX bytes), NUL-terminated; returns its length. */
size_t queue_id_fmt(char *dest, unsigned long long usec, unsigned long long inode);
/* The inode an id names (*inode): 0, or -1 if id is no id (of either
 * form; NUL-terminated, at most QUEUE_ID_MAX - 1 bytes). */
int queue_id_scan(const char *id, unsigned long long *inode);
/* The id of the file with inode and envelope e into dest (QUEUE_ID_MAX
 * bytes), NUL-terminated: its I record when that is a valid id of this
 * inode, else queue_id_fmt(dest, 0, inode). Returns the length. */
size_t queue_env_id(const struct queue_env *e, unsigned long long inode, char *dest);

/*
 * Writing a queue file (qinject, and qsend for its notifications):
 *   queue_open    creates queue/tmp/NAME (0640, group qmta-send from the
 *                 setgid tmp/), reserves the header
 *   queue_put     appends message bytes (buffered; LF line ends expected)
 *   queue_envelope appends the raw envelope records (after the message);
 *                 the first call puts the I record (w->id) and, when
 *                 w->parent is set, the P record before them
 *   queue_commit  writes the header, fsyncs, renames to queue/new/ID,
 *                 fsyncs queue/new, pokes queue/trigger; *id = ID
 *   queue_abort   removes the temp file (any time before commit)
 * Paths are relative: the caller has chdir'd to QHOME. Each returns 0, or
 * -1 + errno (the caller then calls queue_abort).
 * A writer that meets ENOSPC or EDQUOT (creating the file, writing it,
 * renaming it into new/) empties the pool (queue_pool_drain) and tries
 * that step again, once per message, before it fails: the pool never
 * costs a message. A failed fsync is never retried (its data may be lost).
 */
struct queue_writer {
  int fd;
  char tmpname[QUEUE_PATH_MAX];
  unsigned long long msglen;
  char buf[16384];
  size_t buflen;
  int in_envelope;
  int drained;      /* the pool was emptied for this message already */
  int failed;       /* 0, or the errno of the first write that failed: every
                       later write, flush and the commit fail with it (a
                       failed write may have left part of its bytes in the
                       file, so nothing written after it can be trusted) */
  char id[QUEUE_ID_MAX]; /* the queue id, set by queue_open */
  const char *parent;    /* NULL, or a queue id for the P record (set after
                            queue_open, before queue_envelope) */
};
/* Writes all of s to the queue file (queue_write.c): ENOSPC and EDQUOT as
 * above. 0, or -1 + errno; after a failure w->failed is set and every
 * later call fails with the same errno (the message must be aborted). */
int queue_write(struct queue_writer *w, const char *s, size_t len);
/* 1 if e is ENOSPC or EDQUOT and the pool had something to give for w
 * (emptied now; once per message): the caller tries again. Else 0. */
int queue_pool_relief(struct queue_writer *w, int e);
/* The pool (queue_pool.c). queue_pool_put moves the finished queue file
 * path into a free slot of its owner: 0, or -1 + errno (not kept: the
 * caller unlinks it; ENOSPC: the pool is at its budget). queue_pool_take
 * renames a slot of the caller's effective uid to tmpname: 0, or -1 (none
 * free; tmpname not created). */
#define QUEUE_POOL 64                   /* slots per owner */
#define QUEUE_POOL_PROBES 8             /* slots qsend tries per put */
#define QUEUE_POOL_FILEMAX (128L << 10) /* larger files are unlinked */
#define QUEUE_POOL_BYTES (16ULL << 20)  /* the most the pool holds in all... */
#define QUEUE_POOL_SHARE 64             /* ...and at most 1/64 of its file system */
#define QUEUE_POOL_SHORT 8              /* nothing pooled while under 1/8 is free */
#define QUEUE_POOL_IDLE 300             /* seconds a file may wait to be taken */
#define QUEUE_POOL_RECOUNT 1            /* seconds between counts forced by puts */
int queue_pool_put(const char *path);
int queue_pool_take(const char *tmpname);
/* The bytes the pool may hold on a file system of fs_bytes with
 * free_bytes available: fs/QUEUE_POOL_SHARE, at most QUEUE_POOL_BYTES, 0
 * while less than fs/QUEUE_POOL_SHORT is free. */
unsigned long long queue_pool_budget(unsigned long long fs_bytes, unsigned long long free_bytes);
/* qsend, once a minute: drops the files that have waited longer than
 * QUEUE_POOL_IDLE at now (by ctime: when they came in), anything but plain
 * files, and whatever passes the budget; counts the rest (*bytes_kept, if
 * not NULL). Returns the number of files dropped, -1 if the pool cannot
 * be read. */
int queue_pool_sweep(time_t now, unsigned long long *bytes_kept);
/* A writer short of space: removes every file in the pool, of any owner.
 * Returns how many; errno is kept. */
int queue_pool_drain(void);

/* 0 if nobody has the file of fd (open read-only, ours) open for
 * writing, or if that cannot be told; -1 + EBUSY if someone has
 * (queue_nowriter.c). queue_open does not reuse such a file from the pool. */
int queue_nowriter(int fd);

/* 1 if the writer named by the temp file name (queue/tmp/NAME without the
 * directory: PID.TIME.COUNTER) has ended: no such pid, a zombie, or a
 * process that started after TIME (the pid came round again); 0 if it
 * may live, or the name has another form (queue_tmp_gone.c). errno is
 * kept. */
int queue_tmp_gone(const char *name);

/* The struct needs no initialisation before queue_open. After a failed
 * queue_open there is nothing to abort (queue_abort is harmless, though). */
int queue_open(struct queue_writer *w);
int queue_put(struct queue_writer *w, const char *s, size_t len);
int queue_envelope(struct queue_writer *w, const char *env, size_t len);
int queue_commit(struct queue_writer *w, unsigned long *id);
void queue_abort(struct queue_writer *w);
/* Writes one byte to queue/trigger without blocking; no reader is fine. */
void queue_trigger(void);
/* The same with QUEUE_TRIGGER_DRAIN: qsend then empties queue/pool. */
#define QUEUE_TRIGGER_DRAIN "D"
void queue_trigger_drain(void);
/* The byte qqueue writes after a request in queue/admin/ (qsend_admin.c). */
#define QUEUE_TRIGGER_ADMIN "A"
/* Writes out the buffered bytes (used by put/envelope/commit). 0, -1 + errno. */
int queue_flush(struct queue_writer *w);
/* Puts s (len bytes, header fields with LF line ends) before the first
 * byte of the message written so far (queue_insert.c): a memmove in
 * w->buf while the whole file is still there, else the file's message
 * bytes are moved up. Only before queue_envelope. 0, or -1 + errno (the
 * caller then calls queue_abort). */
int queue_insert(struct queue_writer *w, const char *s, size_t len);
/* Replaces the first cut bytes of the message written so far by s (len
 * bytes, any length): what follows the cut moves in the file to its new
 * place (queue_splice.c). Only before queue_envelope. 0, or -1 + errno
 * (the caller then calls queue_abort). */
int queue_splice(struct queue_writer *w, unsigned long long cut, const char *s, size_t len);
/* Cuts the message written so far back to its first len bytes
 * (queue_truncate.c); the next queue_put goes after them. Only before
 * queue_envelope. 0, or -1 + errno. */
int queue_truncate(struct queue_writer *w, unsigned long long len);
/* Asks the DKIM signer (run/dkimsign) to sign the message written so far
 * and inserts its signature (queue_sign.c); only before queue_envelope.
 * 0: signed, or nothing to sign (no control/dkim, no key for the From:
 * domain); 1: left unsigned, *why says why (errno too, unless *note, the
 * signer's own words, is set); -1 + errno: the file could not be written
 * (the caller then calls queue_abort). wait_ms: how long a signer that
 * does not listen yet (the instance is starting) is waited for. */
int queue_sign(struct queue_writer *w, int wait_ms, const char **why, const char **note);
/* Asks the DKIM verifier (run/dkimverify) about the message written so far
 * (queue_verify.c); extra: further request lines (extralen bytes, each
 * "key value\n": id ip helo from spf spfd spfhelo, dkimproto.h). Only
 * before queue_envelope. 0: verified, its Authentication-Results field
 * inserted, *note the verdicts ("spf=pass dkim=pass dmarc=pass"); 2: DMARC
 * reject (answer R: nothing inserted, *note says why); 1: not verified,
 * *why says why (errno too, unless *note, the verifier's own words, is
 * set), or is NULL when the instance has no verifier (no socket); -1 +
 * errno: the file could not be written (the caller then calls
 * queue_abort). */
int queue_verify(struct queue_writer *w, const char *extra, size_t extralen, const char **why,
                 const char **note);
/* The call that both make (queue_dkim.c): the message flushed and read
 * back, "op OP", "off" and "len", then extra, sent to qdkimd at path
 * (waited for up to wait_ms if it does not listen yet); the answer in *a.
 * 0 answered; 1 no answer (*why, errno); -1 + errno: the flush failed. */
struct dkimc_answer;
int queue_dkim(struct queue_writer *w, const char *path, int wait_ms, const char *op,
               const char *extra, size_t extralen, struct dkimc_answer *a, const char **why);
#define QUEUE_SIGN_SOCKET "run/dkimsign"     /* qdkimd -s, relative to QHOME */
#define QUEUE_VERIFY_SOCKET "run/dkimverify" /* qdkimd -v */

#endif
