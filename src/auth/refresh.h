/* refresh.h — refresh-token values and the cookie that carries them. A token is 256 random bits
 * (base64url, 43 characters); only its SHA-256 (hex) is stored. Families group the tokens of one
 * sign-in; their ids are 128 random bits. Pure functions, no I/O.
 */
#ifndef CONVO_REFRESH_H
#define CONVO_REFRESH_H

#include <stddef.h>
#include <stdint.h>

#define REFRESH_TOKEN_BYTES      32
#define REFRESH_TOKEN_LEN        43                        /* base64url, no padding */
#define REFRESH_HASH_LEN         64                        /* hex SHA-256 */
#define REFRESH_FAMILY_LEN       22                        /* base64url of 16 bytes */
#define REFRESH_TTL_MS           (14LL * 24 * 3600 * 1000) /* 14 days, SPEC §3.2 */
#define REFRESH_GRACE_MS         10000                     /* two tabs racing, SPEC §3.2 */
#define REFRESH_COOKIE_NAME      "convo_rt"
#define REFRESH_COOKIE_MAX_AGE_S (14 * 24 * 3600)

void refresh_token_new(char token[REFRESH_TOKEN_LEN + 1]);
void refresh_family_new(char family[REFRESH_FAMILY_LEN + 1]);
void refresh_token_hash(const char *token, size_t len, char hex[REFRESH_HASH_LEN + 1]);

/* Finds convo_rt in a Cookie header value ("a=b; convo_rt=…"). Returns 0 and copies the first
 * well-formed value (exactly 43 base64url characters; malformed ones are skipped), else -1. */
int refresh_cookie_token(const char *header, size_t len, char token[REFRESH_TOKEN_LEN + 1]);

/* "Set-Cookie: …\r\n" setting the token (token NULL: clearing it, Max-Age=0), into out. */
void refresh_cookie_header(char *out, size_t outlen, const char *token, int secure);

#endif
