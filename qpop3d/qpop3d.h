#ifndef QPOP3D_H
#define QPOP3D_H
/*
 * qpop3d's modules: network I/O with timeouts (qpop3d_io.c), the Maildir
 * as a POP3 mailbox (qpop3d_maildir.c), the transaction state
 * (qpop3d_session.c). qpop3d.c holds main and the authorization state.
 */
#include <stddef.h>
#include <time.h>

#include <buffer.h>
#include <stralloc.h>

/* RFC 2449 4: a command line is at most 255 octets with CRLF; we take more
 * because USER carries a full address (up to 320 bytes, RFC 5321). */
#define POP_MAX_CMDLINE 512
#define POP_TIMEOUT 600         /* s; RFC 1939 3: at least 10 minutes */
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
/* Throws away whatever input is buffered (after STLS, RFC 2595 4). */
void pop_in_discard(void);
void pop_exit(int code, const char *why) __attribute__((noreturn));

/* The command word (case-insensitive) and its argument. */
struct pop_cmd {
  char word[8];         /* lowercased, NUL-terminated; empty if too long */
  const char *arg;      /* after one blank, NUL-terminated, "" if none */
};
void pop_cmd_parse(struct pop_cmd *c, char *line, size_t len);
/* A message number or count: decimal, no sign; 1 ok, 0 not a number. */
int pop_scan_number(const char *s, unsigned long *n);

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
