/* auth.c — /api/v1/auth/…: sign-up, log-in, refresh (rotation with a 10 s grace, reuse revokes
 * the family), log-out, log-out everywhere, providers. Each request that waits on the store or
 * on argon2id carries a struct auth_op through its callbacks; the op owns copies of what it
 * needs (plain passwords are wiped) and is freed right after the reply.
 * Never logs a password, token or cookie.
 */
#include "api/auth.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/password.h"
#include "auth/ratelimit.h"
#include "auth/refresh.h"
#include "auth/validate.h"
#include "limits.h"
#include "net/http_reply.h"
#include "util/log.h"
#include "util/metrics.h"

struct api_auth {
    ratelimit *guesses_by_email; /* password attempts per account, reset by a success */
    ratelimit *tries_by_ip;      /* log-in attempts per client address */
    ratelimit *signups_by_ip;    /* sign-ups per client address */
};

struct auth_op {
    http_request *req;
    struct app *app;
    char email[STORE_EMAIL_MAX + 1];
    char *password; /* owned, wiped on free */
    char nickname[STORE_NICKNAME_MAX + 1];
    char stored_hash[PASSWORD_HASH_MAX];
    int has_stored_hash;
    int64_t user_id;
    int64_t banned_until_ms;
    char role[JWT_ROLE_MAX + 1];
    json_t *user; /* USER JSON for the session answer */
    char family[STORE_FAMILY_MAX + 1];
    char token[REFRESH_TOKEN_LEN + 1]; /* the new refresh token, for the cookie */
    int status;                        /* 200 or 201 for the session answer */
};

static int address_limited(http_request *req, struct app *app, ratelimit *rl);

static struct auth_op *op_new(http_request *req, struct app *app) {
    struct auth_op *op = calloc(1, sizeof *op);
    if (!op) {
        http_reply_error(req, ERR_INTERNAL, NULL);
        return NULL;
    }
    op->req = req;
    op->app = app;
    op->status = 200;
    return op;
}

static void op_free(struct auth_op *op) {
    if (op->password) {
        sodium_memzero(op->password, strlen(op->password));
        free(op->password);
    }
    json_decref(op->user);
    sodium_memzero(op, sizeof *op);
    free(op);
}

/* Keeps what the session answer needs from a user row (valid only during a store callback). */
static void op_take_user(struct auth_op *op, const store_user *u) {
    op->user_id = u->id;
    op->banned_until_ms = u->banned_until_ms;
    snprintf(op->role, sizeof op->role, "%s", api_role_for(op->app, u->email));
    json_decref(op->user);
    op->user = api_user_json(op->app, u);
    op->has_stored_hash = u->password_hash && strlen(u->password_hash) < PASSWORD_HASH_MAX;
    if (op->has_stored_hash)
        strcpy(op->stored_hash, u->password_hash);
}

static int cookie_secure(const struct auth_op *op) {
    return op->app->cfg->cookie_secure;
}

/* ---- answers ---- */

static void reply_error_clearing_cookie(struct auth_op *op, enum err_code code, const char *msg) {
    char cookie[256];
    refresh_cookie_header(cookie, sizeof cookie, NULL, cookie_secure(op));
    http_reply_error_full(op->req, code, msg, NULL, 0, cookie);
    op_free(op);
}

static void reply_banned(struct auth_op *op) {
    char until[32], msg[96];
    api_format_time(op->banned_until_ms, until, sizeof until);
    snprintf(msg, sizeof msg, "This account is banned until %s.", until);
    http_reply_error(op->req, ERR_BANNED, msg);
    op_free(op);
}

