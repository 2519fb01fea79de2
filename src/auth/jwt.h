/* jwt.h — access tokens: JWT with HS256 only (the header's alg is pinned; "none", HS512, RS256,
 * a missing alg or any other spelling is refused), claims sub, iat, exp, jti, role and sid (the
 * refresh family the token was issued with). HMAC and base64url from libsodium; verification
 * compares in constant time and checks the signature before it reads any claim.
 */
#ifndef CONVO_JWT_H
#define CONVO_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_ACCESS_TTL_S 900  /* 15 minutes, SPEC §3.2 */
#define JWT_MAX_LEN      2048 /* longer tokens are refused unread */
#define JWT_SUB_MAX      32   /* decimal user id */
#define JWT_ROLE_MAX     16   /* "user" or "admin" */
#define JWT_SID_MAX      64   /* refresh family id */
#define JWT_CLOCK_SKEW_S 60   /* an iat this far in the future is still accepted */

enum jwt_status {
    JWT_OK = 0,
    JWT_INVALID = -1, /* malformed, bad signature, wrong alg, missing or bad claims */
    JWT_EXPIRED = -2, /* well-formed, correctly signed, exp in the past */
    JWT_NOMEM = -3,
};

struct jwt_claims {
    int64_t sub; /* user id */
    int64_t iat, exp;
    char role[JWT_ROLE_MAX + 1];
    char sid[JWT_SID_MAX + 1];
    char jti[32];
};

/* Signs a token for user sub (> 0) with role (1..JWT_ROLE_MAX bytes) and sid (1..JWT_SID_MAX
 * bytes, both valid UTF-8), issued at now (Unix seconds, ≥ 0), expiring JWT_ACCESS_TTL_S later,
 * with a random jti. Returns a malloc'd NUL-terminated string (caller frees), NULL on allocation
 * failure or bad arguments. secret: at least 32 bytes. */
char *jwt_sign(const unsigned char *secret, size_t secret_len, int64_t sub, const char *role,
               const char *sid, int64_t now);

/* Verifies token (len bytes, not necessarily NUL-terminated) at now; fills claims (may be NULL)
 * on JWT_OK only. Beyond the header rules above: a "typ", when present, must be "JWT"; any "crit"
 * is refused; base64url is strict (no padding, no other alphabet, canonical trailing bits); JSON
 * with duplicate keys is refused. Claims: sub the canonical decimal string of a positive int64
 * (1–19 digits, no sign, no leading zero), iat ≥ 0 and exp > iat integers, iat at most
 * JWT_CLOCK_SKEW_S ahead of now, role, sid and jti non-empty strings within their sizes. A secret
 * shorter than 32 bytes → JWT_INVALID. JWT_EXPIRED (now ≥ exp) only for an otherwise valid token.
 */
int jwt_verify(const unsigned char *secret, size_t secret_len, const char *token, size_t len,
               int64_t now, struct jwt_claims *claims);

#endif
