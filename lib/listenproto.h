#ifndef LISTENPROTO_H
#define LISTENPROTO_H
/*
 * listenproto: qlisten and the session programs it starts.
 *
 * Every program qlisten starts finds in its environment
 *   QLISTENSHM=4      a descriptor of the shared table below (a memfd):
 *                     map it with listen_attach, which closes it
 *   QLISTENSLOT=17    its slot in that table
 * and, in pool mode (qlisten -s N), also
 *   QLISTENFD=3       its end of a SOCK_SEQPACKET socket pair with qlisten.
 * Without QLISTENFD the program serves one connection on fd 0 and fd 1,
 * with the connection's environment set (the UCSPI way, as tcpserver).
 *
 * Pool mode, qlisten -> session program, one message per connection:
 * exactly one descriptor (the client's socket, SCM_RIGHTS) and the
 * connection's environment as text0 records, at most LISTEN_MSG_MAX bytes:
 *   "PROTO=TCP\0TCPREMOTEIP=192.0.2.7\0TCPREMOTEPORT=49152\0"
 *   "TCPLOCALIP=192.0.2.1\0TCPLOCALPORT=25\0TCPLOCALHOST=mx.example.org\0"
 *   "RELAYCLIENT=\0"   (from the rules CDB, as tcprules writes it)
 * The program sets exactly these variables for the connection, and after
 * it gives them back the values they had in its own environment (unset if
 * they had none): a rule's SUBMISSION=0 or QINJECT for one client is not
 * the next client's. When it is done with the connection (its
 * copies of the socket closed) it sends the one byte "D" and waits for
 * the next message; end of file from qlisten means "exit now". qlisten
 * retires a program after N connections (-s N; 1: one connection per
 * process) or after a minute without work. A program that exits or
 * dies ends its connection; qlisten counts it as done.
 *
 * The shared table: qlisten writes the header, each program its own slot.
 * progress is CLOCK_MONOTONIC seconds: qlisten sets it when it hands over
 * a connection, the program whenever the client completes a command or
 * sends message data. When every connection slot is taken, qlisten ends
 * the connection that has made no progress for longest (qlisten.8).
 * stress is 1 while qlisten holds more connections than its high-water
 * mark: programs then wait for clients with their short timeouts.
 */
#include <stddef.h>
#include <stdint.h>

#include <stralloc.h>

#define LISTEN_MSG_MAX 2048   /* bytes of one connection's environment */
#define LISTEN_ENV_MAX 32     /* variables in one message */
#define LISTEN_DONE 'D'

struct listen_slot {
  volatile uint32_t progress;
  uint32_t pad;
};

struct listen_shm {
  volatile uint32_t stress;
  uint32_t slots;
  struct listen_slot slot[];
};

/* Maps the table named by QLISTENSHM and QLISTENSLOT, if both are there;
 * then closes the descriptor and forgets the two, unless keep is 1 (a
 * program whose session goes on in a program it runs: qpop3d). 1
 * attached, 0 not run by qlisten, -1 error + errno. */
int listen_attach(int keep);
/* The client made progress (a no-op when not attached). */
void listen_progress(void);
/* 1 while qlisten is under stress, 0 if not (or not attached). */
int listen_stress(void);

/* The control descriptor of pool mode (QLISTENFD), made close-on-exec;
 * -1 if there is none. */
int listen_ctlfd(void);
/* Waits for the next connection on ctl: its socket (close-on-exec), with
 * its environment set (the previous connection's variables unset).
 * -1 with errno 0 at end of file (exit now), else -1 + errno. */
int listen_next(int ctl);
/* Tells qlisten the connection is done. 0, or -1 + errno. */
int listen_done(int ctl);

#endif
