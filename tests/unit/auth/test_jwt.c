/* test_jwt.c — unit tests of auth/jwt.c: sign → verify round trip, expiry, and every forgery we
 * can think of, each built here with libsodium directly (base64url and HMAC-SHA256) so that a bad
 * header or bad claims can carry a signature that is valid for the right secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwt.h"

#define NOW 1700000000LL
#define V64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

static const unsigned char SECRET[] = "0123456789abcdef0123456789abcdef-test-secret";
static const unsigned char OTHER[] = "fedcba9876543210fedcba9876543210-other-secret";
#define SECRET_LEN (sizeof SECRET - 1)

static const char HDR[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
static const char PAY[] = "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"abc\","
                          "\"role\":\"user\",\"sid\":\"fam1\"}";

/* ---- forging helpers -------------------------------------------------------------------- */

/* Appends base64(bin) in the given variant to buf at *n. */
static void put_b64(char *buf, size_t *n, const void *bin, size_t len, int variant) {
    sodium_bin2base64(buf + *n, sodium_base64_ENCODED_LEN(len, variant), bin, len, variant);
    *n += strlen(buf + *n);
}

/* Appends base64url(HMAC-SHA256(key, buf[0..*n))) preceded by a dot. */
static void put_sig(char *buf, size_t *n, const unsigned char *key, size_t key_len) {
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)buf, *n);
    crypto_auth_hmacsha256_final(&st, mac);
    buf[(*n)++] = '.';
    put_b64(buf, n, mac, sizeof mac, V64);
}

/* header.payload (base64 in variant) signed with key; malloc'd. */
static char *forge_v(const char *hdr, const char *pay, const unsigned char *key, size_t key_len,
                     int variant) {
    size_t cap = 2 * (strlen(hdr) + strlen(pay)) + 128, n = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    put_b64(t, &n, hdr, strlen(hdr), variant);
    t[n++] = '.';
    put_b64(t, &n, pay, strlen(pay), variant);
    put_sig(t, &n, key, key_len);
    return t;
}

static char *forge(const char *hdr, const char *pay) {
    return forge_v(hdr, pay, SECRET, SECRET_LEN, V64);
}

/* Signs the raw string "<hdr_b64>.<pay_b64>" as given (for hand-made base64 parts). */
static char *sign_raw(const char *signing_input) {
    size_t n = strlen(signing_input);
    char *t = malloc(n + 64);
    assert_non_null(t);
    memcpy(t, signing_input, n + 1);
    put_sig(t, &n, SECRET, SECRET_LEN);
    return t;
}

static int verify_at(const char *tok, int64_t now) {
    struct jwt_claims c;
    return jwt_verify(SECRET, SECRET_LEN, tok, strlen(tok), now, &c);
}

static int verify(const char *tok) {
    return verify_at(tok, NOW + 1);
}

/* Verifies and frees a forged token, expecting JWT_INVALID. */
static void expect_invalid(char *tok) {
    int rc = verify(tok);
    if (rc != JWT_INVALID)
        fail_msg("accepted (%d) %s", rc, tok);
    free(tok);
}

static void expect_payload_invalid(const char *pay) {
    expect_invalid(forge(HDR, pay));
}

static void expect_header_invalid(const char *hdr) {
    expect_invalid(forge(hdr, PAY));
}

/* ---- good tokens ------------------------------------------------------------------------ */

static void test_round_trip(void **state) {
    (void)state;
    char *tok = jwt_sign(SECRET, SECRET_LEN, 1234567, "admin", "family-xyz", NOW);
    assert_non_null(tok);
    assert_true(strlen(tok) <= JWT_MAX_LEN);
    assert_null(strchr(tok, '='));
    struct jwt_claims c;
    memset(&c, 0xAA, sizeof c);
    assert_int_equal(jwt_verify(SECRET, SECRET_LEN, tok, strlen(tok), NOW + 10, &c), JWT_OK);
    assert_int_equal(c.sub, 1234567);
    assert_int_equal(c.iat, NOW);
    assert_int_equal(c.exp, NOW + JWT_ACCESS_TTL_S);
    assert_string_equal(c.role, "admin");
    assert_string_equal(c.sid, "family-xyz");
    assert_int_equal(strlen(c.jti), 22); /* 16 random bytes */
    assert_int_equal(jwt_verify(SECRET, SECRET_LEN, tok, strlen(tok), NOW, NULL), JWT_OK);
    free(tok);
}

