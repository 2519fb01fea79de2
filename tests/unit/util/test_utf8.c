/* test_utf8.c — unit tests of util/utf8.c: code points counted strictly (every boundary of each
 * sequence length), and every kind of invalid sequence refused by the counter and the checker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "util/utf8.h"

static long len_of(const char *s) {
    return utf8_length(s, strlen(s));
}

static void test_utf8_length(void **state) {
    (void)state;
    assert_int_equal(len_of(""), 0);
    assert_int_equal(len_of("abc"), 3);
    assert_int_equal(len_of("홍길동"), 3);
    assert_int_equal(len_of("\xc2\x80"), 1);         /* U+0080 */
    assert_int_equal(len_of("\xdf\xbf"), 1);         /* U+07FF */
    assert_int_equal(len_of("\xe0\xa0\x80"), 1);     /* U+0800 */
    assert_int_equal(len_of("\xef\xbf\xbf"), 1);     /* U+FFFF */
    assert_int_equal(len_of("\xf0\x90\x80\x80"), 1); /* U+10000 */
    assert_int_equal(len_of("\xf4\x8f\xbf\xbf"), 1); /* U+10FFFF */
    assert_int_equal(len_of("😀a"), 2);
    assert_int_equal(utf8_length("a\0b", 3), 3);
    assert_int_equal(utf8_length(NULL, 0), -1);
}

static void test_utf8_invalid(void **state) {
    (void)state;
    const char *bad[] = {
        "\x80",             /* lone continuation */
        "\xbf",             /* lone continuation */
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\x80",     /* overlong */
        "\xe0\x9f\xbf",     /* overlong U+07FF */
        "\xf0\x80\x80\x80", /* overlong */
        "\xf0\x8f\xbf\xbf", /* overlong U+FFFF */
        "\xed\xa0\x80",     /* U+D800 surrogate */
        "\xed\xbf\xbf",     /* U+DFFF surrogate */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80",
        "\xf8\x88\x80\x80\x80",
        "\xfe",
        "\xff",
        "\xc2",         /* truncated */
        "\xe0\xa0",     /* truncated */
        "\xf0\x90\x80", /* truncated */
        "a\xc2",        /* truncated at end */
        "\xc2\x41",     /* bad continuation */
        "\xe0\xa0\xc0", /* bad continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (len_of(bad[i]) != -1 || utf8_valid(bad[i], strlen(bad[i])))
            fail_msg("accepted bad UTF-8 #%zu", i);
    /* a valid sequence cut short by len */
    assert_int_equal(utf8_length("\xea\xb0\x80", 2), -1);
}

static void test_utf8_valid(void **state) {
    (void)state;
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("plain ascii {\"type\":\"ping\"}", 27));
    assert_true(utf8_valid("홍길동 😀", strlen("홍길동 😀")));
    assert_true(utf8_valid("a\0b", 3));
    assert_false(utf8_valid("ok \xc3\x28 bad", 9));
    assert_false(utf8_valid("\xea\xb0\x80", 2)); /* cut short by len */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_length),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_utf8_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
