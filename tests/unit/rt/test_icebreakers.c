/* test_icebreakers.c — unit tests of rt/icebreakers.c: enough questions, every text present in
 * both languages, no question twice, and a pick that is deterministic and always in range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "rt/icebreakers.h"

static void test_count(void **state) {
    (void)state;
    assert_true(icebreaker_count >= 36);
}

static void test_texts_present(void **state) {
    (void)state;
    for (size_t i = 0; i < icebreaker_count; i++) {
        assert_non_null(icebreakers[i].ko);
        assert_non_null(icebreakers[i].en);
        assert_true(strlen(icebreakers[i].ko) > 10);
        assert_true(strlen(icebreakers[i].en) > 10);
        int hangul = 0; /* UTF-8 lead bytes 0xEA–0xED start the Hangul syllables */
        for (const char *c = icebreakers[i].ko; *c; c++)
            hangul |= (unsigned char)*c >= 0xea && (unsigned char)*c <= 0xed;
        assert_true(hangul);
        assert_string_not_equal(icebreakers[i].ko, icebreakers[i].en);
    }
}

static void test_no_duplicates(void **state) {
    (void)state;
    for (size_t i = 0; i < icebreaker_count; i++)
        for (size_t j = i + 1; j < icebreaker_count; j++) {
            if (strcmp(icebreakers[i].ko, icebreakers[j].ko) == 0)
                fail_msg("Korean question %zu repeats %zu", j, i);
            if (strcmp(icebreakers[i].en, icebreakers[j].en) == 0)
                fail_msg("English question %zu repeats %zu", j, i);
        }
}

static void test_pick(void **state) {
    (void)state;
    const uint64_t seeds[] = {0, 1, 35, 36, 12345, UINT64_MAX, UINT64_MAX - 1};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        const struct icebreaker *a = icebreaker_pick(seeds[i]);
        assert_ptr_equal(a, icebreaker_pick(seeds[i]));
        assert_true(a >= icebreakers && a < icebreakers + icebreaker_count);
    }
    assert_ptr_equal(icebreaker_pick(0), &icebreakers[0]);
    assert_ptr_equal(icebreaker_pick(icebreaker_count), &icebreakers[0]);
    for (uint64_t s = 0; s < icebreaker_count; s++) /* every question can be picked */
        assert_ptr_equal(icebreaker_pick(s), &icebreakers[s]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_texts_present),
        cmocka_unit_test(test_no_duplicates),
        cmocka_unit_test(test_pick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
