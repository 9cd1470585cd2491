#ifndef MILTER_H
#define MILTER_H
/*
 * milter: the Sendmail/Postfix mail filter protocol, version 6, as the
 * MTA side speaks it (qsmtpd/qsmtpd_milter.c). Libc only.
 *
 * A packet is a 4-byte big-endian length (of what follows), a command or
 * reply byte, then the data:
 *   MTA -> milter: "O" version actions protocol (3 x uint32): negotiate
 *                  "D" stage name\0 value\0 ...: macros for the next command
 *                  "C" host\0 family port(uint16) addr\0   "H" helo\0
 *                  "M" <sender>\0   "R" <rcpt>\0   "T"   "L" name\0 value\0
 *                  "N" (end of header)   "B" body bytes   "E" (end of message)
 *                  "A" (abort the message)   "Q" (quit)
 *   milter -> MTA: "O" (its choice of the three), "c" continue, "a" accept,
 *                  "r" reject, "t" tempfail, "d" discard, "y" "550 5.7.1 text"\0,
 *                  "p" progress; at the end of message first the changes:
 *                  "h" name\0 value\0 (add header), "i" index name\0 value\0
 *                  (insert header), "m" index name\0 value\0 (change the
 *                  index-th field of that name, 1 the first; an empty value
 *                  deletes it), "e" <sender>\0 [esmtp-args\0] (change the
 *                  sender), "+" <rcpt>\0 (add recipient), "-" <rcpt>\0
 *                  (delete recipient), "b" bytes (a piece of the new body),
 *                  "q" reason\0 (quarantine: hold the message)
 * Every length is checked: a reply that is not exactly of its form is
 * malformed, and the caller treats the milter as down.
 */
#include <stddef.h>
#include <stdint.h>

#define MILTER_VERSION 6
#define MILTER_CHUNK 65535        /* largest body chunk sent (libmilter's limit) */
#define MILTER_REPLY_MAX 1048576  /* largest reply packet read */
#define MILTER_TEXT_MAX 1000      /* a reply code's text, an added field's name + value */

/* actions the MTA offers (SMFIF_) */
#define MILTER_ACT_ADDHDRS 0x01
#define MILTER_ACT_CHGBODY 0x02
#define MILTER_ACT_ADDRCPT 0x04
#define MILTER_ACT_DELRCPT 0x08
#define MILTER_ACT_CHGHDRS 0x10
#define MILTER_ACT_QUARANTINE 0x20
#define MILTER_ACT_CHGFROM 0x40

/* stages a milter may decline (SMFIP_NO*) */
#define MILTER_NO_CONNECT 0x01
#define MILTER_NO_HELO 0x02
#define MILTER_NO_MAIL 0x04
#define MILTER_NO_RCPT 0x08
#define MILTER_NO_BODY 0x10
#define MILTER_NO_HDRS 0x20
#define MILTER_NO_EOH 0x40
#define MILTER_NO_UNKNOWN 0x100
#define MILTER_NO_DATA 0x200
#define MILTER_NO_ALL 0x37f /* the ones above: all the MTA offers */

/* stages a milter will not answer (SMFIP_NOHREPL, SMFIP_NR_*): the MTA
 * sends the command and goes on without waiting. rspamd asks for all of
 * them, whatever it is offered. */
#define MILTER_NR_HDR 0x80
#define MILTER_NR_CONNECT 0x1000
#define MILTER_NR_HELO 0x2000
#define MILTER_NR_MAIL 0x4000
#define MILTER_NR_RCPT 0x8000
#define MILTER_NR_DATA 0x10000
#define MILTER_NR_UNKNOWN 0x20000
#define MILTER_NR_EOH 0x40000
#define MILTER_NR_BODY 0x80000
#define MILTER_NR_ALL 0xff080 /* the ones above */

struct milter_reply {
  char code;             /* 'c' 'a' 'r' 't' 'd' 'y' 'p' 'h' 'i' 'm' 'e' '+' '-' 'b'
                            'q' 'O' */
  uint32_t version;      /* 'O' */
  uint32_t actions;      /* 'O' */
  uint32_t protocol;     /* 'O' */
  uint32_t index;        /* 'i', 'm' */
  const char *text;      /* 'y': the reply line (no CRLF); 'q': the reason; 'e': the
                            ESMTP arguments or NULL; NUL-terminated */
  const char *name;      /* 'h', 'i', 'm': the field name, NUL-terminated */
  const char *value;     /* 'h', 'i', 'm': the value ('m': "" deletes); '+', '-': the
                            recipient; 'e': the sender; NUL-terminated;
                            'b': the body bytes (len of them) */
  size_t len;            /* 'b' */
};

/* The 5-byte packet head for cmd with len bytes of data into out. 0, or
 * -1 if len is too long. */
int milter_head(char out[5], char cmd, size_t len);
/* The length of a packet from its 4-byte head: 0 is malformed (a packet
 * has at least its code), as is one over max. */
size_t milter_len(const char head[4], size_t max);
/* Parses one reply packet (code + data, len bytes; pkt must stay as it
 * is: the fields point into it). 0 ok, -1 malformed. */
int milter_reply_parse(struct milter_reply *r, const char *pkt, size_t len);

#endif
