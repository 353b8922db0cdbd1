#ifndef RINGSTORE_CRC32C_H
#define RINGSTORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Extends a CRC32C (Castagnoli polynomial, reflected 0x82F63B78) over `length` bytes.
/// Start with 0; the value is pre- and post-inverted internally, so calls chain:
/// crc32c_extend(crc32c_extend(0, a, n), b, m) == crc32c_extend(0, a||b, n+m).
uint32_t ringstore_crc32c_extend(uint32_t crc, const void *data, size_t length);

/// 1 when the SSE4.2 instruction is used on this CPU, 0 for the table fallback.
int ringstore_crc32c_is_hardware(void);

#endif
