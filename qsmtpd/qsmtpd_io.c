/*
 * qsmtpd_io: the client connection. libowfat buffers on fd 0 and fd 1.
 * Reading flushes pending output first (PIPELINING, RFC 2920: replies go
 * out when the server would wait for input). Time limits, then 421 4.4.2:
 *   a command line: the whole line within timeoutsmtpd seconds of the
 *     start of the wait for it (one byte now and then keeps nobody in);
 *   message data: no pause of timeoutsmtpd seconds, and the whole data
 *     within timeoutsmtpd seconds plus one second per datarate bytes;
 *   while qlisten is under stress, timeoutstress in place of timeoutsmtpd;
 *   once qlisten has stopped (pool mode: its socket pair closed), a
 *     command outside a transaction within timeoutstress of the start of
 *     the wait or of the stop, whichever is later; then 421 4.3.2, as
 *     nothing but QUIT would be taken anyway (sess_stop_check). A message
 *     in progress keeps its own time limits to finish.
 * Each complete line and each piece of data counts as progress for
 * qlisten (listenproto.h). SIGTERM is blocked except while waiting for
 * the client, so it is seen only between reads: then the client gets
 * 421 4.3.2 and the session ends; a message whose end was already read
 * is finished first.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <buffer.h>

#include "bflush.h"
#include "line.h"
#include "listenproto.h"
#include "qsmtpd.h"

#define NET_INBUF 8192
#define NET_OUTBUF 4096

unsigned long io_timeout = 1200;
unsigned long io_timeout_stress = 10;
unsigned long io_data_rate = 1024;

static char inbuf[NET_INBUF];
static char outbuf[NET_OUTBUF];
static volatile sig_atomic_t got_term;
static int term_seen;     /* SIGTERM came: no session after this one */
static sigset_t waitmask; /* the mask while waiting: SIGTERM open */

/* what the client is sending now, for the time limits */
#define PHASE_COMMAND 0
#define PHASE_DATA 1
static int phase;
static struct timespec phase_start;
static struct timespec last_read;
static unsigned long long phase_bytes;
static struct timespec stopped_at; /* when the stop of qlisten was first seen */
static int stop_seen;

static unsigned long timeout_now(void)
{
  if (listen_stress() && io_timeout_stress < io_timeout) return io_timeout_stress;
  return io_timeout;
}

void io_phase_command(void)
{
  phase = PHASE_COMMAND;
  clock_gettime(CLOCK_MONOTONIC, &phase_start);
  last_read = phase_start;
  phase_bytes = 0;
}

void io_phase_data(void)
{
  io_phase_command();
  phase = PHASE_DATA;
}

/* The end of the wait for input (see the top of this file). */
static struct timespec read_deadline(void)
{
  struct timespec d;
  unsigned long t = timeout_now();

  if (phase == PHASE_COMMAND) {
    d = phase_start;
    d.tv_sec += (time_t)t;
    return d;
  }
  d = last_read; /* no pause longer than t */
  d.tv_sec += (time_t)t;
  if (io_data_rate > 0) {
    struct timespec whole = phase_start;
    unsigned long long allowed = t + phase_bytes / io_data_rate;
    whole.tv_sec += allowed > 0x7fffffff ? 0x7fffffff : (time_t)allowed;
    if (whole.tv_sec < d.tv_sec) d = whole;
  }
  return d;
}

/* Pool mode, waiting for a command outside a transaction: the socket
 * pair with qlisten is watched (readable only at its end of file). */
static int watch_listener(void)
{
  return phase == PHASE_COMMAND && sess_pool_fd() != -1 && !sess_tx_active();
}

static int before(const struct timespec *a, const struct timespec *b)
{
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Once the listener has stopped: the end of the wait for a command
 * outside a transaction (see the top of this file). */
static struct timespec stop_deadline(void)
{
  struct timespec d = before(&phase_start, &stopped_at) ? stopped_at : phase_start;
  unsigned long t = io_timeout_stress < io_timeout ? io_timeout_stress : io_timeout;

  d.tv_sec += (time_t)t;
  return d;
}

static void on_term(int sig)
{
  (void)sig;
  got_term = 1;
}

/* The end of the wait for input, the stop of the listener counted
 * (watch: it is watched); *stop set to 1 when that is what ends it. */
static struct timespec input_deadline(int watch, int *stop)
{
  struct timespec d = read_deadline();

  *stop = 0;
  if (watch && stop_seen) {
    struct timespec s = stop_deadline();
    if (before(&s, &d)) {
      d = s;
      *stop = 1;
    }
  }
  return d;
}

/* Waits for fd to become ready (events) until the deadline (for output:
 * the timeout from now), SIGTERM allowed meanwhile. 1 ready, 0 timeout,
 * -1 time up after the listener stopped (watch_listener); sets got_term
 * when interrupted by it. */
static int wait_fd(int fd, short events)
{
  struct pollfd p[2];
  struct timespec deadline;
  struct timespec now;
  int watch = events == POLLIN && watch_listener();
  int stop = 0;

  if (events == POLLIN) {
    deadline = input_deadline(watch, &stop);
  } else {
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)timeout_now();
  }
  for (;;) {
    struct timespec left;
    int r;
    if (got_term) return 1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    left.tv_sec = deadline.tv_sec - now.tv_sec;
    left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
    if (left.tv_nsec < 0) {
      left.tv_nsec += 1000000000L;
      left.tv_sec--;
    }
    if (left.tv_sec < 0) return stop ? -1 : 0;
    if (left.tv_sec > 2) left.tv_sec = 2; /* stress may begin meanwhile */
    p[0].fd = fd;
    p[0].events = events;
    p[0].revents = 0;
    p[1].fd = sess_pool_fd();
    p[1].events = POLLIN;
    p[1].revents = 0;
    r = ppoll(p, watch && !stop_seen ? 2 : 1, &left, &waitmask);
    if (r > 0 && p[0].revents != 0) return 1;
    if (r == -1 && errno != EINTR) return 1; /* let read or write report it */
    if (r > 0) { /* the socket pair: qlisten's end of file, or (never sent) data */
      if (sess_listener_gone()) {
        clock_gettime(CLOCK_MONOTONIC, &stopped_at);
        stop_seen = 1;
      } else {
        watch = 0;
      }
    }
    if (events == POLLIN) deadline = input_deadline(watch, &stop);
  }
}

