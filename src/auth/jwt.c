/* jwt.c — HS256 access tokens (SPEC §3.2): signs and verifies compact JWTs.
 * Owns the token format: the pinned header, strict base64url, the HMAC and the claim rules.
 * Must not: accept any alg but HS256, read a claim before the signature is verified, compare
 * MACs in variable time, log or print tokens or secrets, keep state between calls.
 */
#include "auth/jwt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#define JWT_SECRET_MIN  32
#define JWT_B64         sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define JWT_MAC_BYTES   crypto_auth_hmacsha256_BYTES
#define JWT_SIG_CHARS   43 /* base64url of 32 bytes, no padding */
#define JWT_SUB_DIGITS  19 /* INT64_MAX has 19 digits */
#define JWT_JTI_BYTES   16
#define JWT_JTI_MAX     (sizeof(((struct jwt_claims *)0)->jti) - 1)
#define JWT_B64_LEN(n)  sodium_base64_ENCODED_LEN((n), JWT_B64)
#define JWT_HEADER_JSON "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* Offsets and lengths of the three dot-separated parts of a token. */
struct jwt_parts {
    size_t hdr_len;
    size_t pay_off, pay_len;
    size_t sig_off, sig_len;
};

static void jwt_mac(const unsigned char *secret, size_t secret_len, const char *msg, size_t len,
                    unsigned char out[JWT_MAC_BYTES]) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, secret, secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

/* ---- signing ---------------------------------------------------------------------------- */

static int jwt_sign_args_ok(const unsigned char *secret, size_t secret_len, int64_t sub,
                            const char *role, const char *sid, int64_t now) {
    if (!secret || secret_len < JWT_SECRET_MIN || sub <= 0 || !role || !sid)
        return 0;
    size_t rl = strlen(role), sl = strlen(sid);
    if (rl == 0 || rl > JWT_ROLE_MAX || sl == 0 || sl > JWT_SID_MAX)
        return 0;
    return now >= 0 && now <= INT64_MAX - JWT_ACCESS_TTL_S;
}

/* The claims as compact JSON (malloc'd), or NULL. */
static char *jwt_payload_json(int64_t sub, const char *role, const char *sid, int64_t now) {
    unsigned char rnd[JWT_JTI_BYTES];
    char jti[JWT_B64_LEN(JWT_JTI_BYTES)];
    char subs[24];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2base64(jti, sizeof jti, rnd, sizeof rnd, JWT_B64);
    snprintf(subs, sizeof subs, "%" PRId64, sub);
    json_t *o =
        json_pack("{s:s, s:I, s:I, s:s, s:s, s:s}", "sub", subs, "iat", (json_int_t)now, "exp",
                  (json_int_t)(now + JWT_ACCESS_TTL_S), "jti", jti, "role", role, "sid", sid);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* Appends base64url(bin) at tok + *n (room for it checked by the caller). */
static void jwt_put_b64(char *tok, size_t *n, const void *bin, size_t len) {
    size_t room = JWT_B64_LEN(len);
    sodium_bin2base64(tok + *n, room, bin, len, JWT_B64);
    *n += room - 1;
}

/* header.payload.signature for the given payload JSON (malloc'd), or NULL. */
static char *jwt_assemble(const unsigned char *secret, size_t secret_len, const char *payload) {
    size_t hlen = sizeof JWT_HEADER_JSON - 1, plen = strlen(payload);
    char *tok = malloc(JWT_B64_LEN(hlen) + JWT_B64_LEN(plen) + JWT_B64_LEN(JWT_MAC_BYTES));
    if (!tok)
        return NULL;
    unsigned char mac[JWT_MAC_BYTES];
    size_t n = 0;
    jwt_put_b64(tok, &n, JWT_HEADER_JSON, hlen);
    tok[n++] = '.';
    jwt_put_b64(tok, &n, payload, plen);
    jwt_mac(secret, secret_len, tok, n, mac);
    tok[n++] = '.';
    jwt_put_b64(tok, &n, mac, sizeof mac);
    return tok;
}

char *jwt_sign(const unsigned char *secret, size_t secret_len, int64_t sub, const char *role,
               const char *sid, int64_t now) {
    if (!jwt_sign_args_ok(secret, secret_len, sub, role, sid, now) || sodium_init() < 0)
        return NULL;
    char *payload = jwt_payload_json(sub, role, sid, now);
    if (!payload)
        return NULL;
    char *tok = jwt_assemble(secret, secret_len, payload);
    free(payload);
    if (tok && strlen(tok) > JWT_MAX_LEN) {
        free(tok);
        return NULL;
    }
    return tok;
}

/* ---- verification ----------------------------------------------------------------------- */

/* Exactly three non-empty parts separated by two dots. */
static int jwt_split(const char *tok, size_t len, struct jwt_parts *p) {
    const char *d1 = memchr(tok, '.', len);
    if (!d1)
        return -1;
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
        return -1;
    p->hdr_len = (size_t)(d1 - tok);
    p->pay_off = p->hdr_len + 1;
    p->pay_len = (size_t)(d2 - d1 - 1);
    p->sig_off = (size_t)(d2 + 1 - tok);
    p->sig_len = len - p->sig_off;
    return p->hdr_len && p->pay_len && p->sig_len ? 0 : -1;
}

/* Strict base64url → JSON object (caller decrefs), or NULL. */
static json_t *jwt_decode_object(const char *b64, size_t len) {
    unsigned char buf[JWT_MAX_LEN];
    size_t n = 0;
    if (sodium_base642bin(buf, sizeof buf, b64, len, NULL, &n, NULL, JWT_B64) != 0)
        return NULL;
    json_error_t err;
    json_t *j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &err);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int jwt_string_is(const json_t *v, const char *want) {
    return json_is_string(v) && json_string_length(v) == strlen(want) &&
           strcmp(json_string_value(v), want) == 0;
}

/* alg pinned to "HS256", typ absent or "JWT", no crit. */
static int jwt_check_header(const char *b64, size_t len) {
    json_t *h = jwt_decode_object(b64, len);
    if (!h)
        return -1;
    const json_t *typ = json_object_get(h, "typ");
    int ok = jwt_string_is(json_object_get(h, "alg"), "HS256") &&
             (!typ || jwt_string_is(typ, "JWT")) && !json_object_get(h, "crit");
    json_decref(h);
    return ok ? 0 : -1;
}

static int jwt_check_signature(const unsigned char *secret, size_t secret_len, const char *tok,
                               const struct jwt_parts *p) {
    unsigned char sig[JWT_MAC_BYTES], mac[JWT_MAC_BYTES];
    size_t n = 0;
    if (p->sig_len != JWT_SIG_CHARS ||
        sodium_base642bin(sig, sizeof sig, tok + p->sig_off, p->sig_len, NULL, &n, NULL, JWT_B64) !=
            0 ||
        n != sizeof sig)
        return -1;
    jwt_mac(secret, secret_len, tok, p->sig_off - 1, mac);
    return crypto_verify_32(sig, mac);
}

/* sub: the canonical decimal form of a positive int64 (1–19 digits, no sign, no leading 0). */
static int jwt_read_sub(const json_t *v, int64_t *out) {
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len > JWT_SUB_DIGITS || s[0] == '0')
        return -1;
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (uint64_t)(s[i] - '0'); /* 19 digits fit in uint64_t */
    }
    if (n > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)n;
    return 0;
}

