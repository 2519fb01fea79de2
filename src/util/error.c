/* error.c — the table behind error.h: wire name, HTTP status and default message per code. */
#include "util/error.h"

struct err_info {
    const char *name;
    int status;
    const char *message;
};

static const struct err_info err_table[ERR__COUNT] = {
    [ERR_BAD_REQUEST] = {"BAD_REQUEST", 400, "The request is malformed."},
    [ERR_VALIDATION_FAILED] = {"VALIDATION_FAILED", 422, "Some fields are invalid."},
    [ERR_TOKEN_MISSING] = {"TOKEN_MISSING", 401, "An access token is required."},
    [ERR_TOKEN_INVALID] = {"TOKEN_INVALID", 401, "The access token is invalid."},
    [ERR_TOKEN_EXPIRED] = {"TOKEN_EXPIRED", 401, "The access token has expired."},
    [ERR_REFRESH_INVALID] = {"REFRESH_INVALID", 401, "The session is invalid or has expired."},
    [ERR_REFRESH_REUSED] = {"REFRESH_REUSED", 401, "The session was reused and has been revoked."},
    [ERR_INVALID_CREDENTIALS] = {"INVALID_CREDENTIALS", 401, "Wrong email or password."},
    [ERR_ACCOUNT_EXISTS_LOCAL] = {"ACCOUNT_EXISTS_LOCAL", 409,
                                  "This email has a password account; sign in and link Google."},
    [ERR_ACCOUNT_EXISTS_OAUTH] = {"ACCOUNT_EXISTS_OAUTH", 409,
                                  "This email belongs to a Google account; continue with Google."},
    [ERR_EMAIL_TAKEN] = {"EMAIL_TAKEN", 409, "This email is already registered."},
    [ERR_FORBIDDEN] = {"FORBIDDEN", 403, "You are not allowed to do this."},
    [ERR_BANNED] = {"BANNED", 403, "This account is banned."},
    [ERR_NOT_FOUND] = {"NOT_FOUND", 404, "Not found."},
    [ERR_METHOD_NOT_ALLOWED] = {"METHOD_NOT_ALLOWED", 405, "Method not allowed."},
    [ERR_PAYLOAD_TOO_LARGE] = {"PAYLOAD_TOO_LARGE", 413, "The request body is too large."},
    [ERR_HEADERS_TOO_LARGE] = {"PAYLOAD_TOO_LARGE", 431, "The request headers are too large."},
    [ERR_UNSUPPORTED_MEDIA_TYPE] = {"UNSUPPORTED_MEDIA_TYPE", 415, "The body must be JSON."},
    [ERR_RATE_LIMITED] = {"RATE_LIMITED", 429, "Too many requests; try again later."},
    [ERR_UNAVAILABLE] = {"UNAVAILABLE", 503, "The service is temporarily unavailable."},
    [ERR_INTERNAL] = {"INTERNAL", 500, "Something went wrong on our side."},
};

static const struct err_info *err_lookup(enum err_code code) {
    if ((int)code < 0 || code >= ERR__COUNT)
        code = ERR_INTERNAL;
    return &err_table[code];
}

const char *err_code_name(enum err_code code) {
    return err_lookup(code)->name;
}

int err_http_status(enum err_code code) {
    return err_lookup(code)->status;
}

const char *err_default_message(enum err_code code) {
    return err_lookup(code)->message;
}
