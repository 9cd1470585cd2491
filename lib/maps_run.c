/*
 * maps_run: the loop every map compiler shares (maps.h): open the text,
 * start the map beside the old one, hand each line to the parser, then
 * either put the new map in place or keep the old one. The parsers
 * (maps_users, maps_aliases, maps_access, maps_generics) only parse.
 */
#include <errno.h>
#include <string.h>

#include "maps.h"

static int fail(const struct maps_parser *p, struct maps_job *job)
{
  int e = errno;

  cdbmap_abort(&job->w);
  maps_close(&job->src);
  maps_keyset_free(&job->seen);
  if (p->done != NULL) p->done(job, 0);
  errno = e;
  return -1;
}

static int parse(const struct maps_parser *p, struct maps_job *job)
{
  char line[MAPS_LINE_MAX];
  size_t len;
  int r;

  while ((r = maps_line(&job->src, line, sizeof line, &len)) == 1)
    if (p->line(job, line, len) == -1) return -1;
  if (r == -1) return -1;
  return p->end != NULL ? p->end(job) : 0;
}

int maps_run(const struct maps_parser *p, void *state)
{
  struct maps_job job;
  int r;

  memset(&job, 0, sizeof job);
  job.state = state;
  r = maps_open(&job.src, p->text);
  if (r != 1) return r;
  if (maps_writer_start(&job.w, p->cdb, 0644) == -1) {
    int e = errno;
    maps_close(&job.src);
    errno = e;
    return -1;
  }
  if ((p->begin != NULL && p->begin(&job) == -1) || parse(p, &job) == -1) return fail(p, &job);
  maps_close(&job.src);
  maps_keyset_free(&job.seen);

  if (job.src.errors > 0) {
    cdbmap_abort(&job.w);
    if (p->done != NULL) p->done(&job, 0);
    return 1;
  }
  r = p->finish != NULL ? p->finish(&job) : cdbmap_finish(&job.w);
  if (p->done != NULL) {
    int e = errno;
    p->done(&job, r == 0);
    errno = e;
  }
  return r;
}
