/* test_api_render.c — tests of the renderers in api/api.c that every message goes through:
 * api_format_time (hand-written RFC 3339, checked against gmtime_r over leap days, century
 * rules, pre-1970 instants and random instants), api_message_write / api_messages_write (the
 * text parses as JSON with the SPEC §3.3 MESSAGE members; hostile text stays a string) and
 * api_json_write (a client's "ref" echoed as compact JSON).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"

/* What strftime + gmtime_r make of ms: the reference the hand-written formatter must match. */
static void reference_time(int64_t ms, char out[32]) {
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms - secs * 1000));
}

static void assert_time(int64_t ms, const char *want) {
    char got[32];
    api_format_time(ms, got, sizeof got);
    assert_string_equal(got, want);
}

static void test_time_known_instants(void **state) {
    (void)state;
    assert_time(0, "1970-01-01T00:00:00.000Z");
    assert_time(1, "1970-01-01T00:00:00.001Z");
    assert_time(951782400000LL, "2000-02-29T00:00:00.000Z");  /* leap day of a 400-year */
    assert_time(4107542399999LL, "2100-02-28T23:59:59.999Z"); /* 2100 is not a leap year */
    assert_time(4107542400000LL, "2100-03-01T00:00:00.000Z");
    assert_time(1796688000123LL, "2026-12-08T00:00:00.123Z");
    assert_time(-1, "1969-12-31T23:59:59.999Z");
    assert_time(253402300799999LL, "9999-12-31T23:59:59.999Z");
    assert_time(-62167219200000LL, "0000-01-01T00:00:00.000Z");
    /* Outside years 0000–9999 the text is clamped to the nearest end, never garbage. */
    assert_time(253402300800000LL, "9999-12-31T23:59:59.999Z");
    assert_time(INT64_MAX, "9999-12-31T23:59:59.999Z");
    assert_time(INT64_MIN, "0000-01-01T00:00:00.000Z");
}

static void test_time_matches_gmtime(void **state) {
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: reproducible instants */
        int64_t ms = (int64_t)(x % 253402300800000ULL) - 62135596800000LL / 4;
        char got[32], want[32];
        api_format_time(ms, got, sizeof got);
        reference_time(ms, want);
        if (strcmp(got, want) != 0)
            fail_msg("%lld ms: got %s, want %s", (long long)ms, got, want);
    }
}

static void test_time_short_output_is_cut_and_terminated(void **state) {
    (void)state;
    char out[11];
    api_format_time(951782400000LL, out, sizeof out);
    assert_string_equal(out, "2000-02-29");
}

static json_t *parse_written(const buf *b) {
    assert_false(b->failed);
    json_error_t err;
    json_t *v = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &err);
    if (!v)
        fail_msg("not JSON (%s): %.*s", err.text, (int)b->len, b->data);
    return v;
}

static void test_message_members(void **state) {
    (void)state;
    store_message m = {.id = 9007199254740993LL,
                       .chat_id = 42,
                       .seq = 7,
                       .sender_id = 5,
                       .text = "<img src=x onerror=alert(1)> \"q\" \\ 한글\n\t\x01",
                       .sent_at_ms = 1796688000123LL};
    buf b = {0};
    api_message_write(&b, &m);
    json_t *v = parse_written(&b);
    assert_int_equal(json_object_size(v), 6);
    assert_string_equal(json_string_value(json_object_get(v, "id")), "9007199254740993");
    assert_string_equal(json_string_value(json_object_get(v, "chatId")), "42");
    assert_int_equal(json_integer_value(json_object_get(v, "seq")), 7);
    assert_string_equal(json_string_value(json_object_get(v, "senderId")), "5");
    assert_string_equal(json_string_value(json_object_get(v, "text")), m.text);
    assert_string_equal(json_string_value(json_object_get(v, "sentAt")),
                        "2026-12-08T00:00:00.123Z");
    json_decref(v);

    json_t *same = api_message_json(&m); /* the jansson form is parsed from the same text */
    assert_non_null(same);
    assert_string_equal(json_string_value(json_object_get(same, "text")), m.text);
    json_decref(same);
    buf_free(&b);
}

static void test_message_without_time_has_null(void **state) {
    (void)state;
    store_message m = {.id = 1, .chat_id = 2, .seq = 1, .sender_id = 3, .text = "hi"};
    buf b = {0};
    api_message_write(&b, &m);
    json_t *v = parse_written(&b);
    assert_true(json_is_null(json_object_get(v, "sentAt")));
    json_decref(v);
    buf_free(&b);
}

static void test_messages_array(void **state) {
    (void)state;
    store_message ms[3] = {{.id = 1, .chat_id = 2, .seq = 1, .sender_id = 3, .text = "a"},
                           {.id = 2, .chat_id = 2, .seq = 2, .sender_id = 4, .text = "b"},
                           {.id = 3, .chat_id = 2, .seq = 3, .sender_id = 3, .text = "c"}};
    for (size_t count = 0; count <= 3; count++) {
        buf b = {0};
        api_messages_write(&b, ms, count);
        json_t *v = parse_written(&b);
        assert_true(json_is_array(v));
        assert_int_equal(json_array_size(v), count);
        for (size_t i = 0; i < count; i++)
            assert_int_equal(json_integer_value(json_object_get(json_array_get(v, i), "seq")),
                             (json_int_t)i + 1);
        json_decref(v);
        buf_free(&b);
    }
}

static void test_json_write_any_value(void **state) {
    (void)state;
    json_t *ref = json_pack("{s:s, s:[i, b]}", "k", "한\"", "n", 1, 1);
    buf b = {0};
    api_json_write(&b, ref);
    json_t *back = parse_written(&b);
    assert_true(json_equal(back, ref));
    json_decref(back);
    buf_reset(&b);
    json_t *num = json_integer(12);
    api_json_write(&b, num);
    assert_string_equal(b.data, "12");
    json_decref(num);
    json_decref(ref);
    buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_known_instants),
        cmocka_unit_test(test_time_matches_gmtime),
        cmocka_unit_test(test_time_short_output_is_cut_and_terminated),
        cmocka_unit_test(test_message_members),
        cmocka_unit_test(test_message_without_time_has_null),
        cmocka_unit_test(test_messages_array),
        cmocka_unit_test(test_json_write_any_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
