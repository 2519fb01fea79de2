/* test_matcher.c — unit tests of rt/matcher.c (SPEC §4 matching rules 1–3) on an injected clock:
 * same-queue order, fallback after 10 s and only between two fallback users, never self, blocks
 * either way (also added while waiting), the previous-partner rule and its 30 s exception, moves,
 * removal, counts, deadlines, limits, and randomized runs checked against a brute-force model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt/matcher.h"

#define CATS     4
#define T0       1000000ULL /* an arbitrary monotonic start */
#define FALLBACK MATCH_FALLBACK_AFTER_MS
#define PREVIOUS MATCH_PREVIOUS_AFTER_MS

struct pairs {
    size_t n;
    int64_t a[16], b[16];
    int category[16];
};

static void record(void *ctx, int64_t a, int64_t b, int category) {
    struct pairs *p = ctx;
    assert_true(p->n < 16);
    p->a[p->n] = a;
    p->b[p->n] = b;
    p->category[p->n] = category;
    p->n++;
}

static int setup(void **state) {
    *state = matcher_new(CATS);
    return *state ? 0 : -1;
}

static int teardown(void **state) {
    matcher_free(*state);
    return 0;
}

/* Enqueue with no previous partner and no blocks. */
static void enq(matcher *m, int64_t id, int category, int fallback, uint64_t now) {
    assert_int_equal(matcher_enqueue(m, id, category, fallback, 0, NULL, 0, now), 0);
}

static void enq_prev(matcher *m, int64_t id, int category, int64_t prev, uint64_t now) {
    assert_int_equal(matcher_enqueue(m, id, category, 0, prev, NULL, 0, now), 0);
}

static size_t run(matcher *m, uint64_t now, struct pairs *p) {
    return matcher_run(m, now, record, p);
}

static void assert_pair(const struct pairs *p, size_t i, int64_t a, int64_t b, int category) {
    assert_true(i < p->n);
    assert_int_equal(p->a[i], a);
    assert_int_equal(p->b[i], b);
    assert_int_equal(p->category[i], category);
}

static void assert_waits(const matcher *m, int64_t id, int category, uint64_t since) {
    struct matcher_entry_info info;
    assert_int_equal(matcher_lookup(m, id, &info), 1);
    assert_int_equal(info.user_id, id);
    assert_int_equal(info.category, category);
    assert_int_equal(info.since_ms, since);
}

static void test_new_bad_args(void **state) {
    (void)state;
    assert_null(matcher_new(0));
    matcher_free(NULL);
    assert_int_equal(matcher_run(NULL, T0, NULL, NULL), 0);
    assert_int_equal(matcher_waiting(NULL, -1), 0);
}

static void test_same_category_oldest_first(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 2, 0, T0);
    enq(m, 2, 2, 0, T0 + 1);
    enq(m, 3, 2, 0, T0 + 2);
    assert_int_equal(run(m, T0 + 2, &p), 1);
    assert_pair(&p, 0, 1, 2, 2);
    assert_waits(m, 3, 2, T0 + 2);
    assert_int_equal(matcher_waiting(m, -1), 1);
    enq(m, 4, 2, 0, T0 + 3);
    assert_int_equal(run(m, T0 + 3, &p), 1);
    assert_pair(&p, 1, 3, 4, 2);
    assert_int_equal(matcher_waiting(m, -1), 0);
}

static void test_run_after_each_enqueue(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 10, 0, 0, T0);
    assert_int_equal(run(m, T0, &p), 0);
    enq(m, 11, 1, 0, T0 + 5);
    assert_int_equal(run(m, T0 + 5, &p), 0);
    enq(m, 12, 0, 0, T0 + 9);
    assert_int_equal(run(m, T0 + 9, &p), 1);
    assert_pair(&p, 0, 10, 12, 0);
    assert_int_equal(run(m, T0 + 10, &p), 0); /* nothing new: nothing happens */
    assert_int_equal(matcher_waiting(m, 1), 1);
}

static void test_no_pair_across_categories_without_fallback(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 0, 0, T0);
    enq(m, 2, 1, 1, T0);
    enq(m, 3, 2, 0, T0);
    assert_int_equal(run(m, T0, &p), 0);
    assert_int_equal(run(m, T0 + 10 * PREVIOUS, &p), 0);
    assert_int_equal(matcher_next_deadline(m, T0), 0);
    assert_int_equal(matcher_waiting(m, -1), 3);
}

