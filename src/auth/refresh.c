/* refresh.c — refresh-token values, their hashes, and the convo_rt cookie (see refresh.h). */
#include "auth/refresh.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static void random_b64url(char *out, size_t out_size, size_t nbytes) {
    unsigned char raw[REFRESH_TOKEN_BYTES];
    randombytes_buf(raw, nbytes);
    sodium_bin2base64(out, out_size, raw, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

void refresh_token_new(char token[REFRESH_TOKEN_LEN + 1]) {
    random_b64url(token, REFRESH_TOKEN_LEN + 1, REFRESH_TOKEN_BYTES);
}

void refresh_family_new(char family[REFRESH_FAMILY_LEN + 1]) {
    random_b64url(family, REFRESH_FAMILY_LEN + 1, 16);
}

void refresh_token_hash(const char *token, size_t len, char hex[REFRESH_HASH_LEN + 1]) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)token, len);
    sodium_bin2hex(hex, REFRESH_HASH_LEN + 1, digest, sizeof digest);
}

static int is_b64url(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* A well-formed token value at v (up to end): exactly REFRESH_TOKEN_LEN base64url characters. */
static size_t token_value_len(const char *v, const char *end) {
    size_t n = 0;
    while (v + n < end && v[n] != ';' && v[n] != ' ')
        n++;
    if (n != REFRESH_TOKEN_LEN)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (!is_b64url(v[k]))
            return 0;
    return n;
}

/* Takes the first well-formed convo_rt value: a malformed one (planted by a sibling domain, say)
 * is skipped rather than allowed to hide the real cookie. */
int refresh_cookie_token(const char *header, size_t len, char token[REFRESH_TOKEN_LEN + 1]) {
    static const char name[] = REFRESH_COOKIE_NAME "=";
    size_t name_len = sizeof name - 1;
    for (size_t i = 0; header && i + name_len <= len; i++) {
        if ((i > 0 && header[i - 1] != ' ' && header[i - 1] != ';') ||
            memcmp(header + i, name, name_len) != 0)
            continue;
        const char *v = header + i + name_len;
        size_t n = token_value_len(v, header + len);
        if (n == 0)
            continue;
        memcpy(token, v, n);
        token[n] = '\0';
        return 0;
    }
    return -1;
}

void refresh_cookie_header(char *out, size_t outlen, const char *token, int secure) {
    snprintf(out, outlen,
             "Set-Cookie: " REFRESH_COOKIE_NAME
             "=%s; HttpOnly; SameSite=Strict; Path=/api/v1/auth; "
             "Max-Age=%d%s\r\n",
             token ? token : "", token ? REFRESH_COOKIE_MAX_AGE_S : 0, secure ? "; Secure" : "");
}
