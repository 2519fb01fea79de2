/* crc32c.c — CRC-32C by table, eight bits at a time (see crc32c.h). The table is built once, on
 * first use, under pthread_once. */
#include "util/crc32c.h"

#include <pthread.h>

#define CRC32C_POLY 0x82F63B78u /* 0x1EDC6F41 bit-reversed */

static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_build_table(void) {
    for (uint32_t byte = 0; byte < 256; byte++) {
        uint32_t c = byte;
        for (int bit = 0; bit < 8; bit++)
            c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc32c_table[byte] = c;
    }
}

uint32_t crc32c(const void *p, size_t n) {
    return crc32c_extend(0, p, n);
}

uint32_t crc32c_extend(uint32_t crc, const void *p, size_t n) {
    pthread_once(&crc32c_once, crc32c_build_table);
    const unsigned char *b = p;
    uint32_t c = crc ^ 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = crc32c_table[(c ^ b[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}