static void test_fallback_after_10s(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 0, 1, T0);
    enq(m, 2, 3, 1, T0 + 2000);
    assert_int_equal(run(m, T0 + 2000, &p), 0);
    assert_int_equal(matcher_next_deadline(m, T0 + 2000), T0 + FALLBACK);
    assert_int_equal(run(m, T0 + FALLBACK - 1, &p), 0);
    assert_int_equal(run(m, T0 + FALLBACK, &p), 1);
    assert_pair(&p, 0, 1, 2, 0); /* the older one's queue */
    assert_int_equal(matcher_next_deadline(m, T0 + FALLBACK), 0);
}

static void test_fallback_new_arrival_meets_ready_user(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 0, 1, T0);
    assert_int_equal(run(m, T0, &p), 0);
    assert_int_equal(matcher_next_deadline(m, T0), 0); /* no other fallback user: no timer */
    enq(m, 2, 1, 1, T0 + 20000);
    assert_int_equal(run(m, T0 + 20000, &p), 1);
    assert_pair(&p, 0, 1, 2, 0);
}

static void test_fallback_needs_both(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 0, 1, T0);
    enq(m, 2, 1, 0, T0);
    assert_int_equal(run(m, T0, &p), 0);
    assert_int_equal(matcher_next_deadline(m, T0), 0);
    assert_int_equal(run(m, T0 + 5 * FALLBACK, &p), 0);
    enq(m, 3, 2, 0, T0 + 5 * FALLBACK);
    assert_int_equal(run(m, T0 + 5 * FALLBACK, &p), 0);
    assert_int_equal(matcher_waiting(m, -1), 3);
}

static void test_fallback_prefers_same_category(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 0, 1, T0);
    enq(m, 2, 1, 1, T0 + 1000);
    assert_int_equal(run(m, T0 + 1000, &p), 0);
    enq(m, 3, 0, 0, T0 + FALLBACK); /* the timer fires at the same moment */
    assert_int_equal(run(m, T0 + FALLBACK, &p), 1);
    assert_pair(&p, 0, 1, 3, 0);
    assert_waits(m, 2, 1, T0 + 1000);
}

static void test_fallback_takes_oldest_other(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 1, 1, T0);
    enq(m, 2, 2, 1, T0 + 100);
    enq(m, 3, 0, 1, T0 + 200);
    assert_int_equal(matcher_enqueue(m, 1, 1, 1, 0, (int64_t[]){2}, 1, T0 + 200), 0);
    assert_int_equal(run(m, T0 + 200, &p), 0);
    /* 1 blocked 2; at 1's 10 s mark 1 meets 3 (2 is older but blocked) */
    assert_int_equal(run(m, T0 + FALLBACK, &p), 1);
    assert_pair(&p, 0, 1, 3, 1);
    assert_waits(m, 2, 2, T0 + 100);
}

/* A new arrival goes to the longest-waiting user who can take them, whether that user takes
 * them from the same queue or by fallback. */
static void test_arrival_goes_to_oldest_taker(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 1, 1, T0);     /* fallback, alone in queue 1 */
    enq(m, 2, 0, 0, T0 + 1); /* no fallback, alone in queue 0 */
    assert_int_equal(run(m, T0 + 1, &p), 0);
    enq(m, 3, 0, 1, T0 + 20000);
    assert_int_equal(run(m, T0 + 20000, &p), 1);
    assert_pair(&p, 0, 1, 3, 1); /* 1 waited longer than 2 */
    assert_int_equal(matcher_remove(m, 2), 1);
    enq(m, 4, 0, 0, T0 + 20001); /* now the same-queue user is the older one */
    enq(m, 5, 1, 1, T0 + 20002);
    assert_int_equal(run(m, T0 + 20002, &p), 0);
    enq(m, 6, 0, 1, T0 + 40000);
    assert_int_equal(run(m, T0 + 40000, &p), 1);
    assert_pair(&p, 1, 4, 6, 0);
}

static void test_never_self(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 7, 0, 1, T0);
    enq(m, 7, 0, 1, T0 + 1);
    assert_int_equal(matcher_waiting(m, -1), 1);
    enq(m, 7, 1, 1, T0 + 2);
    assert_int_equal(matcher_waiting(m, -1), 1);
    assert_int_equal(matcher_waiting(m, 0), 0);
    assert_int_equal(matcher_waiting(m, 1), 1);
    assert_int_equal(run(m, T0 + 3 * PREVIOUS, &p), 0);
    assert_int_equal(matcher_remove(m, 7), 1);
    assert_int_equal(matcher_remove(m, 7), 0);
}