/* {"accessToken","tokenType","expiresIn","user"} + the rotated cookie; frees op. */
static void reply_session(struct auth_op *op) {
    const struct config *cfg = op->app->cfg;
    char *jwt = jwt_sign((const unsigned char *)cfg->jwt_secret, cfg->jwt_secret_len, op->user_id,
                         op->role, op->family, api_now_s());
    if (!jwt || !op->user) {
        free(jwt);
        http_reply_error(op->req, ERR_INTERNAL, NULL);
        op_free(op);
        return;
    }
    json_t *body = json_pack("{s:s, s:s, s:i, s:O}", "accessToken", jwt, "tokenType", "Bearer",
                             "expiresIn", JWT_ACCESS_TTL_S, "user", op->user);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char cookie[320];
    refresh_cookie_header(cookie, sizeof cookie, op->token, cookie_secure(op));
    strcat(cookie, API_NO_STORE); /* the body carries a token */
    if (text)
        http_reply(op->req, op->status, "application/json; charset=utf-8", text, strlen(text),
                   cookie);
    else
        http_reply_error(op->req, ERR_INTERNAL, NULL);
    sodium_memzero(jwt, strlen(jwt));
    free(jwt);
    free(text);
    json_decref(body);
    op_free(op);
}

/* ---- a new sign-in: a new refresh family ---- */

static void on_family_issued(int status, void *arg) {
    struct auth_op *op = arg;
    if (status != STORE_OK) {
        api_reply_store_error(op->req, status);
        op_free(op);
        return;
    }
    reply_session(op);
}

static void start_session(struct auth_op *op) {
    char hash[REFRESH_HASH_LEN + 1];
    refresh_family_new(op->family);
    refresh_token_new(op->token);
    refresh_token_hash(op->token, REFRESH_TOKEN_LEN, hash);
    int rc = store_refresh_issue(op->app->store, op->user_id, op->family, hash,
                                 api_now_ms() + REFRESH_TTL_MS, on_family_issued, op);
    if (rc != 0)
        on_family_issued(rc, op);
}

/* ---- sign-up ---- */

static void reply_email_conflict(struct auth_op *op, const store_user *existing) {
    enum err_code code = existing && !existing->password_hash && existing->google_sub
                             ? ERR_ACCOUNT_EXISTS_OAUTH
                             : ERR_EMAIL_TAKEN;
    http_reply_error(op->req, code, NULL);
    op_free(op);
}

static void on_user_created(int status, const store_user *u, void *arg) {
    struct auth_op *op = arg;
    if (status == STORE_ERR_CONFLICT) {
        reply_email_conflict(op, u);
        return;
    }
    if (status != STORE_OK) {
        api_reply_store_error(op->req, status);
        op_free(op);
        return;
    }
    op_take_user(op, u);
    log_info("account created", "userId", json_string_value(json_object_get(op->user, "id")));
    start_session(op);
}

static void on_signup_hashed(const char *hash, void *arg) {
    struct auth_op *op = arg;
    if (!hash) {
        http_reply_error(op->req, ERR_INTERNAL, NULL);
        op_free(op);
        return;
    }
    int rc = store_user_create(op->app->store, op->email, hash, op->nickname, on_user_created, op);
    if (rc != 0)
        on_user_created(rc, NULL, op);
}

static void on_signup_lookup(int status, const store_user *u, void *arg) {
    struct auth_op *op = arg;
    if (status == STORE_OK) {
        reply_email_conflict(op, u);
        return;
    }
    if (status != STORE_ERR_NOT_FOUND) {
        api_reply_store_error(op->req, status);
        op_free(op);
        return;
    }
    if (password_hash_async(op->app->loop, op->password, on_signup_hashed, op) != 0) {
        api_reply_busy(op->req);
        op_free(op);
    }
}

/* Reads and checks the sign-up fields into op; answers 422 listing every bad field. */
static int signup_read_body(struct auth_op *op, json_t *body) {
    json_t *fields = json_object();
    const char *email = api_body_string(body, "email", 1, fields);
    const char *password = api_body_string(body, "password", 1, fields);
    const char *nickname = api_body_string(body, "nickname", 1, fields);
    const char *why;
    if (email && (why = validate_email(email)))
        json_object_set_new(fields, "email", json_string(why));
    if (password && (why = validate_password(password)))
        json_object_set_new(fields, "password", json_string(why));
    if (nickname && (why = validate_nickname(nickname, op->nickname, sizeof op->nickname)))
        json_object_set_new(fields, "nickname", json_string(why));
    if (api_reply_if_invalid(op->req, fields) != 0)
        return -1;
    snprintf(op->email, sizeof op->email, "%s", email);
    op->password = strdup(password);
    if (!op->password) {
        http_reply_error(op->req, ERR_INTERNAL, NULL);
        return -1;
    }
    return 0;
}

