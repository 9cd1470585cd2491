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
 * "|command" (quotes around it are removed), "error:5.1.1 text"; "%1" in a
 * catch-all's target stands for the local part.
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

#endif
