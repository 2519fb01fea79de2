/* test_protocol.c — the pure WebSocket protocol rules of rt/protocol.c: ids, message text,
 * clientMsgId, and the per-socket token bucket (20 frames/s, burst 40). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "rt/protocol.h"

static int64_t id_of(const char *s) {
    json_t *v = json_string(s);
    int64_t id = rt_parse_id(v);
    json_decref(v);
    return id;
}

static void test_parse_id(void **state) {
    (void)state;
    assert_int_equal(id_of("42"), 42);
    assert_int_equal(id_of("123456789012345678"), 123456789012345678LL);
    assert_int_equal(id_of(""), 0);
    assert_int_equal(id_of("0"), 0);
    assert_int_equal(id_of("-1"), 0);
    assert_int_equal(id_of("4x"), 0);
    assert_int_equal(id_of(" 4"), 0);
    assert_int_equal(id_of("1234567890123456789"), 0); /* 19 digits: refused, no overflow */
    json_t *n = json_integer(42);
    assert_int_equal(rt_parse_id(n), 0); /* ids are strings */
    json_decref(n);
    assert_int_equal(rt_parse_id(NULL), 0);
}

static const char *check(const char *text, char *out) {
    return rt_message_text(text, strlen(text), out, RT_TEXT_MAX_BYTES + 1);
}

static void test_message_text_trims_and_keeps(void **state) {
    (void)state;
    char out[RT_TEXT_MAX_BYTES + 1];
    assert_null(check("  안녕하세요\n", out));
    assert_string_equal(out, "안녕하세요");
    assert_null(check("line one\n\tline two", out));
    assert_string_equal(out, "line one\n\tline two");
    assert_null(check("<img src=x onerror=alert(1)>", out));
    assert_string_equal(out, "<img src=x onerror=alert(1)>");
}

static void test_message_text_refuses(void **state) {
    (void)state;
    char out[RT_TEXT_MAX_BYTES + 1];
    assert_non_null(check("", out));
    assert_non_null(check(" \n\t\r ", out));
    assert_non_null(check("bell\a", out));
    assert_non_null(check("del\x7f", out));
    assert_non_null(check("c1 \xc2\x85 next line", out)); /* U+0085 */
    assert_null(check("\xc2\xa0nbsp", out));              /* U+00A0 is not a control */
    assert_non_null(check("bad \xc3\x28 utf8", out));
    assert_non_null(check("\xed\xa0\x80", out));                  /* a UTF-16 surrogate */
    assert_non_null(rt_message_text("a\0b", 3, out, sizeof out)); /* from a "\u0000" escape */
}

static void test_message_text_length_counts_characters(void **state) {
    (void)state;
    static char text[RT_TEXT_MAX_BYTES + 8];
    char out[RT_TEXT_MAX_BYTES + 1];
    text[0] = '\0';
    for (int i = 0; i < RT_TEXT_MAX_CHARS; i++)
        strcat(text, "가"); /* 3 bytes each */
    assert_null(check(text, out));
    assert_int_equal(strlen(out), 3 * RT_TEXT_MAX_CHARS);
    memset(text, 'a', RT_TEXT_MAX_CHARS + 1);
    text[RT_TEXT_MAX_CHARS + 1] = '\0';
    assert_non_null(check(text, out));
    text[RT_TEXT_MAX_CHARS] = '\0';
    assert_null(check(text, out));
}

static void test_client_msg_id(void **state) {
    (void)state;
    char out[RT_CLIENT_MSG_ID_MAX + 1];
    assert_int_equal(rt_client_msg_id("c-1700000000-abc", out), 0);
    assert_string_equal(out, "c-1700000000-abc");
    char max[RT_CLIENT_MSG_ID_MAX + 2];
    memset(max, 'x', sizeof max);
    max[RT_CLIENT_MSG_ID_MAX] = '\0';
    assert_int_equal(rt_client_msg_id(max, out), 0);
    max[RT_CLIENT_MSG_ID_MAX] = 'x';
    max[RT_CLIENT_MSG_ID_MAX + 1] = '\0';
    assert_int_equal(rt_client_msg_id(max, out), -1);
    assert_int_equal(rt_client_msg_id("", out), -1);
    assert_int_equal(rt_client_msg_id(NULL, out), -1);
    assert_int_equal(rt_client_msg_id("has space", out), -1);
    assert_int_equal(rt_client_msg_id("한글", out), -1);
}

static void test_bucket_burst_then_rate(void **state) {
    (void)state;
    struct rt_bucket b;
    rt_bucket_init(&b, 1000);
    for (int i = 0; i < (int)RT_RATE_BURST; i++)
        assert_int_equal(rt_bucket_take(&b, 1000), RT_RATE_OK);
    assert_int_equal(rt_bucket_take(&b, 1000), RT_RATE_REFUSED);
    /* 20 a second sustained: one frame every 50 ms is always allowed once refilled */
    rt_bucket_init(&b, 0);
    for (uint64_t t = 0; t < 10000; t += 50)
        assert_int_equal(rt_bucket_take(&b, t), RT_RATE_OK);
}

static void test_bucket_cuts_a_flood(void **state) {
    (void)state;
    struct rt_bucket b;
    rt_bucket_init(&b, 0);
    int refused = 0, cut_at = -1;
    for (int i = 0; i < 200 && cut_at < 0; i++) {
        enum rt_rate r = rt_bucket_take(&b, 0);
        if (r == RT_RATE_REFUSED)
            refused++;
        if (r == RT_RATE_CUT)
            cut_at = i;
    }
    assert_int_equal(cut_at, (int)(2 * RT_RATE_BURST) - 1); /* burst allowed, burst refused, cut */
    assert_int_equal(refused, (int)RT_RATE_BURST - 1);
}

static void test_bucket_recovers_and_ignores_clock_going_back(void **state) {
    (void)state;
    struct rt_bucket b;
    rt_bucket_init(&b, 5000);
    for (int i = 0; i < 50; i++)
        rt_bucket_take(&b, 5000);
    assert_int_equal(rt_bucket_take(&b, 4000), RT_RATE_REFUSED);   /* no refill from the past */
    assert_int_equal(rt_bucket_take(&b, 5000 + 3000), RT_RATE_OK); /* 3 s refill: 60 tokens */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_id),
        cmocka_unit_test(test_message_text_trims_and_keeps),
        cmocka_unit_test(test_message_text_refuses),
        cmocka_unit_test(test_message_text_length_counts_characters),
        cmocka_unit_test(test_client_msg_id),
        cmocka_unit_test(test_bucket_burst_then_rate),
        cmocka_unit_test(test_bucket_cuts_a_flood),
        cmocka_unit_test(test_bucket_recovers_and_ignores_clock_going_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