/* The listener stopped and no command came in time (see the top). */
static void __attribute__((noreturn)) die_stopped(void)
{
  io_reply("421 4.3.2 service shutting down, closing connection\r\n");
  bflush(&io_out);
  sess_exit("shutdown");
}

static ssize_t net_read(int fd, char *buf, size_t len, void *cookie)
{
  ssize_t r;

  (void)cookie;
  io_flush();
  io_term_check();
  switch (wait_fd(fd, POLLIN)) {
    case 0: io_die_timeout();
    case -1: die_stopped();
    default: break;
  }
  io_term_check();
  do {
    r = read(fd, buf, len);
  } while (r == -1 && errno == EINTR);
  if (r > 0) {
    clock_gettime(CLOCK_MONOTONIC, &last_read);
    if (phase == PHASE_DATA) {
      phase_bytes += (unsigned long long)r;
      listen_progress();
    }
  }
  return r;
}

/* A reply goes out at once when the socket has room (nearly always): a
 * send that would block is the only one that waits in poll. A descriptor
 * that is no socket (a pipe) always waits first. */
static ssize_t net_write(int fd, const char *buf, size_t len, void *cookie)
{
  static int pipe_fd = -1;
  ssize_t w;

  (void)cookie;
  if (fd != pipe_fd) {
    do {
      w = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (w == -1 && errno == EINTR);
    if (w >= 0) return w;
    if (errno == ENOTSOCK) pipe_fd = fd;
    else if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
  }
  if (wait_fd(fd, POLLOUT) != 1) sess_exit("timeout");
  do {
    w = write(fd, buf, len);
  } while (w == -1 && errno == EINTR);
  return w;
}

buffer io_in = BUFFER_INIT(net_read, 0, inbuf, sizeof inbuf);
buffer io_out = BUFFER_INIT(net_write, 1, outbuf, sizeof outbuf);

void io_init(void)
{
  struct sigaction sa;
  sigset_t block;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: ppoll must return */
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL); /* EPIPE instead, from the client or qinject */
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &waitmask);
  sigdelset(&waitmask, SIGTERM);
}

void io_child_setup(void)
{
  struct sigaction sa;
  sigset_t none;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGPIPE, &sa, NULL);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

int io_wait_idle(int fd)
{
  struct pollfd p;

  for (;;) {
    if (got_term) return -1;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    if (ppoll(&p, 1, NULL, &waitmask) > 0) return 0;
    if (errno != EINTR) return 0; /* let the read report it */
  }
}

int io_terminated(void)
{
  return term_seen || got_term;
}

void io_reset(void)
{
  buffer_init(&io_in, net_read, 0, inbuf, sizeof inbuf);
  buffer_init(&io_out, net_write, 1, outbuf, sizeof outbuf);
}

void io_put(const char *s, size_t len)
{
  if (buffer_put(&io_out, s, len) == -1) sess_exit("write error");
}

void io_puts(const char *s)
{
  io_put(s, strlen(s));
}

void io_reply(const char *s)
{
  io_put(s, strlen(s));
}

void io_flush(void)
{
  if (bflush(&io_out) == -1) sess_exit("write error");
}

void io_term_check(void)
{
  sigset_t pending;

  if (!got_term) {
    sigpending(&pending);
    if (!sigismember(&pending, SIGTERM)) return;
  }
  got_term = 0;
  term_seen = 1;
  io_reply("421 4.3.2 service shutting down, closing connection\r\n");
  io_flush();
  sess_exit("shutdown");
}

void io_die_timeout(void)
{
  io_reply("421 4.4.2 timeout, closing connection\r\n");
  bflush(&io_out);
  sess_exit("timeout");
}

void io_die_read(void)
{
  sess_exit("read error");
}

void io_die_nomem(void)
{
  io_reply("421 4.3.0 out of memory, closing connection\r\n");
  bflush(&io_out);
  sess_exit("out of memory");
}

int io_getline(char *line, size_t size, size_t *len)
{
  int r;

  io_phase_command();
  r = line_get(&io_in, line, size, len);
  if (r == 1) listen_progress();
  return r;
}
