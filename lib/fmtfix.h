#ifndef FMTFIX_H
#define FMTFIX_H
/*
 * libowfat declares its fmt_ functions __attribute__((pure)), yet they
 * write into dest. A compiler that believes the attribute may keep a stale
 * copy of dest across the call, or move a read of dest before it. These
 * wrappers put a compiler barrier after each call, and the macros route
 * every use through them. The barrier takes dest as an input: a "memory"
 * clobber alone covers only memory whose address escaped, and clang,
 * trusting "pure", does not let a local buffer escape into the call (it
 * then dropped the digits: queue_open made "queue/tmp/" its temp name). The Makefile force-includes this header
 * (-include lib/fmtfix.h), so code simply calls fmt_ulong as usual.
 */
#include <stddef.h>
#include <fmt.h>

static inline size_t fmtfix_ulong(char *dest, unsigned long n)
{
  size_t r = (fmt_ulong)(dest, n);
  __asm__ __volatile__("" : : "r"(dest) : "memory");
  return r;
}

static inline size_t fmtfix_ulonglong(char *dest, unsigned long long n)
{
  size_t r = (fmt_ulonglong)(dest, n);
  __asm__ __volatile__("" : : "r"(dest) : "memory");
  return r;
}

static inline size_t fmtfix_str(char *dest, const char *s)
{
  size_t r = (fmt_str)(dest, s);
  __asm__ __volatile__("" : : "r"(dest) : "memory");
  return r;
}

static inline size_t fmtfix_strn(char *dest, const char *s, size_t limit)
{
  size_t r = (fmt_strn)(dest, s, limit);
  __asm__ __volatile__("" : : "r"(dest) : "memory");
  return r;
}

#define fmt_ulong(dest, n) fmtfix_ulong((dest), (n))
#define fmt_ulonglong(dest, n) fmtfix_ulonglong((dest), (n))
#define fmt_str(dest, s) fmtfix_str((dest), (s))
#define fmt_strn(dest, s, limit) fmtfix_strn((dest), (s), (limit))

/* libowfat's own fmt_ulong0 is beyond repair here: it calls fmt_ulong for
 * the digits, and where libowfat was compiled the attribute let the
 * compiler drop that call (Debian's libowfat.a 0.32 writes the padding
 * zeros and nothing else). lib/fmtfix_ulong0.c takes its place: n in
 * decimal, zeros in front up to padto digits; dest NULL measures. */
size_t fmtfix_ulong0(char *dest, unsigned long long n, size_t padto);
#define fmt_ulong0(dest, n, padto) fmtfix_ulong0((dest), (n), (padto))

#endif
