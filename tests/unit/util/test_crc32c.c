/* test_crc32c.c — CRC-32C against published check values (RFC 3720 appendix B.4 and the
 * "123456789" check), and that one flipped bit anywhere changes it. */
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_values),
        cmocka_unit_test(test_every_bit_flip_is_seen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
