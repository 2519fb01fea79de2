/* test_ratelimit.c — unit tests of auth/ratelimit.c: the N-per-window rule and its retry time,
 * sliding, independence of keys, reset, LRU eviction that keeps the key count at max_keys, and
 * long keys (stored as digests, still told apart).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/ratelimit.h"

#define WINDOW (15 * 60 * 1000ULL) /* 15 minutes */
#define T0     1000000ULL          /* an arbitrary monotonic start */

static uint64_t check(ratelimit *rl, const char *key, uint64_t now) {
    return ratelimit_check(rl, key, strlen(key), now);
}

static void hit(ratelimit *rl, const char *key, uint64_t now) {
    ratelimit_hit(rl, key, strlen(key), now);
}

/* Ten events one second apart from T0, each allowed first. */
static void ten_hits(ratelimit *rl, const char *key) {
    for (uint64_t i = 0; i < 10; i++) {
        assert_int_equal(check(rl, key, T0 + i * 1000), 0);
        hit(rl, key, T0 + i * 1000);
    }
}

static void test_new_bad_args(void **state) {
    (void)state;
    assert_null(ratelimit_new(0, 10, WINDOW));
    assert_null(ratelimit_new(10, 0, WINDOW));
    assert_null(ratelimit_new(10, 1025, WINDOW));
    assert_null(ratelimit_new(10, 10, 0));
    assert_null(ratelimit_new(SIZE_MAX, 10, WINDOW));
    ratelimit *rl = ratelimit_new(1, 1024, 1);
    assert_non_null(rl);
    ratelimit_free(rl);
    ratelimit_free(NULL);
    assert_int_equal(ratelimit_keys(NULL), 0);
}

static void test_eleventh_refused(void **state) {
    (void)state;
    ratelimit *rl = ratelimit_new(100, 10, WINDOW);
    ten_hits(rl, "a@example.com");
    uint64_t now = T0 + 9000 + 500;
    /* the oldest (T0) leaves the window at T0 + WINDOW */
    assert_int_equal(check(rl, "a@example.com", now), T0 + WINDOW - now);
    assert_int_equal(check(rl, "a@example.com", T0 + WINDOW - 1), 1);
    assert_int_equal(check(rl, "a@example.com", T0 + WINDOW), 0);
    ratelimit_free(rl);
}

static void test_sliding(void **state) {
    (void)state;
    ratelimit *rl = ratelimit_new(100, 10, WINDOW);
    ten_hits(rl, "k");
    uint64_t now = T0 + WINDOW; /* the first event has left */
    assert_int_equal(check(rl, "k", now), 0);
    hit(rl, "k", now);
    /* full again: now the oldest is the second event (T0 + 1000) */
    assert_int_equal(check(rl, "k", now), 1000);
    assert_int_equal(check(rl, "k", T0 + 1000 + WINDOW), 0);
    /* long after everything: allowed, and ten more fit */
    now = T0 + 10 * WINDOW;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(check(rl, "k", now + (uint64_t)i), 0);
        hit(rl, "k", now + (uint64_t)i);
    }
    assert_int_equal(check(rl, "k", now + 10), WINDOW - 10);
    ratelimit_free(rl);
}

static void test_keys_independent(void **state) {
    (void)state;
    ratelimit *rl = ratelimit_new(100, 10, WINDOW);
    ten_hits(rl, "victim");
    assert_true(check(rl, "victim", T0 + 10000) > 0);
    assert_int_equal(check(rl, "other", T0 + 10000), 0);
    assert_int_equal(check(rl, "victim2", T0 + 10000), 0);
    assert_int_equal(check(rl, "victi", T0 + 10000), 0);
    assert_int_equal(ratelimit_check(rl, "victim", 5, T0 + 10000), 0); /* a prefix */
    assert_int_equal(ratelimit_keys(rl), 1); /* check never creates a key */
    hit(rl, "other", T0);
    assert_int_equal(ratelimit_keys(rl), 2);
    assert_true(check(rl, "victim", T0 + 10000) > 0);
    ratelimit_free(rl);
}

static void test_binary_keys(void **state) {
    (void)state;
    ratelimit *rl = ratelimit_new(10, 1, WINDOW);
    ratelimit_hit(rl, "a\0b", 3, T0);
    assert_true(ratelimit_check(rl, "a\0b", 3, T0) > 0);
    assert_int_equal(ratelimit_check(rl, "a\0c", 3, T0), 0);
    assert_int_equal(ratelimit_check(rl, "a", 1, T0), 0);
    ratelimit_hit(rl, NULL, 0, T0); /* the empty key is a key like any other */
    assert_true(ratelimit_check(rl, "", 0, T0) > 0);
    assert_int_equal(ratelimit_keys(rl), 2);
    ratelimit_free(rl);
}

static void test_reset(void **state) {
    (void)state;
    ratelimit *rl = ratelimit_new(100, 10, WINDOW);
    ten_hits(rl, "a");
    ten_hits(rl, "b");
    ratelimit_reset(rl, "a", 1);
    assert_int_equal(ratelimit_keys(rl), 1);
    assert_int_equal(check(rl, "a", T0 + 10000), 0);
    assert_true(check(rl, "b", T0 + 10000) > 0);
    ratelimit_reset(rl, "zzz", 3); /* unknown: nothing happens */
    assert_int_equal(ratelimit_keys(rl), 1);
    ratelimit_reset(rl, "b", 1);
    assert_int_equal(ratelimit_keys(rl), 0);
    ten_hits(rl, "a"); /* usable again after everything was reset */
    assert_true(check(rl, "a", T0 + 10000) > 0);
    ratelimit_free(rl);
}

