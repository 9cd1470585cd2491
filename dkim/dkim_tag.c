/*
 * dkim_tag: the tag-list parser of RFC 6376 3.2, used for DKIM-Signature
 * headers and key records. ISC licence.
 *
 *   tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  =  ALPHA *ALNUMPUNC          (letters, digits, "_")
 *   tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
 *   tval      =  1*VALCHAR                 (%x21-3A / %x3C-7E)
 */
#include <string.h>

#include "dkim_int.h"

static int is_ws(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_alpha(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_namechar(char c)
{
  return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

static int is_valchar(char c)
{
  unsigned char u = (unsigned char)c;
  return u >= 0x21 && u <= 0x7e && u != ';';
}

int dkim_tags_parse(const char *s, size_t len, struct dkim_tag *tags, int max)
{
  size_t i = 0;
  int n = 0;

  for (;;) {
    size_t name;
    size_t val;
    size_t end;
    int j;

    while (i < len && is_ws(s[i])) i++;
    if (i == len) return n; /* empty list, or a final ";" */
    name = i;
    if (!is_alpha(s[i])) return -1;
    while (i < len && is_namechar(s[i])) i++;
    if (n == max) return -1;
    tags[n].name = s + name;
    tags[n].namelen = i - name;
    while (i < len && is_ws(s[i])) i++;
    if (i == len || s[i] != '=') return -1;
    i++;
    while (i < len && is_ws(s[i])) i++;
    val = i;
    end = i;
    while (i < len && s[i] != ';') {
      if (is_valchar(s[i]))
        end = i + 1;
      else if (!is_ws(s[i]))
        return -1;
      i++;
    }
    tags[n].val = s + val;
    tags[n].vallen = end - val;
    for (j = 0; j < n; j++)
      if (tags[j].namelen == tags[n].namelen &&
          memcmp(tags[j].name, tags[n].name, tags[n].namelen) == 0)
        return -1; /* RFC 6376 3.2: a duplicate tag is an error */
    n++;
    if (i == len) return n;
    i++; /* the ";" */
  }
}

const struct dkim_tag *dkim_tag_get(const struct dkim_tag *tags, int n, const char *name)
{
  size_t len = strlen(name);
  int i;

  for (i = 0; i < n; i++)
    if (tags[i].namelen == len && memcmp(tags[i].name, name, len) == 0) return &tags[i];
  return NULL;
}

int dkim_tag_is(const struct dkim_tag *t, const char *s)
{
  size_t len = strlen(s);
  return t != NULL && t->vallen == len && memcmp(t->val, s, len) == 0;
}