static void test_blocks_either_way(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    int64_t blocks_2 = 2, blocks_1 = 1;
    assert_int_equal(matcher_enqueue(m, 1, 0, 0, 0, &blocks_2, 1, T0), 0);
    enq(m, 2, 0, 0, T0 + 1);
    assert_int_equal(run(m, T0 + 1, &p), 0);
    enq(m, 3, 0, 0, T0 + 2); /* 1 is the oldest and can meet 3 */
    assert_int_equal(run(m, T0 + 2, &p), 1);
    assert_pair(&p, 0, 1, 3, 0);
    assert_int_equal(matcher_remove(m, 2), 1);
    /* the other way round: 5 blocked 4 */
    enq(m, 4, 0, 0, T0 + 3);
    assert_int_equal(matcher_enqueue(m, 5, 0, 0, 0, (int64_t[]){9, 4, 8}, 3, T0 + 4), 0);
    assert_int_equal(run(m, T0 + 4, &p), 0);
    assert_int_equal(matcher_enqueue(m, 6, 0, 0, 0, &blocks_1, 1, T0 + 5), 0);
    assert_int_equal(run(m, T0 + 5, &p), 1);
    assert_pair(&p, 1, 4, 6, 0);
}

static void test_unpairable_user_does_not_stop_others(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    int64_t blocks[] = {2, 3};
    assert_int_equal(matcher_enqueue(m, 1, 0, 0, 0, blocks, 2, T0), 0);
    enq(m, 2, 0, 0, T0 + 1);
    enq(m, 3, 0, 0, T0 + 2);
    assert_int_equal(run(m, T0 + 2, &p), 1);
    assert_pair(&p, 0, 2, 3, 0);
    assert_waits(m, 1, 0, T0);
}

static void test_add_block_while_waiting(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 0, 0, T0);
    matcher_add_block(m, 1, 2); /* the blocker waits */
    enq(m, 2, 0, 0, T0 + 1);
    assert_int_equal(run(m, T0 + 1, &p), 0);
    matcher_add_block(m, 3, 2); /* only the blocked one waits: kept on 2 */
    enq(m, 3, 0, 0, T0 + 2);
    assert_int_equal(run(m, T0 + 2, &p), 1);
    assert_pair(&p, 0, 1, 3, 0); /* 1 meets 3; 2 and 3 could not have met */
    assert_int_equal(matcher_waiting(m, -1), 1);
    /* fallback users blocked before their 10 s mark */
    enq(m, 4, 1, 1, T0 + 3);
    enq(m, 5, 2, 1, T0 + 3);
    assert_int_equal(run(m, T0 + 3, &p), 0);
    matcher_add_block(m, 5, 4);
    matcher_add_block(m, 5, 4); /* twice is the same */
    matcher_add_block(m, 5, 5); /* self: ignored */
    assert_int_equal(run(m, T0 + 3 + FALLBACK, &p), 0);
    assert_int_equal(matcher_waiting(m, -1), 3);
}

static void test_previous_partner_alone(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq_prev(m, 1, 0, 2, T0);
    enq_prev(m, 2, 0, 1, T0 + 1000);
    assert_int_equal(run(m, T0 + 1000, &p), 0);
    assert_int_equal(matcher_next_deadline(m, T0 + 1000), T0 + 1000 + PREVIOUS);
    assert_int_equal(run(m, T0 + PREVIOUS, &p), 0); /* 1 waited 30 s, 2 not yet */
    assert_int_equal(run(m, T0 + 1000 + PREVIOUS - 1, &p), 0);
    assert_int_equal(run(m, T0 + 1000 + PREVIOUS, &p), 1);
    assert_pair(&p, 0, 1, 2, 0);
}

static void test_previous_partner_one_way(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq_prev(m, 1, 0, 2, T0); /* 2's last chat was with someone else */
    enq_prev(m, 2, 0, 9, T0);
    assert_int_equal(run(m, T0, &p), 0);
    assert_int_equal(run(m, T0 + PREVIOUS, &p), 1);
}

static void test_previous_partner_third_user(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq_prev(m, 1, 0, 2, T0);
    enq_prev(m, 2, 0, 1, T0);
    assert_int_equal(run(m, T0, &p), 0);
    enq(m, 3, 0, 0, T0 + 40000); /* past 30 s, but three wait now */
    assert_int_equal(run(m, T0 + 40000, &p), 1);
    assert_pair(&p, 0, 1, 3, 0);
    assert_waits(m, 2, 0, T0);
}

