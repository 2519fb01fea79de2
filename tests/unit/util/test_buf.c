/* test_buf.c — tests of util/buf.c: growth and NUL termination, reset, printf and u64 appends,
 * the sticky failure flag, consume, detach, and JSON string escaping (quotes, backslash, control
 * characters as \u00XX, invalid UTF-8 as \ufffd, valid multibyte text kept; the output always
 * parses with jansson).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* Each test gets a zeroed buf in *state, freed by teardown even when an assertion fails. */
static int setup(void **state) {
    buf *b = calloc(1, sizeof *b);
    *state = b;
    return b ? 0 : -1;
}

static int teardown(void **state) {
    buf_free(*state);
    free(*state);
    return 0;
}

static void assert_buf(const buf *b, const char *want, size_t want_len) {
    assert_int_equal(b->len, want_len);
    assert_false(b->failed);
    assert_non_null(b->data);
    assert_true(b->cap > b->len);
    assert_memory_equal(b->data, want, want_len);
    assert_int_equal(b->data[b->len], '\0');
}

/* JSON-escapes n bytes of s into a fresh buffer and compares with want (quotes included). */
static void assert_json(const char *s, size_t n, const char *want) {
    buf b = {0};
    buf_append_json_string(&b, s, n);
    int same = b.data && strcmp(b.data, want) == 0 && b.len == strlen(want);
    if (!same) {
        char got[256];
        snprintf(got, sizeof got, "%s", b.data ? b.data : "(null)");
        buf_free(&b);
        fail_msg("escaped to %s, expected %s", got, want);
    }
    buf_free(&b);
}

/* ---- growth ---- */

static void test_init_empty_and_with_capacity(void **state) {
    buf *b = *state;
    buf_init(b, 0);
    assert_null(b->data);
    assert_int_equal(b->len, 0);
    assert_int_equal(b->cap, 0);
    buf_free(b);
    buf_init(b, 1000);
    assert_non_null(b->data);
    assert_true(b->cap >= 1001);
    assert_int_equal(b->len, 0);
}

static void test_growth_byte_by_byte(void **state) {
    buf *b = *state;
    char *want = malloc(10000);
    assert_non_null(want);
    for (size_t i = 0; i < 10000; i++) {
        want[i] = (char)('a' + i % 26);
        buf_append(b, &want[i], 1);
        assert_int_equal(b->len, i + 1);
        assert_true(b->cap > b->len);
        assert_int_equal(b->data[b->len], '\0');
    }
    int same = memcmp(b->data, want, 10000) == 0;
    free(want);
    assert_true(same);
    assert_false(b->failed);
}

static void test_growth_large_append(void **state) {
    buf *b = *state;
    size_t n = 3 * 1024 * 1024 + 7;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'z', n);
    buf_append_cstr(b, "head:");
    buf_append(b, big, n);
    free(big);
    assert_int_equal(b->len, n + 5);
    assert_true(b->cap > b->len);
    assert_memory_equal(b->data, "head:zzz", 8);
    assert_int_equal(b->data[b->len - 1], 'z');
    assert_int_equal(b->data[b->len], '\0');
}

static void test_append_nothing_and_embedded_nul(void **state) {
    buf *b = *state;
    buf_append(b, "", 0);
    assert_buf(b, "", 0);
    buf_append(b, "a\0b", 3);
    assert_buf(b, "a\0b", 3);
}

static void test_reset_keeps_memory(void **state) {
    buf *b = *state;
    buf_append_cstr(b, "some text that is long enough to allocate");
    size_t cap = b->cap;
    char *data = b->data;
    buf_reset(b);
    assert_int_equal(b->len, 0);
    assert_int_equal(b->cap, cap);
    assert_ptr_equal(b->data, data);
    assert_int_equal(b->data[0], '\0');
    buf_append_cstr(b, "again");
    assert_buf(b, "again", 5);
}

