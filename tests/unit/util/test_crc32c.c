/* test_crc32c.c — CRC-32C against published check values (RFC 3720 appendix B.4 and the
 * "123456789" check), that one flipped bit anywhere changes it, and that crc32c_extend continues
 * a CRC: crc32c_extend(crc32c(A), B) is crc32c(A followed by B) at every split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/crc32c.h"

static void test_check_values(void **state) {
    (void)state;
    assert_int_equal(crc32c(NULL, 0), 0);
    assert_int_equal(crc32c("123456789", 9), 0xE3069283u);
    unsigned char zeros[32] = {0}, ones[32], up[32], down[32];
    memset(ones, 0xFF, sizeof ones);
    for (int i = 0; i < 32; i++) {
        up[i] = (unsigned char)i;
        down[i] = (unsigned char)(31 - i);
    }
    assert_int_equal(crc32c(zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
    assert_int_equal(crc32c(ones, 32), 0x62A8AB43u);
    assert_int_equal(crc32c(up, 32), 0x46DD794Eu);
    assert_int_equal(crc32c(down, 32), 0x113FDB5Cu);
}

static void test_every_bit_flip_is_seen(void **state) {
    (void)state;
    unsigned char msg[64];
    for (int i = 0; i < 64; i++)
        msg[i] = (unsigned char)(i * 7 + 3);
    uint32_t good = crc32c(msg, sizeof msg);
    for (int bit = 0; bit < 64 * 8; bit++) {
        msg[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_int_not_equal(crc32c(msg, sizeof msg), good);
        msg[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
}

/* Every split of several inputs (A or B empty included), a three-way split, and the log's use: an
 * 8-byte generation then a payload. */
static void test_extend_equals_concatenation(void **state) {
    (void)state;
    unsigned char mixed[100];
    for (int i = 0; i < 100; i++)
        mixed[i] = (unsigned char)(i * 37 + 11);
    unsigned char zeros[40] = {0}, ones[40];
    memset(ones, 0xFF, sizeof ones);
    const struct {
        const void *p;
        size_t n;
    } inputs[] = {
        {"123456789", 9}, {mixed, sizeof mixed}, {zeros, sizeof zeros}, {ones, sizeof ones}};
    for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
        const unsigned char *p = inputs[k].p;
        const size_t n = inputs[k].n;
        const uint32_t whole = crc32c(p, n);
        assert_int_equal(crc32c_extend(0, p, n), whole);         /* from nothing: crc32c */
        assert_int_equal(crc32c_extend(whole, p + n, 0), whole); /* nothing more: unchanged */
        for (size_t split = 0; split <= n; split++) {
            uint32_t got = crc32c_extend(crc32c(p, split), p + split, n - split);
            if (got != whole)
                fail_msg("input %zu split at %zu: 0x%08x, expected 0x%08x", k, split, (unsigned)got,
                         (unsigned)whole);
            for (size_t mid = split; mid <= n; mid += 7) {
                uint32_t three = crc32c_extend(
                    crc32c_extend(crc32c(p, split), p + split, mid - split), p + mid, n - mid);
                assert_int_equal(three, whole);
            }
        }
    }
    assert_int_equal(crc32c_extend(crc32c("12345", 5), "6789", 4), 0xE3069283u);

    const unsigned char gen[8] = {2, 0, 0, 0, 0, 0, 0, 0}; /* generation 2, little-endian */
    unsigned char joined[8 + sizeof mixed];
    memcpy(joined, gen, 8);
    memcpy(joined + 8, mixed, sizeof mixed);
    const uint32_t seeded = crc32c_extend(crc32c(gen, 8), mixed, sizeof mixed);
    assert_int_equal(seeded, crc32c(joined, sizeof joined));
    assert_int_not_equal(seeded, crc32c(mixed, sizeof mixed));
    assert_int_not_equal(seeded, crc32c_extend(crc32c(gen, 7), mixed, sizeof mixed));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_values),
        cmocka_unit_test(test_every_bit_flip_is_seen),
        cmocka_unit_test(test_extend_equals_concatenation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