static void handle_signup(http_request *req, void *ctx) {
    struct auth_op *op = op_new(req, ctx);
    if (!op)
        return;
    op->status = 201;
    if (signup_read_body(op, req->json) != 0 ||
        address_limited(req, op->app, op->app->auth->signups_by_ip)) {
        op_free(op);
        return;
    }
    int rc = store_user_by_email(op->app->store, op->email, on_signup_lookup, op);
    if (rc != 0)
        on_signup_lookup(rc, NULL, op);
}

/* ---- password guesses: one limit per account for log-in, password change and deletion ---- */

static void email_key(const char *email, char out[STORE_EMAIL_MAX + 1]) {
    size_t i = 0;
    for (; email[i] && i < STORE_EMAIL_MAX; i++)
        out[i] = (email[i] >= 'A' && email[i] <= 'Z') ? (char)(email[i] - 'A' + 'a') : email[i];
    out[i] = '\0';
}

static uint64_t retry_after_s(uint64_t wait_ms) {
    return (wait_ms + 999) / 1000;
}

int api_auth_guess_start(struct app *app, http_request *req, const char *email) {
    char key[STORE_EMAIL_MAX + 1];
    uint64_t now = uv_now(app->loop);
    email_key(email, key);
    uint64_t wait = ratelimit_check(app->auth->guesses_by_email, key, strlen(key), now);
    if (wait > 0) {
        metrics_limit_hit(LIMIT_LOGIN_RATE);
        log_warn("password guesses limited for an account");
        http_reply_error_full(req, ERR_RATE_LIMITED, "Too many password attempts; try later.", NULL,
                              (int)retry_after_s(wait), NULL);
        return -1;
    }
    ratelimit_hit(app->auth->guesses_by_email, key, strlen(key), now);
    return 0;
}

void api_auth_guess_succeeded(struct app *app, const char *email) {
    char key[STORE_EMAIL_MAX + 1];
    email_key(email, key);
    ratelimit_reset(app->auth->guesses_by_email, key, strlen(key));
}

/* Answers 429 when the client's address is over one of its limits; else counts the attempt. */
static int address_limited(http_request *req, struct app *app, ratelimit *rl) {
    char ip[API_CLIENT_IP_MAX];
    uint64_t now = uv_now(app->loop);
    api_client_ip(req, ip);
    uint64_t wait = ratelimit_check(rl, ip, strlen(ip), now);
    if (wait > 0) {
        metrics_limit_hit(LIMIT_LOGIN_RATE);
        http_reply_error_full(req, ERR_RATE_LIMITED, "Too many attempts from here; try later.",
                              NULL, (int)retry_after_s(wait), NULL);
        return 1;
    }
    ratelimit_hit(rl, ip, strlen(ip), now);
    return 0;
}

/* ---- log-in ---- */

static void on_login_verified(int result, void *arg) {
    struct auth_op *op = arg;
    if (result == PASSWORD_ERROR) {
        api_reply_busy(op->req);
    } else if (!result) {
        http_reply_error(op->req, ERR_INVALID_CREDENTIALS, NULL);
    } else if (op->banned_until_ms > api_now_ms()) {
        reply_banned(op);
        return;
    } else {
        api_auth_guess_succeeded(op->app, op->email);
        start_session(op);
        return;
    }
    op_free(op);
}

static void on_login_lookup(int status, const store_user *u, void *arg) {
    struct auth_op *op = arg;
    if (status != STORE_OK && status != STORE_ERR_NOT_FOUND) {
        api_reply_store_error(op->req, status);
        op_free(op);
        return;
    }
    if (status == STORE_OK)
        op_take_user(op, u);
    const char *hash = op->has_stored_hash ? op->stored_hash : NULL;
    if (password_verify_async(op->app->loop, hash, op->password, on_login_verified, op) != 0) {
        api_reply_busy(op->req);
        op_free(op);
    }
}

