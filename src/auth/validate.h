/* validate.h — the account field rules of SPEC §3.2–3.3, as pure functions (no I/O, no state).
 * Each returns NULL when the value is fine, or the short reason code that goes into a 422's
 * "fields" object ("REQUIRED", "INVALID", "TOO_SHORT", "TOO_LONG", "UNKNOWN").
 * Lengths are counted in Unicode code points of valid UTF-8 (strict: overlong forms, surrogates
 * and code points above U+10FFFF are invalid).
 * "Control characters" (refused in nicknames and bios → "INVALID"): C0 (< U+0020), DEL, C1
 * (U+0080–U+009F), the separators U+2028/U+2029 and the bidi embedding, override and isolate
 * controls U+202A–U+202E and U+2066–U+2069, which can make a name display as another one.
 */
#ifndef CONVO_VALIDATE_H
#define CONVO_VALIDATE_H

#include <stddef.h>

#define PASSWORD_MIN_CHARS 8
#define PASSWORD_MAX_CHARS 128
#define NICKNAME_MIN_CHARS 2
#define NICKNAME_MAX_CHARS 20
#define BIO_MAX_CHARS      300
#define EMAIL_MAX_BYTES    254

/* An address: local@domain, one '@', 1–64 byte local part, a domain with a dot and no empty
 * label, printable ASCII only (no spaces, no control characters), at most EMAIL_MAX_BYTES.
 * NULL or "" → REQUIRED; over EMAIL_MAX_BYTES or a local part over 64 bytes → TOO_LONG; any other
 * fault → INVALID. Not trimmed or case-folded here. */
const char *validate_email(const char *email);
/* 8–128 code points of valid UTF-8, any characters otherwise. NULL or "" → REQUIRED. */
const char *validate_password(const char *password);
/* Trims leading/trailing white space (ASCII space, \t \n \v \f \r and U+3000), then checks:
 * valid UTF-8, 2–20 characters, no control characters (above). On success the trimmed value is
 * copied into out (outlen ≥ strlen(in)+1 is always enough); otherwise out is set to "".
 * NULL, or nothing left after trimming → REQUIRED; out NULL or too small → INVALID. */
const char *validate_nickname(const char *in, char *out, size_t outlen);
/* Up to BIO_MAX_CHARS of valid UTF-8, no control characters (above) except newline and tab
 * (so "\r" is refused). NULL and "" are fine (no bio). */
const char *validate_bio(const char *bio);
/* One of the category ids / career ids in util/catalog.h: NULL → REQUIRED, any other value
 * that is not an id ("" included) → UNKNOWN. */
const char *validate_job(const char *job);
const char *validate_career(const char *career);

#endif
