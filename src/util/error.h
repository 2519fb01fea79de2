/* error.h — the error codes of SPEC §3.1: one enum, each with its wire name, HTTP status and a
 * default English message. Handlers return these as values; net/http_reply.c turns them into
 * the one JSON error shape. Nothing here allocates.
 */
#ifndef CONVO_ERROR_H
#define CONVO_ERROR_H

enum err_code {
    ERR_BAD_REQUEST = 0,
    ERR_VALIDATION_FAILED,
    ERR_TOKEN_MISSING,
    ERR_TOKEN_INVALID,
    ERR_TOKEN_EXPIRED,
    ERR_REFRESH_INVALID,
    ERR_REFRESH_REUSED,
    ERR_INVALID_CREDENTIALS,
    ERR_ACCOUNT_EXISTS_LOCAL,
    ERR_ACCOUNT_EXISTS_OAUTH,
    ERR_EMAIL_TAKEN,
    ERR_FORBIDDEN,
    ERR_BANNED,
    ERR_NOT_FOUND,
    ERR_METHOD_NOT_ALLOWED,
    ERR_PAYLOAD_TOO_LARGE,
    ERR_HEADERS_TOO_LARGE, /* wire code PAYLOAD_TOO_LARGE, status 431 */
    ERR_UNSUPPORTED_MEDIA_TYPE,
    ERR_RATE_LIMITED,
    ERR_UNAVAILABLE,
    ERR_INTERNAL,
    ERR__COUNT
};

const char *err_code_name(enum err_code code);
int err_http_status(enum err_code code);
const char *err_default_message(enum err_code code);

#endif
