#ifndef MAPS_H
#define MAPS_H
/*
 * maps: compiling the text maps of control/ into CDB (qnewmaps, qpasswd).
 * The caller has chdir'd to QHOME and holds maps_lock.
 *
 * Each maps_X compiles one map: 0 compiled (or the text file is missing),
 * 1 syntax errors (each passed to maps_report; the old .cdb is kept),
 * -1 system error + errno (the old .cdb is kept).
 */
#include <stddef.h>
#include <buffer.h>
#include <stralloc.h>
#include "cdbmap.h"

#define MAPS_LINE_MAX 8192     /* bytes of one physical line, '\n' included */
#define MAPS_ENTRY_MAX 1048576 /* bytes of one alias with its continuation lines */
#define TCPRULES_CDB "control/tcp.smtp.cdb"
#define GENERICS_TEXT "control/generics"
#define GENERICS_CDB "control/generics.cdb"

int maps_users(void);
int maps_aliases(void);
/* Entries maps_users or maps_aliases (the defaults included) put into
 * its map, set by the last of them to run (0 when the text is missing). */
extern unsigned long maps_entries;
int maps_access(void); /* also writes TCPRULES_CDB */
int maps_generics(void);

/* Serializes every writer of control/ (qnewmaps, qpasswd): flock on the
 * directory. Returns the fd to keep open, or -1 + errno. */
int maps_lock(void);

/* Set by the program: called once per syntax error with the file name,
 * the line number and the text (what2 may be NULL). Library code never
 * prints; qnewmaps and qpasswd print "PROG: FILE:LINE: text". */
extern void (*maps_report)(const char *fn, unsigned long lineno, const char *what,
                           const char *what2);
/* The same for a warning, which compiles the map anyway (an alias
 * shadowed by a virtual user); may stay NULL. */
extern void (*maps_warn)(const char *fn, unsigned long lineno, const char *what,
                         const char *what2);

/* ---- helpers shared by the compilers ---- */

struct maps_src {
  const char *fn;
  int fd;
  buffer b;
  char space[4096];
  unsigned long lineno;
  int errors;
};

/* A set of keys, to refuse duplicates. */
struct maps_keyset {
  stralloc keys;     /* the keys, each followed by '\0' */
  size_t *slots;     /* offset + 1 into keys, 0 = empty */
  size_t size;       /* a power of two */
  size_t count;
};

/* The one read-parse-write loop (maps_run.c); each map is a parser for it.
 * maps_run opens p->text (missing: 0 at once), starts p->cdb (mode 0644
 * when new), calls begin, then line for each physical line, then end,
 * and if no line had an error, finish (NULL: cdbmap_finish of job->w
 * alone). A parser reports a syntax error with maps_error(&job->src, ...)
 * and returns 0; -1 + errno is a system error and stops the run. done,
 * last on every path once begin was called (even when it failed), frees
 * the parser's state; ok 0 means it must also abort any writer of its own
 * that is still open. Returns what a maps_X returns (above). */
struct maps_job;
struct maps_parser {
  const char *text;
  const char *cdb;
  int (*begin)(struct maps_job *job);                        /* may be NULL */
  int (*line)(struct maps_job *job, char *line, size_t len);
  int (*end)(struct maps_job *job);                          /* may be NULL */
  int (*finish)(struct maps_job *job);                       /* may be NULL */
  void (*done)(struct maps_job *job, int ok);                /* may be NULL */
};
struct maps_job {
  void *state;                  /* the parser's own, as passed to maps_run */
  struct maps_src src;          /* p->text */
  struct cdbmap_writer w;       /* p->cdb */
  struct maps_keyset seen;      /* the keys written so far, for the parser */
};
int maps_run(const struct maps_parser *p, void *state);

/* 1 opened, 0 missing, -1 error + errno. */
int maps_open(struct maps_src *s, const char *fn);
/* The next line without '\n' (a '\r' before it is dropped too): 1 line,
 * 0 EOF, -1 read error. An overlong line is reported and skipped. */
int maps_line(struct maps_src *s, char *line, size_t size, size_t *len);
void maps_close(struct maps_src *s);
/* Counts a syntax error and passes it to maps_report, if set. */
void maps_error(struct maps_src *s, const char *what, const char *what2);
void maps_error_at(struct maps_src *s, unsigned long lineno, const char *what, const char *what2);

/* Starts writing final (cdbmap_start); a map that exists keeps its owner
 * and mode, a new one gets defmode. 0, -1 + errno. */
int maps_writer_start(struct cdbmap_writer *w, const char *final, int defmode);

/* 1 added, 0 already there, -1 out of memory. */
int maps_keyset_add(struct maps_keyset *k, const char *key, size_t len);
void maps_keyset_free(struct maps_keyset *k);

/* ASCII lowercase in place. */
void maps_lower(char *s, size_t len);
/* 1 if s is a host name or domain: labels of letters, digits, '-', '_'. */
int maps_isdomain(const char *s, size_t len);
/* 1 if s can be the local part of a key or target (printable, no blank,
 * none of  : , " < > ( ) [ ] \ ; @). */
int maps_islocal(const char *s, size_t len);

#endif
