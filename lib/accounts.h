#ifndef ACCOUNTS_H
#define ACCOUNTS_H
/*
 * System accounts of a root instance (qsetup creates the missing ones).
 * On an instance made by another user every component runs as that user.
 *
 *   qmta-queue   group of queue/: who may enter it; the writers' group
 *                (qinject runs with it); see queue.h, "Who may do what"
 *   qmta-send    qsend (member of qmta-queue): owns the queue; its group
 *                reads messages
 *   qmta-remote  qrspawn, qremote (member of qmta-queue and of qmta-send:
 *                reads messages)
 *   qmta-smtpd   qsmtpd, the SMTP listeners' qlisten, qpop3d before login
 *                (member of qmta-queue: writes new messages, reads none
 *                of another's); group of run/tlsd
 *   qmta-tls     qtlsd, the TLS service: the only reader of tls/key.pem
 *   qmta-auth    qauthd, the password service: with root, the only reader
 *                of control/passwords.cdb (and, with control/authsystem,
 *                member of group shadow)
 *   qmta-vmail   owner of mail/: virtual users' mailboxes
 *   qmta-alias   file and pipe targets of control/aliases
 *   qmta-log     s6-log, owner of log/
 *   root         qlspawn (to become the mailbox owner), qauth for POP3 and
 *                Dovecot (reads hashes itself),
 *                qpop3d's parent and the POP3 listeners' qlisten
 */
#define ACCT_QUEUE "qmta-queue"
#define ACCT_SEND "qmta-send"
#define ACCT_REMOTE "qmta-remote"
#define ACCT_SMTPD "qmta-smtpd"
#define ACCT_TLS "qmta-tls"
#define ACCT_AUTH "qmta-auth"
#define ACCT_VMAIL "qmta-vmail"
#define ACCT_ALIAS "qmta-alias"
#define ACCT_LOG "qmta-log"

/*
 * Accounts of /etc/passwd, read directly (passwd_file.c: the programs
 * linked statically cannot use glibc's getpwnam; accounts from NSS
 * services other than files are not seen).
 *
 * passwd_file: the account name (len bytes): 1 found (e filled), 0 not,
 * -1 error + errno.
 * accounts_login: on a root instance the login accounts of the me domain
 * receive mail in ~/Maildir/ (qlspawn delivers it; qsmtpd takes it at
 * RCPT; sendmail -bv names it): the account named by local part (len
 * bytes) with uid 1000 and up (Debian's first for people), not nobody,
 * and an absolute home that is a directory. 1 (e filled), 0 not such an
 * account, -1 error + errno.
 */
#include <stddef.h>

#define ACCT_LOGIN_UID_MIN 1000
#define ACCT_NOBODY_UID 65534

struct passwd_entry {
  unsigned long uid;
  unsigned long gid;
  char home[1024];
};

int passwd_file(const char *name, size_t len, struct passwd_entry *e);
int accounts_login(const char *local, size_t len, struct passwd_entry *e);

#endif
