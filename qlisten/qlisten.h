#ifndef QLISTEN_H
#define QLISTEN_H
/*
 * qlisten internals, shared by qlisten.c and its qlisten_*.c siblings.
 */
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/types.h>

#include "listenproto.h"

/* ---- client addresses and their counts (qlisten_peers.c) ---- */

/* An address as counted: IPv4 as ::ffff:a.b.c.d, IPv6 cut to its /64
 * (the block one host gets), loopback addresses whole. */
struct peer_key {
  unsigned char b[16];
};

/* The key of a client's address (16 bytes, IPv4 mapped). *loopback: 1 for
 * 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
void peer_key(struct peer_key *k, const unsigned char addr[16], int *loopback);
/* The table of counts, for at most max addresses at once. 0, -1 no memory. */
int peers_init(size_t max);
unsigned long peers_count(const struct peer_key *k);
/* Adds one connection of k (0, -1 table full) or takes one away. */
int peers_add(const struct peer_key *k);
void peers_del(const struct peer_key *k);

/* ---- the rules CDB (qlisten_rules.c) ---- */

#define RULES_ALLOW 0
#define RULES_DENY 1
/* Looks the client's address (text form) up in the rules CDB fn, in
 * tcprules' format: the address, then its prefixes ("10.1.2.", "10.1.",
 * "10.", "2001:db8:"), then "". Appends the variables of the first rule
 * found to env as "NAME=VALUE\0" records (at most max bytes in all).
 * RULES_ALLOW or RULES_DENY; -1 if the map cannot be read (errno). */
int rules_check(const char *fn, const char *ip, char *env, size_t *envlen, size_t max);

/* ---- processes (qlisten_proc.c) ---- */

enum proc_state {
  PROC_FREE,     /* slot unused */
  PROC_IDLE,     /* pool: waits for a connection */
  PROC_BUSY,     /* serves a connection */
  PROC_EXITING   /* no more connections: waiting for it to end */
};

#define CLIENT_UNHELD (-2)

struct proc {
  enum proc_state state;
  pid_t pid;
  int ctl;              /* pool: our end of the socket pair, else -1 */
  int client;           /* our copy of the client's socket while busy, else -1;
                           CLIENT_UNHELD: busy, but no copy kept (root) */
  struct peer_key key;  /* the client's address while busy */
  char ip[INET6_ADDRSTRLEN]; /* ... in text form, for the log */
  int evicted;          /* its connection was ended to make room */
  unsigned long uses;   /* connections handed over */
  uint32_t idle_since;  /* PROC_IDLE: when it became idle */
};

struct config {
  unsigned long max;          /* connections at once (-c) */
  unsigned long perip;        /* per address (-p), 0: no limit */
  unsigned long perloop;      /* per loopback address (-P), 0: no limit */
  unsigned long highwater;    /* stress above this many connections (-w) */
  unsigned long uses;         /* pool mode: connections per process (-s), 0: classic */
  unsigned long idle;         /* pool mode: processes kept ready (-i) */
  const char *rules;          /* -x */
  const char *perip_reply;    /* -m, with CRLF; "" for none */
  const char *busy_reply;     /* -M, with CRLF; "" for none */
  char **argv;                /* the program */
};

extern struct config cfg;
extern struct proc *procs;
extern size_t nprocs;       /* size of procs */
extern struct listen_shm *shm;
extern unsigned long active; /* connections held (busy processes + waiting ones) */

uint32_t now_sec(void);

/* ---- the connection count for qmetrics (qlisten_stat.c, -S) ---- */

/* Creates (or reuses) path, maps it and writes the count. 0, -1 + errno. */
int stat_open(const char *path);
/* Stores the count of connections now if it changed (a memory store). */
void stat_update(void);

/* Creates the table (and the shared one) for n processes. 0, -1 (errno). */
int procs_init(size_t n);
/* Starts a process in a free slot; pool mode: it becomes PROC_IDLE.
 * Classic mode: it gets client on fd 0 and 1 and env (envlen bytes of
 * records) and becomes PROC_BUSY. The slot, or -1 (logged). */
long proc_spawn(int client, const char *env, size_t envlen);
/* Pool mode: hands client and env to the idle process p. 0, -1 (p is gone). */
int proc_handoff(struct proc *p, int client, const char *env, size_t envlen);
/* The connection of p is over: counts and our copy of its socket released. */
void proc_conn_end(struct proc *p);
/* No more connections for p: its control socket is closed. */
void proc_retire(struct proc *p);
/* p's process has ended (reaped): its slot is freed. */
void proc_reaped(struct proc *p, int status);
struct proc *proc_by_pid(pid_t pid);
struct proc *proc_by_ctl(int fd);

/* The event loop's hooks for control sockets (qlisten.c). */
int loop_watch(int fd);
void loop_unwatch(int fd);

#endif
