#ifndef ALIASES_H
#define ALIASES_H
/*
 * aliases: control/aliases (sendmail syntax) compiled by qnewmaps into
 * control/aliases.cdb.
 *
 * Text: "name: target, target, ..."; a line starting with blank continues
 * the previous one; '#' at the start of a line is a comment. name is a
 * bare local part ("info": every local domain), "user@domain", or
 * "@domain" (catch-all). Targets: a local part or address, another alias,
 * ":include:/path", "/path/file" (mbox), "/path/dir/" (Maildir),
 * "|command" (quotes around it are removed), "error:5.1.1 text" (or
 * sendmail's "error:5.1.1:550 text", "error:550 text", "error:nouser
 * 550 text", "error:text"),
 * "\name" or "\name@domain" (that mailbox, with no further aliasing);
 * "%1" in a catch-all's target stands for the local part.
 *
 * Precedence at delivery (qlspawn): a virtual user (control/users) comes
 * first, then aliases, then (root instance) login accounts of the me
 * domain. An alias of a virtual user's address applies only when it names
 * the user among its targets ("dl: dl, lee" or "dl: \dl, lee": a copy
 * into the user's mailbox, once, and the others); any other alias of that
 * address is shadowed by the user, and qnewmaps warns about it. The alias's
 * own address among its targets always means its mailbox, never the alias
 * again.
 *
 * CDB: key = name lowercased ("info", "info@example.org", "@example.org");
 * value = every target, each followed by '\0', in the order written.
 * qnewmaps adds "postmaster" and "mailer-daemon" (to postmaster@ME's
 * mailbox) when the file does not define them.
 *
 * aliases_find looks an address up the way delivery and RCPT checking do:
 * first "local@domain", then "local" if domain is local (caller says),
 * then "@domain". 1 found (targets in val, *kind says which key matched:
 * 'a' address, 'l' local part, 'c' catch-all), 0 none, -1 error + errno.
 */
#include <stddef.h>
#include <stralloc.h>

#define ALIASES_TEXT "control/aliases"
#define ALIASES_CDB "control/aliases.cdb"

int aliases_find(const char *addr, size_t len, int domain_is_local, stralloc *val, int *kind);

/* Target t of the alias that rcpt (internal form "local@domain", rlen
 * bytes) matched: 1 if it means a mailbox with no further aliasing
 * ("\name", "\name@domain", or rcpt itself), with that address in out
 * (a bare name qualified with rcpt's domain; not NUL-terminated); 0 if it
 * is anything else; -1 out of memory. */
int aliases_mailbox(const char *t, const char *rcpt, size_t rlen, stralloc *out);
/* 1 if one of the targets in val (each NUL-terminated) means rcpt's own
 * mailbox (aliases_mailbox), 0 if none does, -1 out of memory. */
int aliases_namesself(const stralloc *val, const char *rcpt, size_t rlen);

/* Appends target t (NUL-terminated) of a catch-all to out, "%1" replaced
 * by local (local_len bytes), then a NUL. 0; 1 if local may not go into
 * t (out unchanged): it holds '@', or it would turn an address into a
 * command, file, include or error target, or t is one of those and local
 * is not plain (letters, digits, "._+=-", not starting with '.' or '-'):
 * the recipient is then unknown; -1 out of memory. */
int aliases_subst(stralloc *out, const char *t, const char *local, size_t local_len);

/* s (len bytes, after "error:") starts with a name of sendmail's error
 * mailer (nouser, nohost, unavailable, noperm, dataerr, protocol,
 * software, config, tempfail; any case) followed by a blank or the end:
 * its enhanced status code ("5.1.1"), and *used its length; else NULL. */
const char *aliases_exitname(const char *s, size_t len, size_t *used);

#endif