static void test_previous_partner_third_user_early(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq_prev(m, 1, 0, 2, T0);
    enq_prev(m, 2, 0, 1, T0 + 1);
    enq(m, 3, 0, 0, T0 + 2);
    assert_int_equal(run(m, T0 + 2, &p), 1);
    assert_pair(&p, 0, 1, 3, 0);
}

static void test_previous_partner_after_remove(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq_prev(m, 1, 0, 2, T0);
    enq_prev(m, 2, 0, 1, T0);
    assert_int_equal(matcher_enqueue(m, 3, 0, 0, 0, (int64_t[]){1, 2}, 2, T0), 0);
    assert_int_equal(run(m, T0, &p), 0);
    assert_int_equal(matcher_next_deadline(m, T0), 0); /* three wait: no time rule */
    assert_int_equal(run(m, T0 + 40000, &p), 0);
    assert_int_equal(matcher_remove(m, 3), 1);
    assert_int_equal(run(m, T0 + 40000, &p), 1);
    assert_pair(&p, 0, 1, 2, 0);
}

static void test_previous_partner_left_alone_by_a_pair(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq_prev(m, 1, 0, 2, T0);
    enq_prev(m, 2, 0, 1, T0);
    assert_int_equal(matcher_enqueue(m, 3, 1, 0, 0, NULL, 0, T0), 0);
    assert_int_equal(run(m, T0, &p), 0);
    enq(m, 4, 1, 0, T0 + 40000); /* 3 and 4 pair, leaving 1 and 2 alone past 30 s */
    assert_int_equal(run(m, T0 + 40000, &p), 2);
    assert_pair(&p, 0, 3, 4, 1);
    assert_pair(&p, 1, 1, 2, 0);
}

static void test_move_restarts_wait(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 0, 1, T0);
    enq(m, 1, 0, 1, T0 + 5000); /* same queue: keeps its place and wait */
    assert_waits(m, 1, 0, T0);
    enq(m, 1, 1, 1, T0 + 8000); /* another queue: waits anew */
    assert_waits(m, 1, 1, T0 + 8000);
    enq(m, 2, 2, 1, T0 + 8000);
    assert_int_equal(run(m, T0 + FALLBACK, &p), 0);
    assert_int_equal(matcher_next_deadline(m, T0 + FALLBACK), T0 + 8000 + FALLBACK);
    assert_int_equal(run(m, T0 + 8000 + FALLBACK, &p), 1);
    assert_pair(&p, 0, 1, 2, 1);
}

static void test_move_keeps_others_order(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 0, 0, T0);
    enq(m, 2, 1, 0, T0 + 1);
    enq(m, 1, 1, 0, T0 + 2); /* 1 moves behind 2 */
    assert_int_equal(run(m, T0 + 2, &p), 1);
    assert_pair(&p, 0, 2, 1, 1);
    assert_int_equal(matcher_waiting(m, 0), 0);
}

static void test_update_in_place_turns_fallback_on(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 0, 0, T0);
    enq(m, 2, 1, 1, T0);
    enq(m, 3, 2, 1, T0 + 1);
    assert_int_equal(matcher_enqueue(m, 3, 2, 1, 0, (int64_t[]){2}, 1, T0 + 1), 0);
    assert_int_equal(run(m, T0 + 1, &p), 0);
    assert_int_equal(run(m, T0 + 20000, &p), 0);
    enq(m, 1, 0, 1, T0 + 20000); /* same queue, now with fallback: still the oldest */
    assert_int_equal(run(m, T0 + 20000, &p), 1);
    assert_pair(&p, 0, 1, 2, 0);
    enq(m, 3, 2, 0, T0 + 20001); /* and off again */
    enq(m, 4, 3, 1, T0 + 20001);
    assert_int_equal(run(m, T0 + 60000, &p), 0);
    assert_waits(m, 3, 2, T0 + 1);
}

static void test_remove(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    assert_int_equal(matcher_remove(m, 1), 0);
    enq(m, 1, 0, 0, T0);
    enq(m, 2, 1, 0, T0);
    assert_int_equal(matcher_remove(m, 1), 1);
    assert_int_equal(matcher_lookup(m, 1, NULL), 0);
    enq(m, 3, 0, 0, T0 + 1);
    assert_int_equal(run(m, T0 + 1, &p), 0);
    enq(m, 1, 0, 0, T0 + 2);
    assert_int_equal(run(m, T0 + 2, &p), 1);
    assert_pair(&p, 0, 3, 1, 0);
    assert_int_equal(matcher_waiting(m, -1), 1);
}