static void test_header_is_pinned(void **state) {
    (void)state;
    char *tok = jwt_sign(SECRET, SECRET_LEN, 1, "user", "s", NOW);
    assert_non_null(tok);
    assert_memory_equal(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37);
    free(tok);
}

static void test_jti_unique(void **state) {
    (void)state;
    char *a = jwt_sign(SECRET, SECRET_LEN, 7, "user", "s", NOW);
    char *b = jwt_sign(SECRET, SECRET_LEN, 7, "user", "s", NOW);
    struct jwt_claims ca, cb;
    assert_int_equal(verify_at(a, NOW), JWT_OK);
    assert_int_equal(jwt_verify(SECRET, SECRET_LEN, a, strlen(a), NOW, &ca), JWT_OK);
    assert_int_equal(jwt_verify(SECRET, SECRET_LEN, b, strlen(b), NOW, &cb), JWT_OK);
    assert_string_not_equal(ca.jti, cb.jti);
    free(a);
    free(b);
}

static void test_max_sub(void **state) {
    (void)state;
    char *tok = jwt_sign(SECRET, SECRET_LEN, INT64_MAX, "user", "s", NOW);
    struct jwt_claims c;
    assert_int_equal(jwt_verify(SECRET, SECRET_LEN, tok, strlen(tok), NOW, &c), JWT_OK);
    assert_true(c.sub == INT64_MAX);
    free(tok);
}

static void test_not_nul_terminated(void **state) {
    (void)state;
    char *tok = jwt_sign(SECRET, SECRET_LEN, 5, "user", "s", NOW);
    size_t n = strlen(tok);
    char *copy = malloc(n + 5);
    memcpy(copy, tok, n);
    memcpy(copy + n, "XXXX", 5);
    assert_int_equal(jwt_verify(SECRET, SECRET_LEN, copy, n, NOW, NULL), JWT_OK);
    assert_int_equal(jwt_verify(SECRET, SECRET_LEN, copy, n + 1, NOW, NULL), JWT_INVALID);
    free(copy);
    free(tok);
}

static void test_unknown_header_fields_ok(void **state) {
    (void)state;
    char *tok = forge("{\"alg\":\"HS256\",\"kid\":\"k1\"}", PAY); /* typ absent is fine */
    assert_int_equal(verify(tok), JWT_OK);
    free(tok);
}

static void test_sign_bad_args(void **state) {
    (void)state;
    assert_null(jwt_sign(SECRET, 31, 1, "user", "s", NOW));
    assert_null(jwt_sign(NULL, 32, 1, "user", "s", NOW));
    assert_null(jwt_sign(SECRET, SECRET_LEN, 0, "user", "s", NOW));
    assert_null(jwt_sign(SECRET, SECRET_LEN, -5, "user", "s", NOW));
    assert_null(jwt_sign(SECRET, SECRET_LEN, 1, NULL, "s", NOW));
    assert_null(jwt_sign(SECRET, SECRET_LEN, 1, "", "s", NOW));
    assert_null(jwt_sign(SECRET, SECRET_LEN, 1, "user", NULL, NOW));
    assert_null(jwt_sign(SECRET, SECRET_LEN, 1, "user", "", NOW));
    assert_null(jwt_sign(SECRET, SECRET_LEN, 1, "12345678901234567", "s", NOW));
    char sid[JWT_SID_MAX + 2];
    memset(sid, 'a', sizeof sid - 1);
    sid[sizeof sid - 1] = '\0';
    assert_null(jwt_sign(SECRET, SECRET_LEN, 1, "user", sid, NOW));
    sid[JWT_SID_MAX] = '\0';
    char *tok = jwt_sign(SECRET, SECRET_LEN, 1, "user", sid, NOW);
    assert_non_null(tok);
    free(tok);
    assert_null(jwt_sign(SECRET, SECRET_LEN, 1, "user", "\xff", NOW)); /* not UTF-8 */
    assert_null(jwt_sign(SECRET, SECRET_LEN, 1, "user", "s", -1));
    assert_null(jwt_sign(SECRET, SECRET_LEN, 1, "user", "s", INT64_MAX));
}