/* A string of 1..max bytes with no NUL, copied into dst (max + 1 bytes). */
static int jwt_read_string(const json_t *v, char *dst, size_t max) {
    if (!json_is_string(v))
        return -1;
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0 || len > max || memchr(s, '\0', len))
        return -1;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

static int jwt_read_times(const json_t *o, int64_t now, struct jwt_claims *c) {
    const json_t *iat = json_object_get(o, "iat"), *exp = json_object_get(o, "exp");
    if (!json_is_integer(iat) || !json_is_integer(exp))
        return -1;
    c->iat = (int64_t)json_integer_value(iat);
    c->exp = (int64_t)json_integer_value(exp);
    if (c->iat < 0 || c->exp <= c->iat)
        return -1;
    if (c->iat > now && (uint64_t)c->iat - (uint64_t)now > JWT_CLOCK_SKEW_S)
        return -1;
    return 0;
}

static int jwt_read_claims(const json_t *o, int64_t now, struct jwt_claims *c) {
    if (jwt_read_sub(json_object_get(o, "sub"), &c->sub) < 0 || jwt_read_times(o, now, c) < 0 ||
        jwt_read_string(json_object_get(o, "role"), c->role, JWT_ROLE_MAX) < 0 ||
        jwt_read_string(json_object_get(o, "sid"), c->sid, JWT_SID_MAX) < 0 ||
        jwt_read_string(json_object_get(o, "jti"), c->jti, JWT_JTI_MAX) < 0)
        return JWT_INVALID;
    return now >= c->exp ? JWT_EXPIRED : JWT_OK;
}

int jwt_verify(const unsigned char *secret, size_t secret_len, const char *token, size_t len,
               int64_t now, struct jwt_claims *claims) {
    struct jwt_parts p;
    if (!secret || secret_len < JWT_SECRET_MIN || !token || len > JWT_MAX_LEN ||
        jwt_split(token, len, &p) < 0 || jwt_check_header(token, p.hdr_len) < 0 ||
        jwt_check_signature(secret, secret_len, token, &p) < 0)
        return JWT_INVALID;
    json_t *o = jwt_decode_object(token + p.pay_off, p.pay_len);
    if (!o)
        return JWT_INVALID;
    struct jwt_claims c;
    memset(&c, 0, sizeof c);
    int rc = jwt_read_claims(o, now, &c);
    json_decref(o);
    if (rc == JWT_OK && claims)
        *claims = c;
    return rc;
}