static void test_waiting_counts(void **state) {
    matcher *m = *state;
    enq(m, 1, 0, 0, T0);
    enq(m, 2, 1, 1, T0);
    enq(m, 3, 1, 0, T0);
    enq(m, 4, 3, 1, T0);
    assert_int_equal(matcher_waiting(m, -1), 4);
    assert_int_equal(matcher_waiting(m, 0), 1);
    assert_int_equal(matcher_waiting(m, 1), 2);
    assert_int_equal(matcher_waiting(m, 2), 0);
    assert_int_equal(matcher_waiting(m, 3), 1);
    assert_int_equal(matcher_waiting(m, CATS), 0);
    assert_int_equal(matcher_waiting(m, -2), 0);
    struct matcher_entry_info info;
    assert_int_equal(matcher_lookup(m, 2, &info), 1);
    assert_int_equal(info.fallback_any, 1);
    assert_int_equal(matcher_lookup(m, 5, &info), 0);
}

static void test_next_deadline_values(void **state) {
    matcher *m = *state;
    assert_int_equal(matcher_next_deadline(m, T0), 0);
    enq(m, 1, 0, 1, T0);
    assert_int_equal(matcher_next_deadline(m, T0), 0); /* alone */
    enq(m, 2, 0, 1, T0 + 10);
    matcher_add_block(m, 1, 2);
    assert_int_equal(matcher_next_deadline(m, T0), 0); /* same queue only */
    enq(m, 3, 1, 1, T0 + 3000);
    matcher_add_block(m, 3, 1);
    matcher_add_block(m, 3, 2);
    assert_int_equal(matcher_next_deadline(m, T0 + 3000), T0 + FALLBACK);
    assert_int_equal(matcher_next_deadline(m, T0 + FALLBACK), T0 + 10 + FALLBACK);
    assert_int_equal(matcher_next_deadline(m, T0 + 10 + FALLBACK), T0 + 3000 + FALLBACK);
    assert_int_equal(matcher_next_deadline(m, T0 + 3000 + FALLBACK), 0);
    assert_int_equal(matcher_remove(m, 3), 1);
    /* previous partners in different queues meet only with fallback on both */
    assert_int_equal(matcher_remove(m, 1) + matcher_remove(m, 2), 2);
    enq_prev(m, 5, 0, 6, T0 + 4000);
    enq_prev(m, 6, 1, 5, T0 + 5000);
    assert_int_equal(matcher_next_deadline(m, T0 + 5000), 0);
    assert_int_equal(matcher_enqueue(m, 5, 0, 1, 6, NULL, 0, T0 + 5000), 0);
    assert_int_equal(matcher_enqueue(m, 6, 1, 1, 5, NULL, 0, T0 + 5000), 0);
    assert_int_equal(matcher_next_deadline(m, T0 + 5000), T0 + 4000 + FALLBACK);
    assert_int_equal(matcher_next_deadline(m, T0 + 5000 + FALLBACK), T0 + 5000 + PREVIOUS);
    assert_int_equal(matcher_next_deadline(m, T0 + 5000 + PREVIOUS), 0);
    matcher_add_block(m, 6, 5);
    assert_int_equal(matcher_next_deadline(m, T0 + 5000 + FALLBACK), 0);
}

static void test_clock_never_goes_back(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    enq(m, 1, 0, 1, T0 + 5000);
    enq(m, 2, 1, 1, T0); /* an earlier time counts as the latest one seen */
    assert_waits(m, 2, 1, T0 + 5000);
    assert_int_equal(run(m, T0, &p), 0);
    assert_int_equal(run(m, T0 + 5000 + FALLBACK, &p), 1);
    assert_pair(&p, 0, 1, 2, 0);
}

static void test_bad_category(void **state) {
    matcher *m = *state;
    assert_int_equal(matcher_enqueue(m, 1, -1, 0, 0, NULL, 0, T0), -1);
    assert_int_equal(matcher_enqueue(m, 1, CATS, 0, 0, NULL, 0, T0), -1);
    assert_int_equal(matcher_enqueue(NULL, 1, 0, 0, 0, NULL, 0, T0), -1);
    assert_int_equal(matcher_waiting(m, -1), 0);
    enq(m, 1, 0, 0, T0);
    assert_int_equal(matcher_enqueue(m, 1, CATS, 0, 0, NULL, 0, T0), -1);
    assert_waits(m, 1, 0, T0); /* a failed move changes nothing */
}