static void test_failed_is_sticky(void **state) {
    buf *b = *state;
    buf_append_cstr(b, "kept");
    b->failed = 1; /* as after an allocation failure */
    buf_append_cstr(b, "dropped");
    buf_append_printf(b, "%d", 42);
    buf_append_u64(b, 7);
    buf_append_json_string(b, "x", 1);
    assert_int_equal(b->len, 4);
    assert_string_equal(b->data, "kept");
    assert_int_equal(buf_reserve(b, 1), -1);
    assert_true(b->failed);
}

/* ---- printf and numbers ---- */

static void test_printf(void **state) {
    buf *b = *state;
    buf_append_printf(b, "%s=%d;", "a", 1);
    buf_append_printf(b, "%s", "");
    buf_append_printf(b, "%%|%5.2f|%llu", 3.14159, 18446744073709551615ULL);
    assert_buf(b, "a=1;%| 3.14|18446744073709551615", 32);
    char long_arg[1001];
    memset(long_arg, 'p', 1000);
    long_arg[1000] = '\0';
    buf_append_printf(b, "[%s]", long_arg);
    assert_int_equal(b->len, 32 + 1002);
    assert_int_equal(b->data[32], '[');
    assert_int_equal(b->data[b->len - 1], ']');
    assert_int_equal(b->data[b->len], '\0');
}

static void test_u64(void **state) {
    buf *b = *state;
    buf_append_u64(b, 0);
    buf_append(b, ",", 1);
    buf_append_u64(b, 1234567890);
    buf_append(b, ",", 1);
    buf_append_u64(b, UINT64_MAX);
    assert_buf(b, "0,1234567890,18446744073709551615", 33);
}

/* ---- consume and detach ---- */

static void test_consume(void **state) {
    buf *b = *state;
    buf_append_cstr(b, "0123456789");
    buf_consume(b, 0);
    assert_buf(b, "0123456789", 10);
    buf_consume(b, 3);
    assert_buf(b, "3456789", 7);
    buf_consume(b, 6);
    assert_buf(b, "9", 1);
    buf_consume(b, 1);
    assert_buf(b, "", 0);
    buf_append_cstr(b, "abc");
    buf_consume(b, 100); /* more than len empties it */
    assert_buf(b, "", 0);
    buf_append_cstr(b, "after");
    assert_buf(b, "after", 5);
}

static void test_consume_empty(void **state) {
    buf *b = *state;
    buf_consume(b, 5); /* never allocated: stays empty, no crash */
    assert_int_equal(b->len, 0);
}

static void test_detach(void **state) {
    buf *b = *state;
    buf_append_cstr(b, "owned by the caller");
    size_t len = 0;
    char *p = buf_detach(b, &len);
    assert_int_equal(len, 19);
    assert_string_equal(p, "owned by the caller");
    free(p);
    assert_null(b->data);
    assert_int_equal(b->len, 0);
    assert_int_equal(b->cap, 0);
    assert_false(b->failed);
    assert_null(buf_detach(b, &len)); /* empty: NULL, 0 */
    assert_int_equal(len, 0);
    assert_null(buf_detach(b, NULL));
    buf_append_cstr(b, "reusable");
    assert_buf(b, "reusable", 8);
}

/* ---- JSON strings ---- */

static void test_json_plain_and_specials(void **state) {
    (void)state;
    assert_json("", 0, "\"\"");
    assert_json("abc", 3, "\"abc\"");
    assert_json("say \"hi\"", 8, "\"say \\\"hi\\\"\"");
    assert_json("C:\\dir\\", 7, "\"C:\\\\dir\\\\\"");
    assert_json("a/b", 3, "\"a/b\"");
}

static void test_json_control_chars(void **state) {
    (void)state;
    assert_json("\n", 1, "\"\\u000a\"");
    assert_json("a\tb\r\n", 5, "\"a\\u0009b\\u000d\\u000a\"");
    assert_json("\x01\x1f", 2, "\"\\u0001\\u001f\"");
    assert_json("x\0y", 3, "\"x\\u0000y\"");
    assert_json("\x7f", 1, "\"\\u007f\"");
}