static void test_lru_bounded(void **state) {
    (void)state;
    enum { MAX = 64 };
    ratelimit *rl = ratelimit_new(MAX, 3, WINDOW);
    char key[32];
    for (int i = 0; i < 10 * MAX; i++) {
        snprintf(key, sizeof key, "10.0.%d.%d", i / 256, i % 256);
        for (int j = 0; j < 3; j++)
            hit(rl, key, T0 + (uint64_t)i);
        assert_true(ratelimit_keys(rl) <= MAX);
    }
    assert_int_equal(ratelimit_keys(rl), MAX);
    /* the last MAX keys are still limited, the earlier ones were forgotten */
    for (int i = 0; i < 10 * MAX; i++) {
        snprintf(key, sizeof key, "10.0.%d.%d", i / 256, i % 256);
        uint64_t wait = check(rl, key, T0 + 10 * MAX);
        if (i >= 9 * MAX)
            assert_true(wait > 0);
        else
            assert_int_equal(wait, 0);
    }
    ratelimit_free(rl);
}

static void test_lru_order(void **state) {
    (void)state;
    ratelimit *rl = ratelimit_new(3, 1, WINDOW);
    hit(rl, "a", T0);
    hit(rl, "b", T0);
    hit(rl, "c", T0);
    hit(rl, "a", T0 + 1); /* a is now the most recent; b the least */
    hit(rl, "d", T0 + 2); /* evicts b */
    assert_int_equal(ratelimit_keys(rl), 3);
    assert_int_equal(check(rl, "b", T0 + 3), 0);
    assert_true(check(rl, "c", T0 + 3) > 0); /* checking c makes it recent: a is least now */
    hit(rl, "e", T0 + 4);                    /* evicts a */
    assert_int_equal(check(rl, "a", T0 + 5), 0);
    assert_true(check(rl, "c", T0 + 5) > 0);
    assert_true(check(rl, "d", T0 + 5) > 0);
    assert_true(check(rl, "e", T0 + 5) > 0);
    ratelimit_free(rl);
}

static void test_max_keys_one(void **state) {
    (void)state;
    ratelimit *rl = ratelimit_new(1, 1, WINDOW);
    for (int i = 0; i < 100; i++) {
        char key[8];
        snprintf(key, sizeof key, "%d", i);
        hit(rl, key, T0);
        assert_int_equal(ratelimit_keys(rl), 1);
        assert_true(check(rl, key, T0) > 0);
    }
    ratelimit_free(rl);
}

static void test_long_keys(void **state) {
    (void)state;
    ratelimit *rl = ratelimit_new(16, 1, WINDOW);
    size_t lens[] = {RATELIMIT_KEY_MAX - 1, RATELIMIT_KEY_MAX, RATELIMIT_KEY_MAX + 1, 5000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char *a = malloc(lens[i]), *b = malloc(lens[i]);
        memset(a, 'k', lens[i]);
        memcpy(b, a, lens[i]);
        b[lens[i] - 1] = 'x'; /* differs only in the last byte */
        ratelimit_hit(rl, a, lens[i], T0);
        assert_true(ratelimit_check(rl, a, lens[i], T0) > 0);
        assert_int_equal(ratelimit_check(rl, b, lens[i], T0), 0);
        assert_int_equal(ratelimit_check(rl, a, lens[i] - 1, T0), 0); /* a prefix */
        ratelimit_reset(rl, a, lens[i]);
        assert_int_equal(ratelimit_check(rl, a, lens[i], T0), 0);
        free(a);
        free(b);
    }
    assert_int_equal(ratelimit_keys(rl), 0);
    /* a 32-byte key never matches the digest of a long one */
    char *big = malloc(1000);
    memset(big, 'q', 1000);
    ratelimit_hit(rl, big, 1000, T0);
    for (int i = 0; i < 256; i++) {
        char k32[32];
        memset(k32, i, sizeof k32);
        assert_int_equal(ratelimit_check(rl, k32, sizeof k32, T0), 0);
    }
    free(big);
    ratelimit_free(rl);
}

static void test_clock_back(void **state) {
    (void)state;
    ratelimit *rl = ratelimit_new(4, 2, 1000);
    hit(rl, "k", 5000);
    hit(rl, "k", 5100);
    assert_int_equal(check(rl, "k", 5500), 500);
    assert_int_equal(check(rl, "k", 4000), 1000); /* now before the oldest: a whole window */
    assert_int_equal(check(rl, "k", 6000), 0);
    ratelimit_free(rl);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_bad_args), cmocka_unit_test(test_eleventh_refused),
        cmocka_unit_test(test_sliding),      cmocka_unit_test(test_keys_independent),
        cmocka_unit_test(test_binary_keys),  cmocka_unit_test(test_reset),
        cmocka_unit_test(test_lru_bounded),  cmocka_unit_test(test_lru_order),
        cmocka_unit_test(test_max_keys_one), cmocka_unit_test(test_long_keys),
        cmocka_unit_test(test_clock_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
