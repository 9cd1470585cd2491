#ifndef SPAWNPROTO_H
#define SPAWNPROTO_H
/*
 * The protocol between qsend and its spawners (qlspawn for local
 * deliveries, qrspawn for remote ones), over two pipes: qsend writes jobs
 * to the spawner's fd 0 and reads results from its fd 1.
 *
 * qsend -> spawner, one job (text0 records, then an empty record):
 *   "J17\0"                 job slot number (decimal, < the concurrency)
 *   "IHKZ1Q0B7W83F2K\0"     the queue id (queue.h): its inode (queue_id_scan)
 *                           names the file, queue/mess/NN/INODE; the spawners
 *                           log the id
 *   "Sbob@example.org\0"    envelope sender, internal form ("" = null)
 *   "Rann@example.net\0"    a recipient, internal form; qlspawn gets exactly
 *                           one, qrspawn one or more, all of one domain
 *   "\0"
 *   Optional records before the empty one: "H<host>\0" (qrspawn: a route
 *   override), "N<notify>\0" / "O<orcpt>\0" after an R (its DSN values),
 *   "V<ret>\0" and "X<envid>\0" (message DSN values).
 *
 * spawner -> qsend, one result per job, when the job ends:
 *   "J17\0"                 the slot
 *   one record per recipient, in the order they were given:
 *     "K<text>\0"           delivered; text says how (host, mailbox). For
 *                           qrspawn: relayed to a server without DSN
 *     "P<text>\0"           qrspawn: delivered to a server that offers DSN
 *                           and got NOTIFY and ORCPT (RFC 3461): it reports
 *                           success itself, qsend sends no success report
 *     "E<text>\0"           qlspawn: delivered to an alias that sent the message
 *                           on to addresses (a new message, NOTIFY without
 *                           SUCCESS): the success report says "expanded"
 *                           (RFC 3461 6.2.7.3)
 *     "Z<text>\0"           temporary failure: retry later; text is the reason.
 *                           For qrspawn a failure of the destination itself (no
 *                           connection, greeting, TLS, a 4xx to MAIL or DATA or
 *                           to every one of several RCPTs, a lost connection):
 *                           when every recipient of a job ends so, qsend rests
 *                           the destination
 *     "T<text>\0"           temporary failure of this recipient alone (qrspawn:
 *                           a 4xx to its RCPT or to the message's data, the
 *                           queue file unreadable): retry later; the destination
 *                           answered and does not rest
 *     "D<text>\0"           permanent failure: bounce; text is the reason
 *   "\0"
 *
 * Limits: a record is at most SPAWN_FIELD_MAX bytes; a job has at most
 * SPAWN_RCPT_MAX recipients. Anything else (an unknown tag, a slot that is
 * not busy, a record too long, the wrong number of results) is a protocol
 * error: the reader logs it and exits 111 (qsend restarts its spawners and
 * defers the jobs in flight). A spawner that reads EOF on fd 0 finishes
 * the jobs it has and exits 0.
 *
 * Reasons in texts are one line: a spawner replaces control bytes and cuts
 * them at SPAWN_TEXT_MAX.
 */
#define SPAWN_FIELD_MAX 1100
#define SPAWN_TEXT_MAX 1000
#define SPAWN_RCPT_MAX 1000

#endif