static void test_json_valid_multibyte_kept(void **state) {
    (void)state;
    assert_json("\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", 9,
                "\"\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4\"");
    assert_json("caf\xc3\xa9", 5, "\"caf\xc3\xa9\"");
    assert_json("\xf0\x9f\x98\x80!", 5, "\"\xf0\x9f\x98\x80!\"");
    assert_json("\xef\xbf\xbf", 3, "\"\xef\xbf\xbf\"");         /* U+FFFF */
    assert_json("\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
}

static void test_json_invalid_utf8_replaced(void **state) {
    (void)state;
    assert_json("\xff", 1, "\"\\ufffd\"");
    assert_json("a\x80z", 3, "\"a\\ufffdz\"");        /* lone continuation */
    assert_json("\xc3(", 2, "\"\\ufffd(\"");          /* lead without continuation */
    assert_json("\xea\xb0", 2, "\"\\ufffd\\ufffd\""); /* truncated at the end */
    assert_json("\xea\xb0\xed\x95\x9c", 5, "\"\\ufffd\\ufffd\xed\x95\x9c\""); /* then valid */
    assert_json("\xf8\x88\x80\x80\x80", 5,
                "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\""); /* 5-byte form */
}

/* Sequences whose shape looks right but which are not UTF-8: overlong forms, UTF-16 surrogates,
 * code points above U+10FFFF. Passing them through makes JSON that strict parsers reject. */
static void test_json_output_always_valid(void **state) {
    (void)state;
    static const struct {
        const char *bytes;
        size_t n;
    } nasty[] = {
        {"\xc0\xaf", 2},               /* overlong '/' */
        {"\xc1\xbf", 2},               /* overlong U+007F */
        {"\xe0\x80\xaf", 3},           /* overlong '/' in 3 bytes */
        {"\xed\xa0\x80", 3},           /* U+D800, a surrogate */
        {"\xed\xbf\xbf", 3},           /* U+DFFF */
        {"\xf0\x80\x80\xaf", 4},       /* overlong in 4 bytes */
        {"\xf4\x90\x80\x80", 4},       /* U+110000 */
        {"\xf7\xbf\xbf\xbf", 4},       /* above U+10FFFF */
        {"ok\xed\x95\x9c\xc0\xaf", 7}, /* valid text, then overlong */
    };
    char bad[256] = "";
    for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++) {
        buf b = {0};
        buf_append_json_string(&b, nasty[i].bytes, nasty[i].n);
        json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
        if (!v || !json_is_string(v))
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), " #%zu", i);
        json_decref(v);
        buf_free(&b);
    }
    if (bad[0])
        fail_msg("escaped to JSON that jansson rejects (invalid UTF-8 passed through):%s", bad);
}

/* Every byte value, alone and in a long mixed string, escapes to JSON that parses back. */
static void test_json_all_bytes_round_trip(void **state) {
    (void)state;
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    for (int i = 0; i < 0x80; i++) {
        buf b = {0};
        buf_append_json_string(&b, &all[i], 1);
        json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        int ok = v && json_string_length(v) == 1 && json_string_value(v)[0] == (char)i;
        json_decref(v);
        buf_free(&b);
        if (!ok)
            fail_msg("byte 0x%02x does not round-trip", i);
    }
    for (int i = 0x80; i < 0x100; i++) {
        buf b = {0};
        buf_append_json_string(&b, &all[i], 1);
        int ok = b.data && strcmp(b.data, "\"\\ufffd\"") == 0;
        buf_free(&b);
        if (!ok)
            fail_msg("lone byte 0x%02x is not replaced by \\ufffd", i);
    }
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_init_empty_and_with_capacity),
        T(test_growth_byte_by_byte),
        T(test_growth_large_append),
        T(test_append_nothing_and_embedded_nul),
        T(test_reset_keeps_memory),
        T(test_failed_is_sticky),
        T(test_printf),
        T(test_u64),
        T(test_consume),
        T(test_consume_empty),
        T(test_detach),
        cmocka_unit_test(test_json_plain_and_specials),
        cmocka_unit_test(test_json_control_chars),
        cmocka_unit_test(test_json_valid_multibyte_kept),
        cmocka_unit_test(test_json_invalid_utf8_replaced),
        cmocka_unit_test(test_json_output_always_valid),
        cmocka_unit_test(test_json_all_bytes_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
