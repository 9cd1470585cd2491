/*
 * bannerlat: the time from connect to the server's greeting, over many
 * connections made one after another (bench/mx-bench.py).
 *   bannerlat [-n connections] host port
 * For each connection: connect, read the first line, send QUIT, close.
 * Prints "connections=N median_ms=M p99_ms=P max_ms=X". Exit 0, 1 if a
 * connection failed, 100 on misuse.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define USAGE "bannerlat [-n connections] host port"
#define MAX_N 100000

static double now_ms(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a;
  double y = *(const double *)b;

  return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
  struct sockaddr_in sa;
  double *lat;
  long n = 200;
  long i;
  int opt;

  while ((opt = getopt(argc, argv, "n:")) != -1) {
    if (opt != 'n') goto usage;
    n = atol(optarg);
  }
  if (argc - optind != 2 || n < 1 || n > MAX_N) goto usage;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)atoi(argv[optind + 1]));
  if (inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1) goto usage;
  lat = calloc((size_t)n, sizeof *lat);
  if (lat == NULL) return 111;
  for (i = 0; i < n; i++) {
    char buf[512];
    size_t got = 0;
    double t0 = now_ms();
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
      perror("bannerlat: connect");
      return 1;
    }
    while (got < sizeof buf) {
      ssize_t r = read(fd, buf + got, sizeof buf - got);
      if (r <= 0) {
        fprintf(stderr, "bannerlat: no greeting\n");
        return 1;
      }
      got += (size_t)r;
      if (memchr(buf, '\n', got) != NULL) break;
    }
    lat[i] = now_ms() - t0;
    if (write(fd, "QUIT\r\n", 6) != 6) { /* the server may be gone already */ }
    while (read(fd, buf, sizeof buf) > 0) {}
    close(fd);
  }
  qsort(lat, (size_t)n, sizeof *lat, cmp);
  printf("connections=%ld median_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", n, lat[n / 2],
         lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], lat[n - 1]);
  return 0;

usage:
  fprintf(stderr, "bannerlat: usage: %s\n", USAGE);
  return 100;
}
