#ifndef QINJECT_ENV_H
#define QINJECT_ENV_H
/*
 * qinject_env: the envelope half of the qmail-queue protocol.
 *
 * What qinject reads on fd 1 (text0 records, then an empty record):
 *   "Fbob@example.org\0"       the sender, first; "F\0" is the null sender
 *   "VFULL\0"  "Xenvid\0"      optional, after F, before the first T
 *   "Tann@example.net\0"       a recipient; then, optionally, for it:
 *   "NSUCCESS,FAILURE\0"       its DSN NOTIFY ("NEVER" or a comma list)
 *   "Orfc822;ann@example.net\0" its DSN ORCPT
 *   "\0"                       the end
 *
 * What goes into the queue file (queue.h): "Ttime\0" "Fsender\0" then the
 * optional V and X records, then "Rrcpt\0" (with its N and O) for every T.
 */
#include <stddef.h>
#include <buffer.h>
#include <stralloc.h>

/* qmail-queue's exit codes, as qinject uses them (qinject.8). */
#define QQ_OK 0
#define QQ_ADDR_TOO_LONG 11   /* permanent */
#define QQ_REFUSED 31         /* permanent: e.g. over databytes */
#define QQ_NOMEM 51
#define QQ_TIMEOUT 52
#define QQ_WRITE 53           /* write error, disk full */
#define QQ_READ 54            /* unable to read message or envelope */
#define QQ_CONFIG 55          /* unable to read a control file */
#define QQ_HOME 61            /* unable to enter QHOME */
#define QQ_QUEUEDIR 62        /* unable to use queue/ */
#define QQ_TMP 63             /* unable to create the file in queue/tmp */
#define QQ_COMMIT 64          /* unable to commit it into queue/new */
#define QQ_BUG 81             /* internal error */
#define QQ_ENVELOPE 91        /* envelope format error: permanent */

#define ENV_MAX (64UL * 1024 * 1024) /* bytes of envelope records kept (QQ_NOMEM beyond) */
#define ENVID_MAX 100                /* RFC 3461 4.4 */

/* Checks an address in internal form (len bytes) and puts its normalized
 * form into a: QQ_OK, QQ_ADDR_TOO_LONG, or QQ_ENVELOPE. null_ok: the empty
 * string (null sender) is valid. */
struct addr;
int env_addr_check(struct addr *a, const char *s, size_t len, int null_ok);

/* Reads the envelope from b (its read op sets ETIMEDOUT on a timeout) and
 * appends the queue file records to out, starting with "T<now>".
 * *rcpt_count = recipients read. Returns QQ_OK or an exit code above. */
int env_read(buffer *b, stralloc *out, unsigned long long now, size_t *rcpt_count);

/* Checks the value of an optional record (tag 'V', 'X', 'N' or 'O'): 1 ok, 0 not. */
int env_value_ok(char tag, const char *s, size_t len);

/* 1 if the R records of out (queue records, each NUL-ended) hold the
 * address s (len bytes) already: the same local part, the domain in any
 * case; 0 if not. */
int env_rcpt_seen(const stralloc *out, const char *s, size_t len);

#endif
