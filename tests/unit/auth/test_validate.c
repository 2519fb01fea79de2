/* test_validate.c — unit tests of auth/validate.c: emails, passwords
 * (code points, not bytes), nickname trimming and the spoofing characters it refuses, bios, and
 * job/career against the catalog.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/validate.h"

#define HAN "\xea\xb0\x80" /* U+AC00 가, 3 bytes */

/* n copies of unit (malloc'd). */
static char *repeat(const char *unit, size_t n) {
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

#define assert_ok(expr) assert_null(expr)
#define assert_reason(expr, want)                                                                  \
    do {                                                                                           \
        const char *got_ = (expr);                                                                 \
        if (!got_ || strcmp(got_, want) != 0)                                                      \
            fail_msg("%s: got %s, want %s", #expr, got_ ? got_ : "NULL", want);                    \
    } while (0)

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* ---- email ------------------------------------------------------------------------------ */

static void test_email_good(void **state) {
    (void)state;
    assert_ok(validate_email("a@b.co"));
    assert_ok(validate_email("first.last+tag@mail.example.com"));
    assert_ok(validate_email("USER@EXAMPLE.COM"));
    char *local = repeat("a", 64), buf[512];
    snprintf(buf, sizeof buf, "%s@x.io", local);
    assert_ok(validate_email(buf));
    free(local);
}

static void test_email_bad(void **state) {
    (void)state;
    assert_reason(validate_email(NULL), "REQUIRED");
    assert_reason(validate_email(""), "REQUIRED");
    const char *bad[] = {"ab.com",   "a@@b.com", "a@b@c.com", "@b.com",      "a@bcom",
                         "a@",       "a@.b.com", "a@b.com.",  "a@b..com",    "a b@c.com",
                         "a@b.com ", " a@b.com", "a\t@b.com", "a\x01@b.com", "a\x7f@b.com",
                         "홍@b.com", "a@bü.com", "a@."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_reason(validate_email(bad[i]), "INVALID");
}

static void test_email_lengths(void **state) {
    (void)state;
    char *local = repeat("a", 65), buf[600];
    snprintf(buf, sizeof buf, "%s@x.io", local);
    assert_reason(validate_email(buf), "TOO_LONG");
    free(local);
    /* 254 bytes ok, 255 bytes too long */
    char *dom = repeat("d", 254 - 2 - 4);
    snprintf(buf, sizeof buf, "a@%s.com", dom);
    assert_int_equal(strlen(buf), 254);
    assert_ok(validate_email(buf));
    snprintf(buf, sizeof buf, "a@%sd.com", dom);
    assert_int_equal(strlen(buf), 255);
    assert_reason(validate_email(buf), "TOO_LONG");
    free(dom);
}

/* ---- password --------------------------------------------------------------------------- */

static void test_password(void **state) {
    (void)state;
    assert_reason(validate_password(NULL), "REQUIRED");
    assert_reason(validate_password(""), "REQUIRED");
    char *p = repeat(HAN, 7); /* 21 bytes, 7 characters */
    assert_reason(validate_password(p), "TOO_SHORT");
    free(p);
    p = repeat(HAN, 8);
    assert_ok(validate_password(p));
    free(p);
    p = repeat(HAN, 128); /* 384 bytes */
    assert_ok(validate_password(p));
    free(p);
    p = repeat(HAN, 129);
    assert_reason(validate_password(p), "TOO_LONG");
    free(p);
    assert_reason(validate_password("abcdefg"), "TOO_SHORT");
    assert_ok(validate_password("abcdefgh"));
    assert_ok(validate_password("  \t spaces & \x01 ctl  ")); /* any character */
    assert_reason(validate_password("abcdefgh\xff"), "INVALID");
    assert_reason(validate_password("abcdefgh\xc0\xaf"), "INVALID");
    assert_reason(validate_password("abcdefgh\xed\xa0\x80"), "INVALID");
}

/* ---- nickname --------------------------------------------------------------------------- */

/* validate_nickname into a fresh buffer; on success checks out == want. */
static const char *nick(const char *in, const char *want) {
    char out[256];
    memset(out, 'Z', sizeof out);
    const char *why = validate_nickname(in, out, sizeof out);
    if (!why && want)
        assert_string_equal(out, want);
    if (why)
        assert_string_equal(out, "");
    return why;
}

static void test_nickname_trim(void **state) {
    (void)state;
    assert_ok(nick("  홍길동  ", "홍길동"));
    assert_ok(nick("\t\n홍길동\r\n", "홍길동"));
    assert_ok(nick("\xe3\x80\x80홍길동\xe3\x80\x80", "홍길동")); /* U+3000 */
    assert_ok(nick(" \xe3\x80\x80 ab \xe3\x80\x80\xe3\x80\x80 ", "ab"));
    assert_ok(nick("a b", "a b"));                       /* inner space kept */
    assert_ok(nick("a\xe3\x80\x80z", "a\xe3\x80\x80z")); /* inner U+3000 kept */
    assert_reason(nick(" \xe3\x80\x80 a \xe3\x80\x80", NULL), "TOO_SHORT");
}

static void test_nickname_lengths(void **state) {
    (void)state;
    assert_reason(nick(NULL, NULL), "REQUIRED");
    assert_reason(nick("", NULL), "REQUIRED");
    assert_reason(nick("   ", NULL), "REQUIRED");
    assert_reason(nick("\xe3\x80\x80", NULL), "REQUIRED");
    assert_reason(nick("a", NULL), "TOO_SHORT");
    assert_reason(nick("홍", NULL), "TOO_SHORT");
    assert_ok(nick("ab", "ab"));
    assert_ok(nick("홍길", "홍길"));
    char *n = repeat(HAN, 20); /* 60 bytes */
    assert_ok(nick(n, n));
    free(n);
    n = repeat(HAN, 21);
    assert_reason(nick(n, NULL), "TOO_LONG");
    free(n);
    n = repeat("a", 21);
    assert_reason(nick(n, NULL), "TOO_LONG");
    free(n);
}

static void test_nickname_invalid(void **state) {
    (void)state;
    const char *bad[] = {
        "a\tb",               /* tab */
        "a\nb",               /* newline */
        "a\x01z",             /* C0 */
        "a\x7fz",             /* DEL */
        "a\xc2\x80z",         /* U+0080 */
        "a\xc2\x9fz",         /* U+009F */
        "ab\xe2\x80\xae",     /* U+202E */
        "\xe2\x80\xaaxy",     /* U+202A */
        "a\xe2\x80\xa8z",     /* U+2028 */
        "a\xe2\x80\xa9z",     /* U+2029 */
        "a\xe2\x81\xa6z",     /* U+2066 */
        "a\xe2\x81\xa9z",     /* U+2069 */
        "ab\xff",             /* not UTF-8 */
        "ab\xc0\xaf",         /* overlong */
        "  ab\xed\xa0\x80  ", /* surrogate */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!nick(bad[i], NULL) || strcmp(nick(bad[i], NULL), "INVALID") != 0)
            fail_msg("nickname #%zu not INVALID", i);
    /* neighbours of the refused ranges are fine */
    assert_ok(nick("a\xc2\xa0z", NULL));     /* U+00A0 */
    assert_ok(nick("a\xe2\x80\xa7z", NULL)); /* U+2027 */
    assert_ok(nick("a\xe2\x80\xafz", NULL)); /* U+202F */
    assert_ok(nick("a\xe2\x81\xa5z", NULL)); /* U+2065 */
    assert_ok(nick("a\xe2\x81\xaaz", NULL)); /* U+206A */
    assert_ok(nick("a~z", NULL));
}

static void test_nickname_out_buffer(void **state) {
    (void)state;
    char out[8];
    assert_ok(validate_nickname("  홍길  ", out, 7)); /* 6 bytes + NUL */
    assert_string_equal(out, "홍길");
    assert_reason(validate_nickname("홍길", out, 6), "INVALID");
    assert_string_equal(out, "");
    assert_reason(validate_nickname("홍길", NULL, 0), "INVALID");
}

/* ---- bio, job, career ------------------------------------------------------------------- */

static void test_bio(void **state) {
    (void)state;
    assert_ok(validate_bio(NULL));
    assert_ok(validate_bio(""));
    assert_ok(validate_bio("line one\nline two\tand a tab"));
    char *b = repeat(HAN, 300);
    assert_ok(validate_bio(b));
    free(b);
    b = repeat(HAN, 301);
    assert_reason(validate_bio(b), "TOO_LONG");
    free(b);
    b = repeat("x", 301);
    assert_reason(validate_bio(b), "TOO_LONG");
    free(b);
    assert_reason(validate_bio("bell\x07"), "INVALID");
    assert_reason(validate_bio("cr\r\n"), "INVALID");
    assert_reason(validate_bio("del\x7f"), "INVALID");
    assert_reason(validate_bio("c1\xc2\x85"), "INVALID");
    assert_reason(validate_bio("rtl\xe2\x80\xae"), "INVALID");
    assert_reason(validate_bio("bad\xff"), "INVALID");
}

static void test_job_career(void **state) {
    (void)state;
    assert_ok(validate_job("backend"));
    assert_ok(validate_job("ai_data"));
    assert_ok(validate_job("design"));
    assert_reason(validate_job("Backend"), "UNKNOWN");
    assert_reason(validate_job("backend "), "UNKNOWN");
    assert_reason(validate_job("chef"), "UNKNOWN");
    assert_reason(validate_job(""), "UNKNOWN");
    assert_reason(validate_job(NULL), "REQUIRED");
    assert_ok(validate_career("student"));
    assert_ok(validate_career("senior"));
    assert_reason(validate_career("intern"), "UNKNOWN");
    assert_reason(validate_career("backend"), "UNKNOWN");
    assert_reason(validate_career(""), "UNKNOWN");
    assert_reason(validate_career(NULL), "REQUIRED");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email_good),
        cmocka_unit_test(test_email_bad),
        cmocka_unit_test(test_email_lengths),
        cmocka_unit_test(test_password),
        cmocka_unit_test(test_nickname_trim),
        cmocka_unit_test(test_nickname_lengths),
        cmocka_unit_test(test_nickname_invalid),
        cmocka_unit_test(test_nickname_out_buffer),
        cmocka_unit_test(test_bio),
        cmocka_unit_test(test_job_career),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
