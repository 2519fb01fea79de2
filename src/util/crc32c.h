/* crc32c.h — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of each record of
 * the message log (store/msglog.c): it tells a whole record from one torn by a crash.
 */
#ifndef CONVO_CRC32C_H
#define CONVO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of n bytes at p; crc32c(NULL, 0) is 0. Thread-safe. */
uint32_t crc32c(const void *p, size_t n);
/* The CRC-32C of A followed by the n bytes at p, given crc = the CRC-32C of A. */
uint32_t crc32c_extend(uint32_t crc, const void *p, size_t n);

#endif
