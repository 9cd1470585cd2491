#ifndef USERS_H
#define USERS_H
/*
 * users: virtual users and local recipients.
 *
 * control/users, the text map qpasswd edits and qnewmaps compiles, holds
 * one user a line:
 *     user@domain:HASH[:MAILBOX]
 * HASH is a crypt(3) hash (yescrypt "$y$..." or SHA-512 "$6$..."); "!" or
 * "*" alone means "no password" (the mailbox receives mail, nobody logs
 * in). MAILBOX is optional: a path relative to QHOME or absolute; ending
 * in '/' means a Maildir, anything else an mbox file. The default is
 * "mail/DOMAIN/USER/".
 *
 * qnewmaps compiles it into two maps, both keyed "user@domain" in
 * lowercase:
 *   control/users.cdb (mode 0644): value "MAILBOX\0", with the default
 *     filled in when the line had none. Who is a user, and where the
 *     mail goes: read by qsmtpd, qlspawn and qauth.
 *   control/passwords.cdb (mode 0640, group qmta-auth on a root
 *     instance): value "HASH\0". Read by qauth when it runs as root or as
 *     the instance's owner, else by qauthd for it (qauth.h).
 * control/users itself (mode 0600) is root's alone.
 */
#include <stddef.h>
#include <stralloc.h>

#define USERS_TEXT "control/users"
#define USERS_CDB "control/users.cdb"
#define PASSWORDS_CDB "control/passwords.cdb"

struct user {
  stralloc key;      /* "user@domain", lowercase */
  stralloc hash;     /* NUL-terminated; "" from users_find */
  stralloc mailbox;  /* NUL-terminated */
};

/* A struct user starts zeroed ("struct user u = {0};") and may be reused;
 * users_free releases it. The NUL that ends key, hash and mailbox is not
 * counted in their len.
 * A user name must be a dot-atom without '/', the domain a valid domain
 * name (no literal): the default mailbox path is built from them. */

/* Looks up address s (internal form, any case) in users.cdb.
 * 1 found, 0 not a virtual user, -1 error + errno. */
int users_find(struct user *u, const char *s, size_t len);
/* The hash of user key (lowercase, len bytes) from passwords.cdb into
 * hash, NUL-terminated (the NUL not counted). 1 found, 0 not, -1 error
 * + errno (EACCES: not for this account; EINVAL, EPROTO: broken map). */
int users_hash(stralloc *hash, const char *key, size_t len);
void users_free(struct user *u);

/* Parses one line of control/users (without '\n'). 1 ok, 0 blank or
 * comment, -1 malformed. Fills key (lowercased), hash, mailbox (default
 * applied), all NUL-terminated. */
int users_parseline(struct user *u, const char *line, size_t len);

#endif
