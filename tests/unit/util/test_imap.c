/* test_imap.c — the int64 → pointer map: put/get/replace/delete, growth, and a randomized run
 * against a plain array as the reference (backward-shift deletion must keep every key findable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "util/imap.h"

static void test_put_get_replace_delete(void **state) {
    (void)state;
    imap *m = imap_new();
    int a = 1, b = 2;
    assert_int_equal(imap_put(m, 42, &a), 0);
    assert_ptr_equal(imap_get(m, 42), &a);
    assert_int_equal(imap_put(m, 42, &b), 0);
    assert_ptr_equal(imap_get(m, 42), &b);
    assert_int_equal(imap_count(m), 1);
    assert_ptr_equal(imap_del(m, 42), &b);
    assert_null(imap_get(m, 42));
    assert_null(imap_del(m, 42));
    assert_int_equal(imap_put(m, 0, &a), -1); /* key 0 is reserved */
    assert_null(imap_get(m, 0));
    assert_int_equal(imap_count(m), 0);
    imap_free(m);
}

static void count_entry(void *ctx, int64_t key, void *value) {
    size_t *n = ctx;
    assert_ptr_equal(value, (void *)(intptr_t)key);
    (*n)++;
}

static void test_growth_and_each(void **state) {
    (void)state;
    imap *m = imap_new();
    for (int64_t k = 1; k <= 100000; k++)
        assert_int_equal(imap_put(m, k * 7919, (void *)(intptr_t)(k * 7919)), 0);
    assert_int_equal(imap_count(m), 100000);
    size_t n = 0;
    imap_each(m, count_entry, &n);
    assert_int_equal(n, 100000);
    for (int64_t k = 1; k <= 100000; k += 2)
        assert_non_null(imap_del(m, k * 7919));
    for (int64_t k = 1; k <= 100000; k++)
        assert_true((imap_get(m, k * 7919) != NULL) == (k % 2 == 0));
    imap_free(m);
}

static void test_random_against_reference(void **state) {
    (void)state;
    enum { KEYS = 512 };
    static void *ref[KEYS];
    imap *m = imap_new();
    srand(12345);
    for (int i = 0; i < 200000; i++) {
        int64_t k = 1 + rand() % (KEYS - 1);
        if (rand() % 3 == 0) {
            assert_ptr_equal(imap_del(m, k), ref[k]);
            ref[k] = NULL;
        } else {
            ref[k] = (void *)(intptr_t)(i + 1);
            assert_int_equal(imap_put(m, k, ref[k]), 0);
        }
    }
    size_t live = 0;
    for (int64_t k = 1; k < KEYS; k++) {
        assert_ptr_equal(imap_get(m, k), ref[k]);
        live += ref[k] != NULL;
    }
    assert_int_equal(imap_count(m), live);
    imap_free(m);
}

/* imap_replace changes a value in place and refuses an absent key; it never grows the map, even
 * at the load where a put would. */
static void test_replace(void **state) {
    (void)state;
    imap *m = imap_new();
    int v[64];
    assert_int_equal(imap_replace(m, 5, &v[0]), -1);
    assert_int_equal(imap_replace(m, 0, &v[0]), -1);
    for (int i = 1; i <= 11; i++) /* 11 of 16 slots: the next put would grow the map */
        assert_int_equal(imap_put(m, i, &v[i]), 0);
    for (int i = 1; i <= 11; i++)
        assert_int_equal(imap_replace(m, i, &v[20 + i]), 0);
    for (int i = 1; i <= 11; i++)
        assert_ptr_equal(imap_get(m, i), &v[20 + i]);
    assert_int_equal(imap_replace(m, 12, &v[0]), -1);
    assert_null(imap_get(m, 12));
    assert_int_equal(imap_count(m), 11);
    imap_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_put_get_replace_delete),
        cmocka_unit_test(test_growth_and_each),
        cmocka_unit_test(test_random_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