static void test_blocks_max(void **state) {
    matcher *m = *state;
    struct pairs p = {0};
    size_t n = MATCH_BLOCKS_MAX + 500;
    int64_t *blocked = malloc(n * sizeof *blocked);
    assert_non_null(blocked);
    for (size_t i = 0; i < n; i++)
        blocked[i] = (int64_t)(100000 + n - i); /* descending, so the kept ones are the highest */
    assert_int_equal(matcher_enqueue(m, 1, 0, 0, 0, blocked, n, T0), 0);
    enq(m, (int64_t)blocked[MATCH_BLOCKS_MAX - 1], 0, 0, T0);
    assert_int_equal(run(m, T0, &p), 0);
    enq(m, (int64_t)blocked[MATCH_BLOCKS_MAX], 0, 0, T0); /* past the cap: not kept */
    assert_int_equal(run(m, T0, &p), 1);
    assert_pair(&p, 0, 1, blocked[MATCH_BLOCKS_MAX], 0);
    free(blocked);
}

static void test_waiting_max(void **state) {
    matcher *m = *state;
    for (int64_t id = 1; id <= MATCH_WAITING_MAX; id++)
        assert_int_equal(matcher_enqueue(m, id, (int)(id % CATS), 0, id, NULL, 0, T0), 0);
    assert_int_equal(matcher_waiting(m, -1), MATCH_WAITING_MAX);
    assert_int_equal(matcher_enqueue(m, MATCH_WAITING_MAX + 1, 0, 0, 0, NULL, 0, T0), -1);
    assert_int_equal(matcher_enqueue(m, 5, 2, 0, 0, NULL, 0, T0), 0); /* a move still works */
    assert_int_equal(matcher_remove(m, 5), 1);
    assert_int_equal(matcher_enqueue(m, MATCH_WAITING_MAX + 1, 1, 0, 0, NULL, 0, T0), 0);
    for (int64_t id = 1; id <= MATCH_WAITING_MAX + 1; id += 7)
        assert_int_equal(matcher_lookup(m, id, NULL), id != 5);
    assert_int_equal(matcher_run(m, T0, NULL, NULL), MATCH_WAITING_MAX / 2);
    assert_int_equal(matcher_waiting(m, -1), 0);
}

/* Sequential arrivals with a run after each: every second one pairs at once. */
static void test_many_sequential(void **state) {
    matcher *m = *state;
    size_t made = 0;
    for (int64_t id = 1; id <= 100000; id++) {
        assert_int_equal(matcher_enqueue(m, id, (int)((id - 1) / 2 % CATS), 1, 0, NULL, 0, T0), 0);
        made += matcher_run(m, T0 + (uint64_t)id, NULL, NULL);
    }
    assert_int_equal(made, 50000);
}

/* ---- randomized runs against a brute-force model ---- */

#define MODEL_BLOCKS 12

enum { IDLE, WAITING, CHATTING };

struct user {
    int state, category, fallback;
    uint64_t since, chat_until;
    int64_t prev;
    int64_t blocks[MODEL_BLOCKS];
    size_t nblocks;
};

struct model {
    matcher *m;
    struct user *u; /* index = user id; 0 unused */
    size_t n, cats, pairs, fallback_pairs, previous_pairs;
    uint64_t now, rng;
};

