/* validate.c — the account field rules of SPEC §3.2–3.3 (email, password, nickname, bio, job,
 * career), on top of the strict UTF-8 decoder of util/utf8.h.
 * Owns only pure checks: no I/O, no state, no allocation; must not log the values it sees
 * (a password among them).
 */
#include "auth/validate.h"

#include <stdint.h>
#include <string.h>

#include "util/catalog.h"
#include "util/utf8.h"

#define EMAIL_LOCAL_MAX_BYTES 64

static const char REQUIRED[] = "REQUIRED";
static const char INVALID[] = "INVALID";
static const char TOO_SHORT[] = "TOO_SHORT";
static const char TOO_LONG[] = "TOO_LONG";
static const char UNKNOWN[] = "UNKNOWN";

/* ---- shared text rules ------------------------------------------------------------------ */

/* C0, DEL, C1, the line/paragraph separators and the bidi embedding/override/isolate controls
 * (U+202A–U+202E, U+2066–U+2069), which can make a name display as something else. */
static int validate_forbidden(long cp) {
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x2028 && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* Valid UTF-8 without forbidden code points (newline and tab too when allow_nl_tab), and
 * min..max code points long. */
static const char *validate_text(const char *s, size_t len, int allow_nl_tab, long min, long max) {
    long n = 0;
    for (size_t i = 0; i < len; n++) {
        long cp = utf8_next((const unsigned char *)s, len, &i);
        if (cp < 0)
            return INVALID;
        if (validate_forbidden(cp) && !(allow_nl_tab && (cp == '\n' || cp == '\t')))
            return INVALID;
    }
    if (n < min)
        return TOO_SHORT;
    return n > max ? TOO_LONG : NULL;
}

/* ---- email ------------------------------------------------------------------------------ */

/* At least two labels separated by single dots, none empty. */
static int validate_domain_ok(const char *d, size_t len) {
    if (len == 0 || d[0] == '.' || d[len - 1] == '.')
        return 0;
    const char *dot = memchr(d, '.', len);
    return dot && !memmem(d, len, "..", 2);
}

const char *validate_email(const char *email) {
    if (!email || !*email)
        return REQUIRED;
    size_t len = strlen(email);
    if (len > EMAIL_MAX_BYTES)
        return TOO_LONG;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)email[i] < 0x21 || (unsigned char)email[i] > 0x7E)
            return INVALID;
    const char *at = strchr(email, '@');
    if (!at || at == email || strchr(at + 1, '@'))
        return INVALID;
    if ((size_t)(at - email) > EMAIL_LOCAL_MAX_BYTES)
        return TOO_LONG;
    return validate_domain_ok(at + 1, strlen(at + 1)) ? NULL : INVALID;
}

/* ---- password --------------------------------------------------------------------------- */

const char *validate_password(const char *password) {
    if (!password || !*password)
        return REQUIRED;
    long n = utf8_length(password, strlen(password));
    if (n < 0)
        return INVALID;
    if (n < PASSWORD_MIN_CHARS)
        return TOO_SHORT;
    return n > PASSWORD_MAX_CHARS ? TOO_LONG : NULL;
}

/* ---- nickname --------------------------------------------------------------------------- */

static int validate_ascii_space(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static int validate_ideo_space(const char *p) { /* U+3000 IDEOGRAPHIC SPACE */
    return (unsigned char)p[0] == 0xE3 && (unsigned char)p[1] == 0x80 &&
           (unsigned char)p[2] == 0x80;
}

/* Narrows [*b, *e) past white space at both ends; s is valid UTF-8. */
static void validate_trim(const char *s, size_t *b, size_t *e) {
    for (;;) {
        if (*b < *e && validate_ascii_space((unsigned char)s[*b]))
            *b += 1;
        else if (*e - *b >= 3 && validate_ideo_space(s + *b))
            *b += 3;
        else
            break;
    }
    for (;;) {
        if (*e > *b && validate_ascii_space((unsigned char)s[*e - 1]))
            *e -= 1;
        else if (*e - *b >= 3 && validate_ideo_space(s + *e - 3))
            *e -= 3;
        else
            break;
    }
}

const char *validate_nickname(const char *in, char *out, size_t outlen) {
    if (out && outlen)
        out[0] = '\0';
    if (!in)
        return REQUIRED;
    size_t b = 0, e = strlen(in);
    if (utf8_length(in, e) < 0)
        return INVALID;
    validate_trim(in, &b, &e);
    if (b == e)
        return REQUIRED;
    const char *why = validate_text(in + b, e - b, 0, NICKNAME_MIN_CHARS, NICKNAME_MAX_CHARS);
    if (why)
        return why;
    if (!out || outlen <= e - b)
        return INVALID;
    memcpy(out, in + b, e - b);
    out[e - b] = '\0';
    return NULL;
}

/* ---- bio, job, career ------------------------------------------------------------------- */

const char *validate_bio(const char *bio) {
    if (!bio)
        return NULL;
    return validate_text(bio, strlen(bio), 1, 0, BIO_MAX_CHARS);
}

const char *validate_job(const char *job) {
    if (!job)
        return REQUIRED;
    return catalog_category_index(job) < 0 ? UNKNOWN : NULL;
}

const char *validate_career(const char *career) {
    if (!career)
        return REQUIRED;
    return catalog_career_index(career) < 0 ? UNKNOWN : NULL;
}
