#ifndef CDBMAP_H
#define CDBMAP_H
/*
 * cdbmap: reading and writing CDB maps with libowfat's cdb.
 *
 * Reading: cdbmap_get gives a map kept open for the process (checked with
 * one stat per call, reopened when qnewmaps has replaced it or when it
 * was written in place); cdbmap_lookup is cdbmap_get and cdbmap_find.
 * cdbmap_open / cdbmap_find / cdbmap_close open a map of one's own.
 * Writing: cdbmap_start creates "FINAL.tmp" beside the final name (O_EXCL
 * after removing a stale one), cdbmap_add adds records, cdbmap_finish
 * appends the trailer, checks the file, fsyncs, renames onto FINAL and
 * fsyncs the directory: readers see the old map or the new one, never a
 * half-written one. cdbmap_abort removes the temp file. All of them free
 * libowfat's cdb_make lists.
 *
 * Damaged maps. A map is checked once, when it is opened (cdbmap_check),
 * and a map that fails is an error for every lookup (-1, errno EPROTO)
 * until it is replaced: the readers turn that into a temporary failure
 * (defer, 451, qauth 111), never into "no such user". The checks:
 *   - the file is at least the 2048-byte header and under 4 GiB;
 *   - every hash table lies within the file, after the records;
 *   - the records, read one after the other from byte 2048 up to the
 *     first hash table, each fit there with their key and data;
 *   - every record is in the hash table its hash names, with its hash,
 *     reached from its starting slot before any empty slot (a lookup of
 *     its key finds it), and no slot points anywhere else;
 *   - after the hash tables comes nothing, or the trailer below, whose
 *     checksum matches.
 * So a lookup on a checked map never reads outside it and never misses a
 * record that is there. Maps made with tinycdb's "cdb -c" have no
 * trailer: they get every check but the checksum.
 *
 * The trailer, 16 bytes that qnewmaps appends after the hash tables:
 *     "qmtacdb1"   8 bytes, the format's name
 *     END          4 bytes little-endian: where the trailer starts
 *     CRC          4 bytes little-endian: CRC-32C (Castagnoli, as in
 *                  iSCSI and ext4) of every byte of the file before it
 * CDB readers find records through the header's pointers alone and stop
 * their sequential reads at the first hash table, so "cdb -q", "cdb -d",
 * tcpserver and libowfat read such a map as any other; a map dumped and
 * compiled again with "cdb -c" simply has no trailer.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <stralloc.h>
#include <cdb.h>
#include <cdb_make.h>

#define CDBMAP_HEADER 2048            /* the 256 table pointers of every CDB */
#define CDBMAP_MAGIC "qmtacdb1"       /* 8 bytes, no NUL */
#define CDBMAP_TRAILER 16             /* magic, END, CRC */

struct cdbmap {
  int fd;
  struct cdb c;
  /* the file that cdbmap_open found (also when it was damaged) */
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  struct timespec ctime;
  const char *why; /* after -1 with errno EPROTO: what is wrong with it */
};

/* 1 opened and checked, 0 the map does not exist, -1 error + errno:
 * EPROTO for a damaged map (m->why says how; m->dev ... m->ctime name the
 * file), else why it could not be read. */
int cdbmap_open(struct cdbmap *m, const char *fn);
/* 1 found (value in val), 0 not found, -1 error + errno. */
int cdbmap_find(struct cdbmap *m, const char *key, size_t len, stralloc *val);
void cdbmap_close(struct cdbmap *m);

/* The map fn, kept open (cdbmap_get.c): 1 (*m set; never close it), 0 the
 * map does not exist, -1 error + errno (EPROTO: damaged). A damaged file
 * is remembered (device, inode, size, times) and not read again until it
 * changes; cdbmap_report, if set, hears of it once. */
int cdbmap_get(struct cdbmap **m, const char *fn);

/* Set by a program to hear of a damaged map, once per file per process:
 * fn as given to cdbmap_get, why as in cdbmap_check. Library code never
 * prints; cdbmap_warn is a ready reporter for programs that log on fd 2:
 *   "PROG: warning: control/users.cdb is damaged: WHY; ..." */
extern void (*cdbmap_report)(const char *fn, const char *why);
void cdbmap_warn(const char *fn, const char *why);

/* Checks size bytes of a CDB file at map (the checks above). 0 sound,
 * -1 damaged (errno EPROTO, *why a constant string saying how). */
int cdbmap_check(const char *map, size_t size, const char **why);

/* CRC-32C of len bytes at buf, continuing from crc (0 to start). */
uint32_t cdbmap_crc(uint32_t crc, const void *buf, size_t len);

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