/* Reads {email, password} into op, or answers 422 (every missing or bad field). */
static int login_read_body(struct auth_op *op, json_t *body) {
    json_t *fields = json_object();
    const char *email = api_body_string(body, "email", 1, fields);
    const char *password = api_body_string(body, "password", 1, fields);
    if (email && !email[0])
        json_object_set_new(fields, "email", json_string("REQUIRED"));
    else if (email && strlen(email) > STORE_EMAIL_MAX)
        json_object_set_new(fields, "email", json_string("INVALID"));
    if (password && !password[0])
        json_object_set_new(fields, "password", json_string("REQUIRED"));
    else if (password && strlen(password) > 4 * PASSWORD_MAX_CHARS)
        json_object_set_new(fields, "password", json_string("INVALID"));
    if (api_reply_if_invalid(op->req, fields) != 0)
        return -1;
    snprintf(op->email, sizeof op->email, "%s", email);
    if (!(op->password = strdup(password))) {
        http_reply_error(op->req, ERR_INTERNAL, NULL);
        return -1;
    }
    return 0;
}

static void handle_login(http_request *req, void *ctx) {
    struct auth_op *op = op_new(req, ctx);
    if (!op)
        return;
    if (login_read_body(op, req->json) != 0 ||
        address_limited(req, op->app, op->app->auth->tries_by_ip) ||
        api_auth_guess_start(op->app, req, op->email) != 0) {
        op_free(op);
        return;
    }
    int rc = store_user_by_email(op->app->store, op->email, on_login_lookup, op);
    if (rc != 0)
        on_login_lookup(rc, NULL, op);
}

/* ---- refresh and log-out (cookie based; Origin checked against CSRF) ---- */

/* Answers FORBIDDEN when an Origin header is present and not allowed. */
static int origin_refused(http_request *req, struct app *app) {
    size_t len = 0;
    const char *origin = http_request_header(req, "origin", &len);
    if (!origin || config_origin_allowed(app->cfg, origin, len))
        return 0;
    http_reply_error(req, ERR_FORBIDDEN, "This origin may not use the session cookie.");
    return 1;
}

static int read_cookie_token(http_request *req, char token[REFRESH_TOKEN_LEN + 1]) {
    size_t len = 0;
    const char *cookie = http_request_header(req, "cookie", &len);
    return refresh_cookie_token(cookie, len, token);
}

static void on_rotated(int status, const store_refresh_result *r, void *arg) {
    struct auth_op *op = arg;
    if (status == STORE_ERR_REFRESH_REUSED) {
        char user_id[24];
        snprintf(user_id, sizeof user_id, "%lld", r ? (long long)r->user.id : 0LL);
        log_warn("refresh token reused; family revoked", "userId", user_id);
        reply_error_clearing_cookie(op, ERR_REFRESH_REUSED, NULL);
        return;
    }
    if (status == STORE_ERR_NOT_FOUND) {
        reply_error_clearing_cookie(op, ERR_REFRESH_INVALID, NULL);
        return;
    }
    if (status != STORE_OK) {
        api_reply_store_error(op->req, status);
        op_free(op);
        return;
    }
    op_take_user(op, &r->user);
    snprintf(op->family, sizeof op->family, "%s", r->family);
    if (op->banned_until_ms > api_now_ms())
        reply_banned(op);
    else
        reply_session(op);
}

static void handle_refresh(http_request *req, void *ctx) {
    struct app *app = ctx;
    char old_token[REFRESH_TOKEN_LEN + 1], old_hash[REFRESH_HASH_LEN + 1];
    char new_hash[REFRESH_HASH_LEN + 1];
    if (origin_refused(req, app))
        return;
    struct auth_op *op = op_new(req, app);
    if (!op)
        return;
    if (read_cookie_token(req, old_token) != 0) {
        reply_error_clearing_cookie(op, ERR_REFRESH_INVALID, NULL);
        return;
    }
    refresh_token_hash(old_token, REFRESH_TOKEN_LEN, old_hash);
    sodium_memzero(old_token, sizeof old_token);
    refresh_token_new(op->token);
    refresh_token_hash(op->token, REFRESH_TOKEN_LEN, new_hash);
    int rc = store_refresh_rotate(app->store, old_hash, new_hash, REFRESH_TTL_MS, REFRESH_GRACE_MS,
                                  on_rotated, op);
    if (rc != 0)
        on_rotated(rc, NULL, op);
}

