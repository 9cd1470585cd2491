#ifndef QSMTPD_MILTER_H
#define QSMTPD_MILTER_H
/*
 * Between the milter client (qsmtpd_milter.c: connections, negotiation,
 * the stages, the conversation at the end of data) and the changes the
 * milters make to the message (qsmtpd_milter_edit.c: the header list,
 * each milter's changes held until its verdict, the queue file rewritten).
 * No other file includes it.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "qsmtpd.h"

/* Reads the message back from the queue file being written: bytes from
 * (message offsets, QUEUE_HDRLEN added) up to to. */
struct medit_reader {
  int fd;
  off_t pos;
  off_t end;
  char buf[8192];
  size_t len;
  size_t at;
};

void medit_reader_init(struct medit_reader *rd, int fd, unsigned long long from,
                       unsigned long long to);
/* The next byte; -1 at the end, -2 a read error. */
int medit_byte(struct medit_reader *rd);

/* The start of a message: no changes yet, no header list. */
void medit_clear(void);
/* Reads the header of the message (len bytes in fd) into the list: 0, or
 * -1 (read error, errno). */
int medit_load(int fd, unsigned long long len);
/* The fields of the list in order: the i-th (i < medit_fields()) if it is
 * shown to the milters (*len set), else NULL. */
size_t medit_fields(void);
const char *medit_field(size_t i, size_t *len);
/* Where the body starts in the message. */
unsigned long long medit_body_at(void);
/* The body an earlier milter of this message put in (CRLF line ends), for
 * the next milters to see; NULL while the body is the one in the file. */
const char *medit_new_body(size_t *len);

/* One milter's changes, held until it ends well: medit_pend_reset before
 * it is asked, medit_pend_apply once its verdict lets the message go on
 * (the next milter sees them); a milter that goes down leaves its
 * changes unapplied. code 'h' add, 'i' insert before the index-th field
 * shown, 'm' change (value "" deletes) the index-th field of that name.
 * medit_pend_header and medit_pend_body: 0, or -1 too much. */
void medit_pend_reset(void);
int medit_pend_header(char code, uint32_t index, const char *name, const char *value);
int medit_pend_body(const char *s, size_t len); /* appended: CRLF line ends */
void medit_pend_sender(const char *sender);     /* the last one given wins */
void medit_pend_quarantine(const char *reason); /* the first one given stays */
int medit_pend_apply(void);                     /* 0, or -1 the header is full */

/* The changes into the queue file: a new body after the header, then the
 * header list over the old header. 0, or -1 (the message is dropped). */
int medit_write(struct inject *q);
/* Buffers that grew for a large message given back (after each message). */
void medit_trim(void);

#endif