/* ---- expiry and time -------------------------------------------------------------------- */

static void test_expired(void **state) {
    (void)state;
    char *tok = jwt_sign(SECRET, SECRET_LEN, 9, "user", "s", NOW);
    struct jwt_claims c;
    memset(&c, 0, sizeof c);
    assert_int_equal(verify_at(tok, NOW + JWT_ACCESS_TTL_S - 1), JWT_OK);
    assert_int_equal(jwt_verify(SECRET, SECRET_LEN, tok, strlen(tok), NOW + JWT_ACCESS_TTL_S, &c),
                     JWT_EXPIRED);
    assert_int_equal(c.sub, 0); /* claims untouched unless JWT_OK */
    assert_int_equal(verify_at(tok, NOW + 100000), JWT_EXPIRED);
    free(tok);
}

static void test_expired_but_forged_is_invalid(void **state) {
    (void)state;
    char *tok = jwt_sign(OTHER, sizeof OTHER - 1, 9, "user", "s", NOW);
    assert_int_equal(verify_at(tok, NOW + 100000), JWT_INVALID);
    free(tok);
    /* expired and with a bad claim: invalid, not expired */
    expect_invalid(forge(HDR, "{\"sub\":\"abc\",\"iat\":1,\"exp\":2,\"jti\":\"j\",\"role\":\"u\","
                              "\"sid\":\"s\"}"));
}

static void test_iat_in_future(void **state) {
    (void)state;
    char *tok = jwt_sign(SECRET, SECRET_LEN, 9, "user", "s", NOW + JWT_CLOCK_SKEW_S);
    assert_int_equal(verify_at(tok, NOW), JWT_OK); /* within the skew */
    free(tok);
    tok = jwt_sign(SECRET, SECRET_LEN, 9, "user", "s", NOW + JWT_CLOCK_SKEW_S + 1);
    assert_int_equal(verify_at(tok, NOW), JWT_INVALID);
    free(tok);
    tok = jwt_sign(SECRET, SECRET_LEN, 9, "user", "s", NOW + 86400 * 365);
    assert_int_equal(verify_at(tok, NOW), JWT_INVALID);
    free(tok);
}

/* ---- forged headers --------------------------------------------------------------------- */

static void test_alg_none(void **state) {
    (void)state;
    const char *none = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
    char *tok = forge(none, PAY);
    char *dot = strrchr(tok, '.');
    expect_invalid(strdup(tok)); /* with a (valid HMAC) signature */
    dot[1] = '\0';
    expect_invalid(strdup(tok)); /* "h.p." */
    dot[0] = '\0';
    expect_invalid(tok); /* "h.p" */
    expect_header_invalid("{\"alg\":\"None\"}");
    expect_header_invalid("{\"alg\":\"\"}");
}

