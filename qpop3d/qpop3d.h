#ifndef QPOP3D_H
#define QPOP3D_H
/*
 * qpop3d's modules: network I/O with timeouts (qpop3d_io.c), the parsing
 * of what clients send, without I/O (qpop3d_cmd.c, linked by the unit
 * test and fuzz/fuzz_pop3.c), the Maildir as a POP3 mailbox
 * (qpop3d_maildir.c), the transaction state (qpop3d_session.c).
 * qpop3d.c holds main and the authorization state.
 */
#include <stddef.h>
#include <time.h>

#include <buffer.h>
#include <stralloc.h>

#include "ctldef.h"

/* RFC 2449 4: a command line is at most 255 octets with CRLF; we take more
 * because USER carries a full address (up to 320 bytes, RFC 5321). */
#define POP_MAX_CMDLINE 512
#define POP_TIMEOUT CTLDEF_TIMEOUTPOP3D /* s; RFC 1939 3: at least 10 minutes */
#define POP_MAX_BADCMDS 20      /* unknown or malformed commands per connection */
#define POP_UIDL_MAX 70         /* RFC 1939 7: 1 to 70 characters 0x21-0x7e */
#define POP_MAX_MESSAGES 100000 /* messages shown in one session (the oldest) */

/* qpop3d_io.c: fd 0 and fd 1, buffered; every read flushes the output
 * first, every read and write waits at most pop_timeout seconds. On a
 * timeout or an I/O error, pop_io_end (if set) is called with the reason,
 * then the process exits 0 (timeout, EOF mid-line) or 111. */
extern buffer pop_in;
extern buffer pop_out;
extern unsigned long pop_timeout;
extern void (*pop_io_end)(const char *why);
void pop_put(const char *s, size_t len);
void pop_puts(const char *s);
void pop_flush(void);
/* One command line without its line end: 1 line, 0 EOF, -2 too long. */
int pop_getline(char *line, size_t size, size_t *len);
/* Throws away whatever input is buffered. */
void pop_in_discard(void);
/* Throws away what is buffered and what is waiting on fd 0 now (before
 * STLS's +OK: RFC 2595 4, CVE-2011-0411). */
void pop_in_drop(void);
/* Set before the login: fd 0 is read a line at a time (a socket only). */
extern int pop_in_bylines;
void pop_exit(int code, const char *why) __attribute__((noreturn));

/* qpop3d_cmd.c: pure parsing, no I/O. */
/* The line's length without its CRLF or LF (line_get keeps the LF). */
size_t pop_line_chomp(const char *line, size_t len);
/* The command word (case-insensitive) and its argument. */
struct pop_cmd {
  char word[8];         /* lowercased, NUL-terminated; empty if too long */
  const char *arg;      /* after one blank, NUL-terminated, "" if none;
                         * within the line, and meaningless, if word is "" */
};
/* Writes a NUL at line[len]: the caller's array has len + 1 bytes. */
void pop_cmd_parse(struct pop_cmd *c, char *line, size_t len);
/* A message number or count: decimal, no sign; 1 ok, 0 not a number. */
int pop_scan_number(const char *s, unsigned long *n);
/* TOP's "msg n": copies msg into first (NUL-terminated) and scans n.
 * 1 ok; 0 no blank or n is not a number; -1 msg empty or longer than
 * size - 1 (first is then untouched). */
int pop_top_split(const char *arg, char *first, size_t size, unsigned long *lines);
/* An AUTH PLAIN response (RFC 4616), decoded: authzid\0authcid\0passwd.
 * 1 ok (*user, *pass point into s); 0 malformed (not two NULs, an empty
 * login or password); -1 an authzid other than the login. */
int pop_sasl_plain(const char *s, size_t len, const char **user, size_t *ulen,
                   const char **pass, size_t *plen);

/* The login request of the unprivileged child to its root parent (see
 * qpop3d.c): a 2-byte big-endian length of the rest, then "S" (after
 * STLS) or "P", then proto\0 cipher\0 user\0 password\0, e.g.
 * "\0\x18" "S" "TLSv1.3\0" "AES\0" "bob@a.b\0" "pw\0" (proto and cipher
 * empty for "P"). */
#define POP_MAX_REQUEST 1200    /* bytes: sent with the length; read after it */
#define POP_MAX_TLS_NAME 128    /* protocol and cipher names, with NUL */
struct pop_req {
  char kind;                    /* 'S' or 'P' */
  const char *proto;            /* each field NUL-terminated, in the record */
  const char *cipher;
  const char *user;
  size_t ulen;
  const char *pass;
  size_t plen;
};
/* Writes the whole request (length included) into dest, which has room
 * for POP_MAX_REQUEST bytes; returns its length, 0 if it does not fit
 * there (a password too long). Fields hold no NUL. */
size_t pop_req_fmt(char *dest, const struct pop_req *r);
/* Parses the part after the length (len bytes); 1 ok, 0 protocol error:
 * an unknown kind, a missing NUL, bytes after the password, a TLS name
 * of POP_MAX_TLS_NAME bytes or more, a user over ADDR_MAX. */
int pop_req_parse(struct pop_req *r, const char *body, size_t len);

/* qpop3d_maildir.c: a Maildir seen as a POP3 mailbox. The process has
 * chdir'd into the Maildir. Messages are the files in cur/ (new/ is moved
 * there first, as Maildir readers do), oldest first. */
struct pop_msg {
  size_t name;                /* offset in names of the file name in cur/ */
  size_t baselen;             /* length of the unique part (before ':') */
  unsigned long long size;    /* octets with CRLF line ends, before stuffing */
  time_t mtime;
  int deleted;
};
struct pop_box {
  stralloc names;             /* file names, each NUL-terminated */
  struct pop_msg *msg;
  size_t count;
  size_t alloc;
  size_t skipped;             /* messages past POP_MAX_MESSAGES */
};
/* Moves new/ to cur/ (if move_new) and reads cur/. 0, -1 + errno. */
int popbox_scan(struct pop_box *b, int move_new);
/* Opens message i for reading; follows a rename by another reader (flags
 * changed). fd, or -1 + errno (ENOENT: the message is gone). */
int popbox_open(struct pop_box *b, size_t i);
/* Removes message i; 0 removed or already gone, -1 + errno. */
int popbox_remove(struct pop_box *b, size_t i);
/* Writes message i's UIDL into out (POP_UIDL_MAX + 1 bytes), NUL-ended. */
void popbox_uidl(const struct pop_box *b, size_t i, char *out);
/* The POP3 size of the file open on fd: bytes, plus one CR for each LF
 * not preceded by CR, plus CRLF after a last line without LF. */
int popbox_filesize(int fd, unsigned long long *size);
void popbox_free(struct pop_box *b);

/* qpop3d_send.c: sends the message on fd as a multi-line response body:
 * LF becomes CRLF, a leading '.' is doubled, ".\r\n" ends it. lines < 0:
 * all of it (RETR); else the header, the blank line and that many body
 * lines (TOP). Returns 0, or -1 + errno on a read error (the response is
 * then ended anyway). *sent: octets written. */
int pop_send_message(int fd, long long lines, unsigned long long *sent);

/* qpop3d_session.c: the transaction state, run by "qpop3d -s". */
int pop_session(void) __attribute__((noreturn));

#endif
