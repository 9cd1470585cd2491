#ifndef DURABLE_H
#define DURABLE_H
/*
 * durable: files that appear under their final name only once on disk.
 * The pattern everywhere: write a temp file in the same directory, fsync
 * it, rename it onto the final name, fsync the directory.
 */
#include <stddef.h>

int durable_dirsync(const char *dir);                                   /* 0, -1 + errno */
/* rename(tmp, final) then fsync dir (the directory holding final). */
int durable_replace(const char *dir, const char *tmp, const char *final); /* 0, -1 + errno */
/* rename(tmp, final) then fsync the directory of final (its name up to the
 * last '/', or "." if none). */
int durable_rename(const char *tmp, const char *final);                  /* 0, -1 + errno */
/* Writes len bytes of data to fn durably (temp "fn.tmp", fsync, rename,
 * fsync dir), with the given mode. */
int durable_writefile(const char *fn, const char *data, size_t len, int mode); /* 0, -1 + errno */
/* write(2) until all len bytes are written; 0, -1 + errno. */
int durable_writeall(int fd, const char *data, size_t len);

#endif