static void test_other_algs(void **state) {
    (void)state;
    expect_header_invalid("{\"alg\":\"HS512\",\"typ\":\"JWT\"}");
    expect_header_invalid("{\"alg\":\"HS384\",\"typ\":\"JWT\"}");
    expect_header_invalid("{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
    expect_header_invalid("{\"alg\":\"ES256\",\"typ\":\"JWT\"}");
    expect_header_invalid("{\"alg\":\"hs256\",\"typ\":\"JWT\"}");
    expect_header_invalid("{\"alg\":\"HS256 \",\"typ\":\"JWT\"}");
    expect_header_invalid("{\"alg\":\"HS2560\",\"typ\":\"JWT\"}");
}

static void test_alg_missing_or_not_string(void **state) {
    (void)state;
    expect_header_invalid("{\"typ\":\"JWT\"}");
    expect_header_invalid("{}");
    expect_header_invalid("{\"alg\":null,\"typ\":\"JWT\"}");
    expect_header_invalid("{\"alg\":256,\"typ\":\"JWT\"}");
    expect_header_invalid("{\"alg\":true}");
    expect_header_invalid("{\"alg\":[\"HS256\"]}");
    expect_header_invalid("{\"alg\":{\"name\":\"HS256\"}}");
    expect_header_invalid("{\"ALG\":\"HS256\"}");
}

static void test_typ_and_crit(void **state) {
    (void)state;
    expect_header_invalid("{\"alg\":\"HS256\",\"typ\":\"XYZ\"}");
    expect_header_invalid("{\"alg\":\"HS256\",\"typ\":\"jwt\"}");
    expect_header_invalid("{\"alg\":\"HS256\",\"typ\":null}");
    expect_header_invalid("{\"alg\":\"HS256\",\"typ\":1}");
    expect_header_invalid("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}");
    expect_header_invalid("{\"alg\":\"HS256\",\"crit\":[]}");
}

static void test_header_not_json(void **state) {
    (void)state;
    expect_header_invalid("alg=HS256");
    expect_header_invalid("{\"alg\":\"HS256\"");
    expect_header_invalid("{\"alg\":\"HS256\"} x");
    expect_header_invalid("[\"HS256\"]");
    expect_header_invalid("\"HS256\"");
    expect_header_invalid("");
}

static void test_duplicate_keys(void **state) {
    (void)state;
    expect_header_invalid("{\"alg\":\"none\",\"alg\":\"HS256\"}");
    expect_header_invalid("{\"alg\":\"HS256\",\"alg\":\"HS256\"}");
    expect_payload_invalid("{\"sub\":\"42\",\"sub\":\"1\",\"iat\":1700000000,\"exp\":1700000900,"
                           "\"jti\":\"a\",\"role\":\"user\",\"sid\":\"f\"}");
    expect_payload_invalid("{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"exp\":9e9,"
                           "\"jti\":\"a\",\"role\":\"user\",\"sid\":\"f\"}");
}

/* ---- forged signatures and structure ---------------------------------------------------- */

static void test_payload_changed(void **state) {
    (void)state;
    char *tok = jwt_sign(SECRET, SECRET_LEN, 42, "user", "s", NOW);
    char *evil = forge(HDR, "{\"sub\":\"1\",\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"a\","
                            "\"role\":\"admin\",\"sid\":\"s\"}");
    /* evil header.payload + the genuine token's signature */
    char *mix = malloc(strlen(tok) + strlen(evil) + 1);
    strcpy(mix, evil);
    strcpy(strrchr(mix, '.'), strrchr(tok, '.'));
    expect_invalid(mix);
    /* flip one payload character of a genuine token */
    char *p = strchr(tok, '.') + 5;
    *p = *p == 'A' ? 'B' : 'A';
    expect_invalid(tok);
    free(evil);
}

static void test_other_secret(void **state) {
    (void)state;
    expect_invalid(forge_v(HDR, PAY, OTHER, sizeof OTHER - 1, V64));
    expect_invalid(forge_v(HDR, PAY, SECRET, SECRET_LEN - 1, V64));
    char *tok = forge(HDR, PAY);
    assert_int_equal(jwt_verify(OTHER, sizeof OTHER - 1, tok, strlen(tok), NOW, NULL), JWT_INVALID);
    assert_int_equal(jwt_verify(SECRET, 31, tok, strlen(tok), NOW, NULL), JWT_INVALID);
    free(tok);
    /* a short secret is refused even when the token was made with that very secret */
    tok = forge_v(HDR, PAY, SECRET, 31, V64);
    assert_int_equal(jwt_verify(SECRET, 31, tok, strlen(tok), NOW + 1, NULL), JWT_INVALID);
    assert_int_equal(jwt_verify(SECRET, 0, tok, strlen(tok), NOW + 1, NULL), JWT_INVALID);
    assert_int_equal(jwt_verify(NULL, 32, tok, strlen(tok), NOW, NULL), JWT_INVALID);
    free(tok);
}

static void test_signature_length(void **state) {
    (void)state;
    char *tok = forge(HDR, PAY);
    assert_int_equal(verify(tok), JWT_OK);
    size_t n = strlen(tok);
    char *t = malloc(n + 8);
    memcpy(t, tok, n + 1);
    t[n - 1] = '\0'; /* truncated by one */
    assert_int_equal(verify(t), JWT_INVALID);
    memcpy(t, tok, n);
    memcpy(t + n, "A", 2); /* extended by one */
    assert_int_equal(verify(t), JWT_INVALID);
    memcpy(t + n, "AAAA", 5); /* extended by four (a whole quantum) */
    assert_int_equal(verify(t), JWT_INVALID);
    memcpy(t, tok, n + 1);
    *strrchr(t, '.') = '\0';
    strcat(t, ".");
    assert_int_equal(verify(t), JWT_INVALID); /* empty signature */
    free(t);
    free(tok);
}

static void test_signature_non_canonical(void **state) {
    (void)state;
    /* 43 chars carry 258 bits: changing the 2 spare bits must not give another valid token */
    char *tok = forge(HDR, PAY);
    size_t n = strlen(tok);
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int idx = (int)(strchr(alpha, tok[n - 1]) - alpha);
    for (int spare = 1; spare < 4; spare++) {
        tok[n - 1] = alpha[idx ^ spare];
        assert_int_equal(verify(tok), JWT_INVALID);
    }
    free(tok);
}

static void test_dots_and_empty_parts(void **state) {
    (void)state;
    char *tok = forge(HDR, PAY);
    size_t n = strlen(tok);
    char *t = malloc(n + 16);
    snprintf(t, n + 16, "%s.", tok);
    assert_int_equal(verify(t), JWT_INVALID);
    snprintf(t, n + 16, "%s.x", tok);
    assert_int_equal(verify(t), JWT_INVALID);
    snprintf(t, n + 16, ".%s", tok);
    assert_int_equal(verify(t), JWT_INVALID);
    free(t);
    const char *bad[] = {"", ".", "..", "...", "a.b", "a..c", ".b.c", "a.b.", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(verify(bad[i]), JWT_INVALID);
    /* empty header or payload, correctly signed */
    *strrchr(tok, '.') = '\0';            /* "h.p" */
    char *s = sign_raw(strchr(tok, '.')); /* ".p" */
    assert_int_equal(verify(s), JWT_INVALID);
    free(s);
    strchr(tok, '.')[1] = '\0'; /* "h." */
    s = sign_raw(tok);
    assert_int_equal(verify(s), JWT_INVALID);
    free(s);
    free(tok);
}

static void test_padding(void **state) {
    (void)state;
    /* both parts in padded base64url, correctly signed over the padded text */
    const char *hdr = "{\"alg\": \"HS256\"}"; /* 16 bytes: "==" when padded */
    expect_invalid(forge_v(hdr, PAY, SECRET, SECRET_LEN, sodium_base64_VARIANT_URLSAFE));
    char *tok = forge(hdr, PAY);
    assert_int_equal(verify(tok), JWT_OK);
    char *dot = strchr(tok, '.');
    size_t n = (size_t)(dot - tok), len = strlen(tok);
    char *t = malloc(len + 4);
    memcpy(t, tok, n);
    memcpy(t + n, "==", 2);              /* the correct padding for 16 bytes */
    memcpy(t + n + 2, dot, len - n + 1); /* "hdr==.pay.sig" with the old signature */
    assert_int_equal(verify(t), JWT_INVALID);
    *strrchr(t, '.') = '\0';
    expect_invalid(sign_raw(t)); /* … and re-signed over "hdr==.pay" */
    memcpy(t, tok, len + 1);
    strcat(t, "="); /* signature padded */
    assert_int_equal(verify(t), JWT_INVALID);
    free(t);
    free(tok);
}

static void test_bad_base64_chars(void **state) {
    (void)state;
    char *tok = forge(HDR, PAY);
    const char *bad = "+/= \t!*\x80";
    size_t n = strchr(tok, '.') - tok;
    for (const char *b = bad; *b; b++) {
        char *t = strdup(tok);
        t[n - 2] = *b; /* in the header, then re-signed so only the alphabet is wrong */
        *strrchr(t, '.') = '\0';
        expect_invalid(sign_raw(t));
        free(t);
        t = strdup(tok);
        t[strlen(t) - 3] = *b; /* in the signature */
        expect_invalid(t);
    }
    char *t = strdup(tok);
    t[3] = '\0'; /* an embedded NUL */
    assert_int_equal(jwt_verify(SECRET, SECRET_LEN, t, strlen(tok), NOW + 1, NULL), JWT_INVALID);
    free(t);
    /* standard-alphabet base64 of headers whose encodings hold '/' and '+', correctly signed */
    t = forge_v("{\"alg\":\"HS256\",\"x\":\"???\"}", PAY, SECRET, SECRET_LEN,
                sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    assert_non_null(memchr(t, '/', (size_t)(strchr(t, '.') - t)));
    expect_invalid(t);
    t = forge_v("{\"alg\":\"HS256\",\"x\":\"~~~\"}", PAY, SECRET, SECRET_LEN,
                sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    assert_non_null(memchr(t, '+', (size_t)(strchr(t, '.') - t)));
    expect_invalid(t);
    /* the same headers in base64url are fine */
    t = forge("{\"alg\":\"HS256\",\"x\":\"???\"}", PAY);
    assert_int_equal(verify(t), JWT_OK);
    free(t);
    free(tok);
}

static void test_payload_not_json(void **state) {
    (void)state;
    expect_payload_invalid("sub=42");
    expect_payload_invalid("");
    expect_payload_invalid("[1,2]");
    expect_payload_invalid("42");
    expect_payload_invalid("{\"sub\":\"42\"");
    expect_payload_invalid("{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"a\","
                           "\"role\":\"user\",\"sid\":\"f\"}garbage");
}

/* ---- forged claims ---------------------------------------------------------------------- */

/* Payload PAY with sub replaced by the JSON text sub_json (or no sub when NULL). */
static void expect_sub_invalid(const char *sub_json) {
    char pay[512];
    if (sub_json)
        snprintf(pay, sizeof pay,
                 "{\"sub\":%s,\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"a\","
                 "\"role\":\"user\",\"sid\":\"f\"}",
                 sub_json);
    else
        snprintf(pay, sizeof pay,
                 "{\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"a\","
                 "\"role\":\"user\",\"sid\":\"f\"}");
    expect_payload_invalid(pay);
}

static void test_bad_sub(void **state) {
    (void)state;
    const char *bad[] = {"42",
                         "\"abc\"",
                         "\"-1\"",
                         "\"0\"",
                         "\"\"",
                         "\"+1\"",
                         "\" 1\"",
                         "\"1 \"",
                         "\"042\"",
                         "\"1.5\"",
                         "\"1e3\"",
                         "null",
                         "[\"1\"]",
                         "\"\\u00001\"",
                         "\"12345678901234567890\"",
                         "\"9223372036854775808\"",
                         "\"9999999999999999999\"",
                         "\"\uff11\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_sub_invalid(bad[i]);
    expect_sub_invalid(NULL);
}

static void test_bad_times(void **state) {
    (void)state;
    const char *tail = "\"jti\":\"a\",\"role\":\"user\",\"sid\":\"f\"}";
    const char *times[] = {
        "\"iat\":1700000000,", /* exp missing */
        "\"exp\":1700000900,", /* iat missing */
        "\"iat\":1700000000,\"exp\":\"1700000900\",",
        "\"iat\":\"1700000000\",\"exp\":1700000900,",
        "\"iat\":1700000000,\"exp\":1700000900.0,",
        "\"iat\":1700000000,\"exp\":null,",
        "\"iat\":1700000000,\"exp\":1700000000,",           /* exp == iat */
        "\"iat\":1700000000,\"exp\":1600000000,",           /* exp < iat */
        "\"iat\":-5,\"exp\":1700000900,",                   /* negative iat */
        "\"iat\":1700000000,\"exp\":99999999999999999999,", /* overflow */
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        char pay[256];
        snprintf(pay, sizeof pay, "{\"sub\":\"42\",%s%s", times[i], tail);
        expect_payload_invalid(pay);
    }
}

static void test_bad_strings(void **state) {
    (void)state;
    const char *base = "\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900";
    const char *rest[] = {
        "\"role\":\"user\",\"sid\":\"f\"}",                            /* jti missing */
        "\"jti\":\"a\",\"sid\":\"f\"}",                                /* role missing */
        "\"jti\":\"a\",\"role\":\"user\"}",                            /* sid missing */
        "\"jti\":7,\"role\":\"user\",\"sid\":\"f\"}",                  /* jti not a string */
        "\"jti\":\"a\",\"role\":1,\"sid\":\"f\"}",                     /* role not a string */
        "\"jti\":\"a\",\"role\":\"user\",\"sid\":[\"f\"]}",            /* sid not a string */
        "\"jti\":\"\",\"role\":\"user\",\"sid\":\"f\"}",               /* empty jti */
        "\"jti\":\"a\",\"role\":\"\",\"sid\":\"f\"}",                  /* empty role */
        "\"jti\":\"a\",\"role\":\"user\",\"sid\":\"\"}",               /* empty sid */
        "\"jti\":\"a\",\"role\":\"12345678901234567\",\"sid\":\"f\"}", /* role 17 bytes */
        "\"jti\":\"0123456789abcdef0123456789abcdef\",\"role\":\"user\",\"sid\":\"f\"}", /* 32 */
        "\"jti\":\"a\",\"role\":\"us\\u0000er\",\"sid\":\"f\"}",                         /* NUL */
    };
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) {
        char pay[256];
        snprintf(pay, sizeof pay, "{%s,%s", base, rest[i]);
        expect_payload_invalid(pay);
    }
    char pay[512], sid[JWT_SID_MAX + 2];
    memset(sid, 's', sizeof sid - 1);
    sid[sizeof sid - 1] = '\0';
    snprintf(pay, sizeof pay, "{%s,\"jti\":\"a\",\"role\":\"user\",\"sid\":\"%s\"}", base, sid);
    expect_payload_invalid(pay);
}

static void test_too_long(void **state) {
    (void)state;
    /* a correctly signed token padded with an extra claim to exactly JWT_MAX_LEN, then one more */
    char pay[2 * JWT_MAX_LEN + 256], pad[JWT_MAX_LEN];
    int saw_max = 0;
    for (size_t fill = 1000;; fill++) {
        memset(pad, 'x', fill);
        pad[fill] = '\0';
        snprintf(pay, sizeof pay,
                 "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"a\","
                 "\"role\":\"user\",\"sid\":\"f\",\"pad\":\"%s\"}",
                 pad);
        char *tok = forge(HDR, pay);
        size_t len = strlen(tok);
        int rc = verify(tok);
        free(tok);
        if (len <= JWT_MAX_LEN) {
            assert_int_equal(rc, JWT_OK);
            saw_max |= len == JWT_MAX_LEN;
        } else {
            assert_int_equal(rc, JWT_INVALID);
            break;
        }
    }
    assert_true(saw_max);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_header_is_pinned),
        cmocka_unit_test(test_jti_unique),
        cmocka_unit_test(test_max_sub),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_unknown_header_fields_ok),
        cmocka_unit_test(test_sign_bad_args),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_expired_but_forged_is_invalid),
        cmocka_unit_test(test_iat_in_future),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_other_algs),
        cmocka_unit_test(test_alg_missing_or_not_string),
        cmocka_unit_test(test_typ_and_crit),
        cmocka_unit_test(test_header_not_json),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_payload_changed),
        cmocka_unit_test(test_other_secret),
        cmocka_unit_test(test_signature_length),
        cmocka_unit_test(test_signature_non_canonical),
        cmocka_unit_test(test_dots_and_empty_parts),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_bad_base64_chars),
        cmocka_unit_test(test_payload_not_json),
        cmocka_unit_test(test_bad_sub),
        cmocka_unit_test(test_bad_times),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_too_long),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