static void on_logged_out(int status, void *arg) {
    struct auth_op *op = arg;
    if (status != STORE_OK && status != STORE_ERR_NOT_FOUND) {
        api_reply_store_error(op->req, status);
        op_free(op);
        return;
    }
    char cookie[256];
    refresh_cookie_header(cookie, sizeof cookie, NULL, cookie_secure(op));
    http_reply(op->req, 204, NULL, NULL, 0, cookie);
    op_free(op);
}

static void handle_logout(http_request *req, void *ctx) {
    struct app *app = ctx;
    char token[REFRESH_TOKEN_LEN + 1], hash[REFRESH_HASH_LEN + 1];
    if (origin_refused(req, app))
        return;
    struct auth_op *op = op_new(req, app);
    if (!op)
        return;
    if (read_cookie_token(req, token) != 0) {
        on_logged_out(STORE_OK, op); /* nothing to revoke: still clear the cookie */
        return;
    }
    refresh_token_hash(token, REFRESH_TOKEN_LEN, hash);
    sodium_memzero(token, sizeof token);
    int rc = store_refresh_revoke_family(app->store, hash, on_logged_out, op);
    if (rc != 0)
        on_logged_out(rc, op);
}

static void handle_logout_all(http_request *req, void *ctx) {
    struct app *app = ctx;
    struct jwt_claims claims;
    if (api_authenticate(req, app, &claims) != 0)
        return;
    struct auth_op *op = op_new(req, app);
    if (!op)
        return;
    int rc = store_refresh_revoke_user(app->store, claims.sub, on_logged_out, op);
    if (rc != 0)
        on_logged_out(rc, op);
}

static void handle_providers(http_request *req, void *ctx) {
    (void)ctx;
    /* Google sign-in comes with its own issue; until then no provider is offered. */
    http_reply_json(req, 200, json_pack("{s:[]}", "providers"));
}

/* ---- registration ---- */

int api_auth_register(struct app *app) {
    struct api_auth *auth = calloc(1, sizeof *auth);
    if (!auth)
        return -1;
    auth->guesses_by_email =
        ratelimit_new(LOGIN_LIMITER_KEYS, LOGIN_FAILS_PER_EMAIL, LOGIN_FAILS_WINDOW_MS);
    auth->tries_by_ip =
        ratelimit_new(LOGIN_LIMITER_KEYS, LOGIN_ATTEMPTS_PER_IP, LOGIN_ATTEMPTS_WINDOW_MS);
    auth->signups_by_ip = ratelimit_new(LOGIN_LIMITER_KEYS, SIGNUPS_PER_IP, SIGNUPS_WINDOW_MS);
    app->auth = auth;
    if (!auth->guesses_by_email || !auth->tries_by_ip || !auth->signups_by_ip)
        return -1;
    uint64_t post = ROUTE_METHOD(HTTP_POST), get = ROUTE_METHOD(HTTP_GET);
    router *r = app->router;
    int rc = router_add(r, post, "/api/v1/auth/signup", handle_signup, app, ROUTE_JSON_BODY);
    rc |= router_add(r, post, "/api/v1/auth/login", handle_login, app, ROUTE_JSON_BODY);
    rc |= router_add(r, post, "/api/v1/auth/refresh", handle_refresh, app, 0);
    rc |= router_add(r, post, "/api/v1/auth/logout", handle_logout, app, 0);
    rc |= router_add(r, post, "/api/v1/auth/logout-all", handle_logout_all, app, 0);
    rc |= router_add(r, get, "/api/v1/auth/providers", handle_providers, app, 0);
    return rc;
}

void api_auth_free(struct app *app) {
    struct api_auth *auth = app->auth;
    if (!auth)
        return;
    ratelimit_free(auth->guesses_by_email);
    ratelimit_free(auth->tries_by_ip);
    ratelimit_free(auth->signups_by_ip);
    free(auth);
    app->auth = NULL;
}
