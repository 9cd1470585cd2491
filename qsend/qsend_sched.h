#ifndef QSEND_SCHED_H
#define QSEND_SCHED_H
/*
 * Between the two halves of qsend's scheduler: qsend_sched.c decides when
 * each recipient is tried (the time heap, the ready lists, the delivery
 * slots, jobs started) and qsend_result.c applies what a job's result
 * says (retry, expiry, reports, the destination's rest) and frees its
 * slot. No other file includes it.
 */
#include <stddef.h>

#include "qsend.h"

struct job {
  struct msg *m;               /* NULL: slot free */
  size_t *idx;                 /* the recipients, in the order sent */
  size_t count;
  struct dom *dom;             /* remote jobs */
};

struct class {
  struct job *jobs;
  unsigned long slots;
  unsigned long busy;
  struct msg *fresh_head, *fresh_tail;
  struct msg *retry_head, *retry_tail;
  unsigned long served;
};

extern struct class sched_classes[2]; /* 0 local, 1 remote */

/* Puts m where its pending recipients need it: ready lists for what is
 * due, the heap for the earliest of the rest. Frees it when it is
 * finished (qsend_sched.c). */
void sched_place(struct msg *m);

#endif