static uint64_t rnd(struct model *s) {
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

static int blocks(const struct user *u, int64_t id) {
    for (size_t i = 0; i < u->nblocks; i++)
        if (u->blocks[i] == id)
            return 1;
    return 0;
}

/* Rules 2–3 for two waiting users at time t with total users waiting. */
static int model_may_pair(const struct model *s, int64_t a, int64_t b, uint64_t t, size_t total) {
    const struct user *x = &s->u[a], *y = &s->u[b];
    if (a == b || blocks(x, b) || blocks(y, a))
        return 0;
    if ((x->prev == b || y->prev == a) &&
        !(total == 2 && t - x->since >= PREVIOUS && t - y->since >= PREVIOUS))
        return 0;
    uint64_t older = x->since < y->since ? x->since : y->since;
    return x->category == y->category || (x->fallback && y->fallback && t - older >= FALLBACK);
}

static void on_model_pair(void *ctx, int64_t a, int64_t b, int category) {
    struct model *s = ctx;
    assert_true(a >= 1 && (size_t)a <= s->n && b >= 1 && (size_t)b <= s->n);
    assert_true(a != b);
    struct user *x = &s->u[a], *y = &s->u[b];
    assert_int_equal(x->state, WAITING); /* never in two pairs */
    assert_int_equal(y->state, WAITING);
    assert_int_equal(category, x->category);
    assert_true(x->since <= y->since);
    size_t left = matcher_waiting(s->m, -1); /* both have left already */
    assert_true(model_may_pair(s, a, b, s->now, left + 2));
    assert_int_equal(matcher_lookup(s->m, a, NULL) + matcher_lookup(s->m, b, NULL), 0);
    s->fallback_pairs += x->category != y->category;
    s->previous_pairs += x->prev == b || y->prev == a;
    x->state = y->state = CHATTING;
    x->prev = b;
    y->prev = a;
    x->chat_until = y->chat_until = s->now + rnd(s) % 60000;
    s->pairs++;
}

/* No two waiting users may pair at time t (the run left nothing undone). */
static void model_check_maximal(const struct model *s, uint64_t t) {
    size_t total = 0;
    int64_t *w = malloc((s->n + 1) * sizeof *w);
    assert_non_null(w);
    for (size_t i = 1; i <= s->n; i++)
        if (s->u[i].state == WAITING)
            w[total++] = (int64_t)i;
    for (size_t i = 0; i < total; i++)
        for (size_t j = i + 1; j < total; j++)
            if (model_may_pair(s, w[i], w[j], t, total))
                fail_msg("users %lld and %lld could pair at %llu", (long long)w[i], (long long)w[j],
                         (unsigned long long)t);
    free(w);
}

static void model_check_counts(const struct model *s) {
    size_t per[CATS + 2] = {0}, total = 0;
    for (size_t i = 1; i <= s->n; i++)
        if (s->u[i].state == WAITING) {
            per[s->u[i].category]++;
            total++;
            struct matcher_entry_info info;
            assert_int_equal(matcher_lookup(s->m, (int64_t)i, &info), 1);
            assert_int_equal(info.category, s->u[i].category);
            assert_int_equal(info.fallback_any, s->u[i].fallback);
            assert_int_equal(info.since_ms, s->u[i].since);
        }
    assert_int_equal(matcher_waiting(s->m, -1), total);
    for (size_t c = 0; c < s->cats; c++)
        assert_int_equal(matcher_waiting(s->m, (int)c), per[c]);
}

static void model_block(struct model *s, int64_t blocker, int64_t blocked) {
    struct user *u = &s->u[blocker];
    if (blocker == blocked || u->nblocks == MODEL_BLOCKS || blocks(u, blocked))
        return;
    u->blocks[u->nblocks++] = blocked;
    matcher_add_block(s->m, blocker, blocked);
}

static void model_enqueue(struct model *s, int64_t id) {
    struct user *u = &s->u[id];
    int category = (int)(rnd(s) % s->cats);
    if (u->state != WAITING || category != u->category)
        u->since = s->now;
    u->category = category;
    u->fallback = rnd(s) % 2 == 0;
    u->state = WAITING;
    assert_int_equal(
        matcher_enqueue(s->m, id, category, u->fallback, u->prev, u->blocks, u->nblocks, s->now),
        0);
}

static void model_act(struct model *s, int64_t id) {
    struct user *u = &s->u[id];
    uint64_t r = rnd(s) % 100;
    if (u->state == IDLE && r < 70)
        model_enqueue(s, id);
    else if (u->state == WAITING && r < 10) {
        assert_int_equal(matcher_remove(s->m, id), 1);
        u->state = IDLE;
    } else if (u->state == WAITING && r < 25)
        model_enqueue(s, id);
    else if (u->state == CHATTING && s->now >= u->chat_until) {
        u->state = IDLE;
        if (r < 15)
            model_block(s, id, u->prev);
    } else if (r >= 97)
        model_block(s, id, (int64_t)(1 + rnd(s) % s->n));
}

/* Everyone forgets their blocks and waiting users leave (small runs would end up all blocked). */
static void model_forgive(struct model *s) {
    for (size_t i = 1; i <= s->n; i++) {
        s->u[i].nblocks = 0;
        if (s->u[i].state == WAITING) {
            assert_int_equal(matcher_remove(s->m, (int64_t)i), 1);
            s->u[i].state = IDLE;
        }
    }
}

static void model_step(struct model *s) {
    s->now += rnd(s) % 100 < 3 ? 20000 + rnd(s) % 20000 : rnd(s) % 1500;
    for (uint64_t k = rnd(s) % 6; k > 0; k--)
        model_act(s, (int64_t)(1 + rnd(s) % s->n));
    matcher_run(s->m, s->now, on_model_pair, s);
    model_check_counts(s);
    model_check_maximal(s, s->now);
    uint64_t next = matcher_next_deadline(s->m, s->now);
    assert_true(next == 0 || next > s->now);
    model_check_maximal(s, next ? next - 1 : s->now + 10 * PREVIOUS);
}

/* Returns how many pairs were fallback pairs and previous-partner pairs (rule coverage). */
static void model_run(size_t n, size_t cats, size_t steps, size_t forgive_every, uint64_t seed,
                      size_t *fallback, size_t *previous) {
    struct model s = {.n = n, .cats = cats, .now = T0, .rng = seed};
    s.m = matcher_new(cats);
    s.u = calloc(n + 1, sizeof *s.u);
    assert_non_null(s.m);
    assert_non_null(s.u);
    for (size_t i = 1; i <= n; i++) {
        for (uint64_t k = rnd(&s) % 4; k > 0; k--)
            model_block(&s, (int64_t)i, (int64_t)(1 + rnd(&s) % n));
        model_enqueue(&s, (int64_t)i); /* everyone at once, then one run */
    }
    matcher_run(s.m, s.now, on_model_pair, &s);
    model_check_counts(&s);
    model_check_maximal(&s, s.now);
    for (size_t i = 1; i <= steps; i++) {
        if (forgive_every && i % forgive_every == 0)
            model_forgive(&s);
        model_step(&s);
    }
    print_message("n %zu pairs %zu fb %zu prev %zu\n", n, s.pairs, s.fallback_pairs,
                  s.previous_pairs);
    assert_true(s.pairs > n / 4);
    *fallback += s.fallback_pairs;
    *previous += s.previous_pairs;
    matcher_free(s.m);
    free(s.u);
}

static void test_random_many_users(void **state) {
    (void)state;
    size_t fallback = 0, previous = 0;
    model_run(2000, CATS, 4000, 0, 0x9e3779b97f4a7c15ULL, &fallback, &previous);
    assert_true(fallback > 0);
}

static void test_random_few_users(void **state) {
    (void)state;
    size_t fallback = 0, previous = 0;
    model_run(4, 2, 20000, 300, 12345, &fallback, &previous);
    model_run(5, 2, 20000, 300, 777, &fallback, &previous);
    model_run(8, 3, 20000, 500, 4242, &fallback, &previous);
    model_run(40, 3, 10000, 1000, 99, &fallback, &previous);
    print_message("fallback pairs %zu, previous-partner pairs %zu\n", fallback, previous);
    assert_true(fallback > 0);
    assert_true(previous > 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_bad_args),
        T(test_same_category_oldest_first),
        T(test_run_after_each_enqueue),
        T(test_no_pair_across_categories_without_fallback),
        T(test_fallback_after_10s),
        T(test_fallback_new_arrival_meets_ready_user),
        T(test_fallback_needs_both),
        T(test_fallback_prefers_same_category),
        T(test_fallback_takes_oldest_other),
        T(test_arrival_goes_to_oldest_taker),
        T(test_never_self),
        T(test_blocks_either_way),
        T(test_unpairable_user_does_not_stop_others),
        T(test_add_block_while_waiting),
        T(test_previous_partner_alone),
        T(test_previous_partner_one_way),
        T(test_previous_partner_third_user),
        T(test_previous_partner_third_user_early),
        T(test_previous_partner_after_remove),
        T(test_previous_partner_left_alone_by_a_pair),
        T(test_move_restarts_wait),
        T(test_move_keeps_others_order),
        T(test_update_in_place_turns_fallback_on),
        T(test_remove),
        T(test_waiting_counts),
        T(test_next_deadline_values),
        T(test_clock_never_goes_back),
        T(test_bad_category),
        T(test_blocks_max),
        T(test_waiting_max),
        T(test_many_sequential),
        cmocka_unit_test(test_random_many_users),
        cmocka_unit_test(test_random_few_users),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
