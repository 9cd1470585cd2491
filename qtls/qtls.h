#ifndef QTLS_H
#define QTLS_H
/*
 * qtls: the plain POSIX helpers shared by qtlsd (the TLS service of the
 * listeners) and qtls-client (qremote's STARTTLS helper); the OpenSSL ones
 * are in qtls_ssl.h, and this header includes no OpenSSL header. These
 * programs never link libowfat or lib/lib.a: libowfat is GPL-2.0-only and
 * OpenSSL 3 is Apache-2.0, which may not share a binary.
 *
 * Every line starts with the program's name, qtls_prog (set by main):
 *   qtls_say("192.0.2.7 ", "TLSv1.3")        ->  "qtlsd: 192.0.2.7 TLSv1.3\n"
 *   qtls_die(111, "unable to load ", fn)     ->  "qtlsd: fatal: unable to load ...\n"
 *   qtls_die_sys(111, "unable to fork")      ->  the same with ": strerror(errno)"
 *
 * Each diagnostic is one write(2) on fd 2, cut at QTLS_LINE_MAX bytes, with
 * every byte below 0x20 or at 0x7f shown as '?', so that no argument can
 * forge a log line.
 */
#include <stddef.h>

#define QTLS_LINE_MAX 1024   /* bytes of one diagnostic line, newline included */
#define QTLS_TOKEN_MAX 64    /* proto or cipher name in a status line */
#define QTLS_TEXT_MAX 200    /* reason in an N line, CN in a Y line */
#define QTLS_STATUS_MAX 256  /* one status line to the session program or qremote */
#define QTLS_TIMEOUT 60      /* default seconds for a handshake */
#define QTLS_ULONG 21        /* digits of a 64-bit number, NUL included */

extern const char *qtls_prog; /* set by main */
extern int qtls_in_child;     /* set after fork: qtls_die then calls _exit */

void qtls_say_(const char *s, ...);
void qtls_die_(int code, const char *s, ...) __attribute__((noreturn));
void qtls_die_sys_(int code, const char *s, ...) __attribute__((noreturn));
#define qtls_say(...) qtls_say_(__VA_ARGS__, (const char *)0)
#define qtls_die(code, ...) qtls_die_(code, __VA_ARGS__, (const char *)0)
#define qtls_die_sys(code, ...) qtls_die_sys_(code, __VA_ARGS__, (const char *)0)

/* Copies src into dst (dstsize bytes, NUL-ended, cut to fit). With
 * token = 1, only [A-Za-z0-9._-] pass; otherwise bytes 0x21-0x7e, and
 * spaces when keep_space. Anything else becomes '?'. Returns dst. */
char *qtls_clean(char *dst, size_t dstsize, const char *src, int token, int keep_space);

/* Appends the NUL-ended strings (NULL ends the list) to dst, which holds
 * dstsize bytes and is NUL-ended; cuts at the end. Returns dst. */
char *qtls_cat_(char *dst, size_t dstsize, ...);
#define qtls_cat(dst, size, ...) qtls_cat_(dst, size, __VA_ARGS__, (const char *)0)

char *qtls_ulong(char *buf, unsigned long long n); /* buf: QTLS_ULONG bytes */
int qtls_scan_uint(const char *s, unsigned int *n); /* 0 ok, -1 not a number 1-86400 */

int qtls_nonblock(int fd, int on);               /* 0, or -1 + errno */
long long qtls_now_ms(void);                     /* monotonic milliseconds */
int qtls_write_all(int fd, const char *s, size_t len); /* 0, or -1 + errno */
int qtls_exitcode(int status);                   /* a wait status as an exit code */
int qtls_wait(int pid);                          /* waits; the child's exit code */

/* qtlsd's side of the tlsd protocol (lib/tlsd.h) with a session program:
 * qtls_ctl_answer writes one line ("R", "Y proto cipher"; the program may
 * be gone already, which changes nothing); qtls_ctl_refuse writes
 * "N " what why "\n", the reason cut to QTLS_TEXT_MAX printable bytes. */
void qtls_ctl_answer(int ctl, const char *line);
void qtls_ctl_refuse(int ctl, const char *what, const char *why);
/* "N " what why "\n" into line, the reason cleaned and cut to
 * QTLS_TEXT_MAX bytes (qtls-client's status line too); returns line. */
char *qtls_nline(char line[QTLS_STATUS_MAX], const char *what, const char *why);

#endif
