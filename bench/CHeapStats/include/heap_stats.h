#ifndef RINGSTORE_HEAP_STATS_H
#define RINGSTORE_HEAP_STATS_H
#include <stddef.h>
/// Bytes the process's malloc heap has handed out and not yet freed (glibc mallinfo2).
size_t ringstore_heap_bytes_in_use(void);
#endif
