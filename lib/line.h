#ifndef LINE_H
#define LINE_H
/*
 * line_get: read one line, bounded. Reads up to and including '\n' into
 * line (size bytes at most, '\n' kept, not NUL-terminated), *len = bytes.
 * Returns 1 a line, 0 EOF with nothing read, -1 read error (errno),
 * -2 the line did not fit: the rest of it up to '\n' (or EOF) has been read
 * and thrown away, *len = 0. A last line without '\n' at EOF is returned
 * as a line (1) without '\n'.
 */
#include <stddef.h>
#include <buffer.h>

int line_get(buffer *b, char *line, size_t size, size_t *len);

#endif
