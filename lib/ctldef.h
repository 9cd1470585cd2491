#ifndef CTLDEF_H
#define CTLDEF_H
/*
 * ctldef: every setting in control/ and its default, in one place. The
 * programs take their defaults from these macros; qconf(8) is built from
 * this file (control/build.mk extracts the lines below), so `qconf -d`
 * prints the same defaults and `qconf DIR` shows what differs from them;
 * tests/54-qconf.t checks that qsetup and the README agree.
 *
 * One setting a line, in this exact form (the extraction depends on it):
 *   #define CTLDEF_NAME VALUE /+ KIND: what it is +/     (with stars)
 * NAME is the file's name in upper case; VALUE a number or a "string";
 * KIND one of
 *   number  a decimal number
 *   flag    on when the file exists (VALUE 0: absent by default)
 *   text    one line (a VALUE "" here: qconf knows the default, e.g. me)
 *   list    one entry a line ("" : none by default)
 *   map     a map compiled by qnewmaps into NAME.cdb
 * No other line of this file starts with "#define CTLDEF_NAME " (a blank
 * after the name): the guard below has none.
 */

#define CTLDEF_ME "" /* text: this host's name (qsetup: hostname -f, or --me) */
#define CTLDEF_LOCALS "" /* list: domains delivered here (qsetup writes me) */
#define CTLDEF_RCPTHOSTS "" /* list: domains accepted from the world (qsetup writes me) */
#define CTLDEF_DATABYTES 10485760 /* number: largest message, bytes (0: no limit) */
#define CTLDEF_CONCURRENCYLOCAL 10 /* number: local deliveries at once */
#define CTLDEF_CONCURRENCYREMOTE 20 /* number: remote deliveries at once */
#define CTLDEF_CONCURRENCYDOMAIN "" /* number: deliveries at once to one domain (concurrencyremote) */
#define CTLDEF_DOMAINLIMITS "" /* list: domain:concurrency[:rate] per destination */
#define CTLDEF_CONCURRENCYINCOMING 400 /* number: connections per listener */
#define CTLDEF_CONCURRENCYPERIP 40 /* number: connections per client address (0: no limit) */
#define CTLDEF_CONCURRENCYLOOPBACK 100 /* number: connections per loopback address (0: no limit) */
#define CTLDEF_SESSIONSPERPROCESS 100 /* number: SMTP connections one qsmtpd serves in turn */
#define CTLDEF_QUEUELIFETIME 432000 /* number: seconds before a message bounces */
#define CTLDEF_QUEUEWARN 14400 /* number: seconds before a delay warning */
#define CTLDEF_BACKOFFMIN 300 /* number: shortest retry interval, seconds */
#define CTLDEF_BACKOFFMAX 3600 /* number: longest retry interval, seconds */
#define CTLDEF_BOUNCEMAXBYTES 100000 /* number: bytes of the message a bounce carries */
#define CTLDEF_DOUBLEBOUNCETO "postmaster" /* text: where a bounce that bounced goes */
#define CTLDEF_TIMEOUTSMTPD 1200 /* number: seconds for a whole SMTP command line */
#define CTLDEF_TIMEOUTSTRESS 10 /* number: that limit while the listener is under stress */
#define CTLDEF_DATARATE 1024 /* number: bytes/s message data must average (0: no minimum) */
#define CTLDEF_MAXHOPS 100 /* number: Received: lines before a message loops */
#define CTLDEF_MAXRCPT 1000 /* number: recipients per message */
#define CTLDEF_RELAXPIPELINING 0 /* flag: allow an early talker and data sent before 354 */
#define CTLDEF_BARELF 0 /* flag: accept commands ended by a bare LF */
#define CTLDEF_STRIPNUL 0 /* flag: drop NUL bytes in message data instead of refusing */
#define CTLDEF_LONGHEADERS 0 /* flag: relay header lines over 998 octets */
#define CTLDEF_AUTHPLAINTEXT 0 /* flag: AUTH and USER without TLS from loopback clients */
#define CTLDEF_AUTHSENDER "off" /* text: off, address or domain: what an authenticated sender may use (address on submission, 587 and 465) */
#define CTLDEF_RESOLVERS "" /* list: DNS servers for SPF, DKIM, DMARC (IP or IP:PORT; none: /etc/resolv.conf) */
#define CTLDEF_NOSPF 0 /* flag: no SPF check on port 25 (recorded by default) */
#define CTLDEF_SPFREJECT 0 /* flag: refuse SPF fail (550 5.7.23), defer temperror (451 4.7.24) */
#define CTLDEF_DMARCREJECT 0 /* flag: refuse DMARC fail under p=reject (550 5.7.1) */
#define CTLDEF_AUTHSERVID "" /* text: authserv-id of the Authentication-Results field (me) */
#define CTLDEF_AUTHSYSTEM 0 /* flag: system passwords of login accounts (root instance) */
#define CTLDEF_AUTHDELAY 1000 /* number: ms to wait after a failed login */
#define CTLDEF_AUTHDELAYMAX 16000 /* number: longest such wait, ms */
#define CTLDEF_AUTHWINDOW 900 /* number: seconds after which a failure count lapses */
#define CTLDEF_AUTHLOCKIP 20 /* number: failures that lock a client address out (0: never) */
#define CTLDEF_AUTHLOCKUSER 0 /* number: failures that lock a user name out (0: never) */
#define CTLDEF_AUTHLOCKTIME 900 /* number: seconds a lockout lasts */
#define CTLDEF_TIMEOUTPOP3D 600 /* number: seconds a POP3 client may be silent */
#define CTLDEF_TIMEOUTINJECT 1200 /* number: seconds qinject waits for input */
#define CTLDEF_TIMEOUTCOMMAND 1000 /* number: seconds a command of an alias or ~/.forward may run (0: no limit) */
#define CTLDEF_TIMEOUTCONNECT 60 /* number: seconds for a remote connection */
#define CTLDEF_TIMEOUTREMOTE 1200 /* number: seconds for a remote reply */
#define CTLDEF_HELOHOST "" /* text: the name qremote gives in EHLO (me) */
#define CTLDEF_SMTPROUTES "" /* list: domain:host:port, :host for all (none: MX lookup) */
#define CTLDEF_TLSPOLICY "" /* list: outbound TLS per destination, KEY LEVEL: KEY a domain, .domain, [mxhost] or *; LEVEL none, may, encrypt, verify, dane or dane-only (none: may) */
#define CTLDEF_LMTPDOMAINS "" /* list: domain:lmtp:unix:/path or domain:lmtp:host:port, the LMTP server of its virtual users */
#define CTLDEF_MILTERS "" /* list: milters qsmtpd asks, in order: unix:/path or inet:IP:PORT, then default=accept or default=tempfail (tempfail) and timeout=SECONDS (30) */
#define CTLDEF_MASQUERADE "" /* text: domain that local senders are rewritten to */
#define CTLDEF_MASQUERADE_EXCEPTIONS "" /* list: hosts not masqueraded */
#define CTLDEF_MASQUERADE_ENVELOPE 0 /* flag: masquerade the envelope sender too */
#define CTLDEF_USERS "" /* map: virtual users user@domain:HASH[:MAILBOX] */
#define CTLDEF_ALIASES "" /* map: sendmail aliases and virtusertable */
#define CTLDEF_ACCESS "" /* map: sendmail access rules */
#define CTLDEF_GENERICS "" /* map: rewriting of local senders */

#endif
