#ifndef CDBMAP_H
#define CDBMAP_H
/*
 * cdbmap: reading and writing CDB maps with libowfat's cdb.
 *
 * Reading: cdbmap_get gives a map kept open for the process (checked with
 * one stat per call, reopened when qnewmaps has replaced it); cdbmap_lookup
 * is cdbmap_get and cdbmap_find. cdbmap_open / cdbmap_find / cdbmap_close
 * open a map of one's own.
 * Writing: cdbmap_start creates "FINAL.tmp" beside the final name (O_EXCL
 * after removing a stale one), cdbmap_add adds records, cdbmap_finish
 * fsyncs, renames onto FINAL and fsyncs the directory: readers see the old
 * map or the new one, never a half-written one. cdbmap_abort removes the
 * temp file. All of them free libowfat's cdb_make lists.
 */
#include <stddef.h>
#include <stralloc.h>
#include <cdb.h>
#include <cdb_make.h>

struct cdbmap {
  int fd;
  struct cdb c;
};

/* 1 opened, 0 the map does not exist, -1 error + errno. */
int cdbmap_open(struct cdbmap *m, const char *fn);
/* 1 found (value in val), 0 not found, -1 error + errno. */
int cdbmap_find(struct cdbmap *m, const char *key, size_t len, stralloc *val);
void cdbmap_close(struct cdbmap *m);

/* The map fn, kept open (cdbmap_get.c): 1 (*m set; never close it), 0 the
 * map does not exist, -1 error + errno. */
int cdbmap_get(struct cdbmap **m, const char *fn);

/* 1 found, 0 not found or no map, -1 error + errno. */
int cdbmap_lookup(const char *fn, const char *key, size_t len, stralloc *val);

struct cdbmap_writer {
  int fd;
  struct cdb_make cm;
  stralloc tmp;   /* temp file name, NUL-terminated */
  stralloc final; /* final file name, NUL-terminated */
};

/* w needs no initialisation; start, then add ..., then finish or abort. */
int cdbmap_start(struct cdbmap_writer *w, const char *final, int mode); /* 0, -1 + errno */
int cdbmap_add(struct cdbmap_writer *w, const char *key, size_t klen,
               const char *val, size_t vlen);                         /* 0, -1 + errno */
int cdbmap_finish(struct cdbmap_writer *w);                           /* 0, -1 + errno */
void cdbmap_abort(struct cdbmap_writer *w);

/* Frees the lists libowfat's cdb_make keeps (it has no function for it);
 * for whoever uses cdb_make directly. cm must have been zeroed or started. */
void cdbmake_free(struct cdb_make *cm);

#endif
