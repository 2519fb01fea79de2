/* me.c — /api/v1/me: read and edit one's profile, change the password (other sessions are
 * revoked, this one stays), delete the account (messages stay, shown as a deleted user).
 * Requests that wait on the store or argon2id carry a struct me_op; it owns copies of what it
 * needs, wipes plain passwords, and is freed right after the reply.
 */
#include "api/me.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/auth.h"
#include "auth/password.h"
#include "auth/refresh.h"
#include "auth/validate.h"
#include "net/http_reply.h"
#include "util/log.h"

struct me_op {
    http_request *req;
    struct app *app;
    struct jwt_claims claims;
    char *current_password;          /* owned, wiped */
    char *new_password;              /* owned, wiped */
    char email[STORE_EMAIL_MAX + 1]; /* the account's, for the password-guess limit */
    const char *password_field;      /* the body field the checked password came in */
    void (*on_password_ok)(struct me_op *op);
};

static struct me_op *op_new(http_request *req, struct app *app) {
    struct me_op *op = calloc(1, sizeof *op);
    if (!op) {
        http_reply_error(req, ERR_INTERNAL, NULL);
        return NULL;
    }
    op->req = req;
    op->app = app;
    if (api_authenticate(req, app, &op->claims) != 0) {
        free(op);
        return NULL;
    }
    return op;
}

static void wipe_free(char *s) {
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

static void op_free(struct me_op *op) {
    wipe_free(op->current_password);
    wipe_free(op->new_password);
    sodium_memzero(op, sizeof *op);
    free(op);
}

/* The token names an account that no longer exists: the token is no longer good. */
static void reply_user_gone(struct me_op *op, int status) {
    if (status == STORE_ERR_NOT_FOUND)
        http_reply_error(op->req, ERR_TOKEN_INVALID, "This account no longer exists.");
    else
        api_reply_store_error(op->req, status);
    op_free(op);
}

/* A banned account keeps a valid access token for up to 15 minutes: refuse it here too. */
static int reply_if_banned(struct me_op *op, const store_user *u) {
    if (u->banned_until_ms <= api_now_ms())
        return 0;
    char until[32], msg[96];
    api_format_time(u->banned_until_ms, until, sizeof until);
    snprintf(msg, sizeof msg, "This account is banned until %s.", until);
    http_reply_error(op->req, ERR_BANNED, msg);
    op_free(op);
    return 1;
}

/* 1 when the account loaded and is not banned; otherwise answers (and frees op) and gives 0. */
static int account_usable(struct me_op *op, int status, const store_user *u) {
    if (status != STORE_OK) {
        reply_user_gone(op, status);
        return 0;
    }
    return !reply_if_banned(op, u);
}

static void user_id_text(const struct me_op *op, char out[24]) {
    snprintf(out, 24, "%lld", (long long)op->claims.sub);
}

/* ---- GET / PATCH ---- */

static void on_user_for_reply(int status, const store_user *u, void *arg) {
    struct me_op *op = arg;
    if (!account_usable(op, status, u))
        return;
    json_t *user = api_user_json(op->app, u);
    char *text = user ? json_dumps(user, JSON_COMPACT) : NULL;
    json_decref(user);
    if (text)
        http_reply(op->req, 200, "application/json; charset=utf-8", text, strlen(text),
                   API_NO_STORE);
    else
        http_reply_error(op->req, ERR_INTERNAL, NULL);
    free(text);
    op_free(op);
}

static void handle_get_me(http_request *req, void *ctx) {
    struct me_op *op = op_new(req, ctx);
    if (!op)
        return;
    int rc = store_user_by_id(op->app->store, op->claims.sub, on_user_for_reply, op);
    if (rc != 0)
        on_user_for_reply(rc, NULL, op);
}

/* Reads an optional field that may be null (clear) or a string checked by check. */
static void read_nullable(json_t *body, const char *key, const char *(*check)(const char *),
                          int *set, const char **value, json_t *fields) {
    json_t *v = json_object_get(body, key);
    if (!v)
        return;
    *set = 1;
    if (json_is_null(v))
        return;
    const char *s = api_body_string(body, key, 0, fields);
    if (s && s[0] == '\0' && check == validate_bio)
        return; /* an empty bio is no bio */
    const char *why = s ? check(s) : NULL;
    if (why)
        json_object_set_new(fields, key, json_string(why));
    *value = s;
}

static int read_profile_update(http_request *req, struct store_profile_update *u,
                               char nickname[STORE_NICKNAME_MAX + 1]) {
    json_t *fields = json_object();
    json_t *body = req->json;
    const char *nick = api_body_string(body, "nickname", 0, fields);
    const char *why = nick ? validate_nickname(nick, nickname, STORE_NICKNAME_MAX + 1) : NULL;
    if (why)
        json_object_set_new(fields, "nickname", json_string(why));
    else if (nick)
        u->nickname = nickname;
    if (json_is_null(json_object_get(body, "nickname")))
        json_object_set_new(fields, "nickname", json_string("REQUIRED"));
    read_nullable(body, "job", validate_job, &u->set_job, &u->job, fields);
    read_nullable(body, "career", validate_career, &u->set_career, &u->career, fields);
    read_nullable(body, "bio", validate_bio, &u->set_bio, &u->bio, fields);
    return api_reply_if_invalid(req, fields);
}

struct patch_op {
    struct me_op *op;
    struct store_profile_update update;
    char nickname[STORE_NICKNAME_MAX + 1];
    json_t *body; /* keeps the update's strings alive */
};

static void on_user_for_patch(int status, const store_user *u, void *arg) {
    struct patch_op *p = arg;
    struct me_op *op = p->op;
    if (status != STORE_OK)
        reply_user_gone(op, status);
    else if (!reply_if_banned(op, u) &&
             (status = store_user_update_profile(op->app->store, op->claims.sub, &p->update,
                                                 on_user_for_reply, op)) != 0)
        on_user_for_reply(status, NULL, op);
    json_decref(p->body);
    free(p);
}

static void handle_patch_me(http_request *req, void *ctx) {
    struct me_op *op = op_new(req, ctx);
    if (!op)
        return;
    struct patch_op *p = calloc(1, sizeof *p);
    if (!p || read_profile_update(req, &p->update, p->nickname) != 0) {
        if (!p)
            http_reply_error(req, ERR_INTERNAL, NULL);
        free(p);
        op_free(op);
        return;
    }
    p->op = op;
    p->body = json_incref(req->json);
    int rc = store_user_by_id(op->app->store, op->claims.sub, on_user_for_patch, p);
    if (rc != 0)
        on_user_for_patch(rc, NULL, p);
}

/* ---- shared: check a password the user typed against the stored hash ---- */

static void reply_password_problem(struct me_op *op, const char *code, const char *message) {
    http_reply_error_full(op->req, ERR_VALIDATION_FAILED, message,
                          json_pack("{s:s}", op->password_field, code), 0, NULL);
    op_free(op);
}

static void on_password_checked(int result, void *arg) {
    struct me_op *op = arg;
    if (result == PASSWORD_ERROR) {
        api_reply_busy(op->req);
        op_free(op);
    } else if (!result) {
        reply_password_problem(op, "INCORRECT", "The password is not correct.");
    } else {
        api_auth_guess_succeeded(op->app, op->email);
        op->on_password_ok(op);
    }
}

/* Checks op->current_password against u's hash, under the account's password-guess limit;
 * on a match calls then(op), else answers. */
static void check_password(struct me_op *op, const store_user *u, const char *field,
                           void (*then)(struct me_op *op)) {
    op->password_field = field;
    op->on_password_ok = then;
    snprintf(op->email, sizeof op->email, "%s", u->email);
    if (!op->current_password) {
        reply_password_problem(op, "REQUIRED", NULL);
        return;
    }
    if (api_auth_guess_start(op->app, op->req, op->email) != 0) {
        op_free(op);
        return;
    }
    if (password_verify_async(op->app->loop, u->password_hash, op->current_password,
                              on_password_checked, op) != 0) {
        api_reply_busy(op->req);
        op_free(op);
    }
}

/* ---- POST /me/password ---- */

static void on_password_saved(int status, void *arg) {
    struct me_op *op = arg;
    if (status != STORE_OK) {
        reply_user_gone(op, status);
        return;
    }
    char user_id[24];
    user_id_text(op, user_id);
    log_info("password changed; other sessions revoked", "userId", user_id);
    http_reply_no_content(op->req);
    op_free(op);
}

static void on_new_password_hashed(const char *hash, void *arg) {
    struct me_op *op = arg;
    if (!hash) {
        http_reply_error(op->req, ERR_INTERNAL, NULL);
        op_free(op);
        return;
    }
    const char *keep = op->claims.sid[0] ? op->claims.sid : NULL;
    int rc =
        store_user_set_password(op->app->store, op->claims.sub, hash, keep, on_password_saved, op);
    if (rc != 0)
        on_password_saved(rc, op);
}

static void hash_new_password(struct me_op *op) {
    if (password_hash_async(op->app->loop, op->new_password, on_new_password_hashed, op) != 0) {
        api_reply_busy(op->req);
        op_free(op);
    }
}

static void on_user_for_password(int status, const store_user *u, void *arg) {
    struct me_op *op = arg;
    if (!account_usable(op, status, u))
        return;
    op->password_field = "currentPassword";
    if (!u->password_hash) /* a Google-only account has no password to change */
        reply_password_problem(op, "NOT_SET", "This account has no password.");
    else
        check_password(op, u, "currentPassword", hash_new_password);
}

static int read_password_change(struct me_op *op) {
    json_t *fields = json_object();
    const char *current = api_body_string(op->req->json, "currentPassword", 1, fields);
    const char *next = api_body_string(op->req->json, "newPassword", 1, fields);
    const char *why = next ? validate_password(next) : NULL;
    if (why)
        json_object_set_new(fields, "newPassword", json_string(why));
    if (api_reply_if_invalid(op->req, fields) != 0)
        return -1;
    op->current_password = strdup(current);
    op->new_password = strdup(next);
    if (!op->current_password || !op->new_password) {
        http_reply_error(op->req, ERR_INTERNAL, NULL);
        return -1;
    }
    return 0;
}

static void handle_change_password(http_request *req, void *ctx) {
    struct me_op *op = op_new(req, ctx);
    if (!op)
        return;
    if (read_password_change(op) != 0) {
        op_free(op);
        return;
    }
    int rc = store_user_by_id(op->app->store, op->claims.sub, on_user_for_password, op);
    if (rc != 0)
        on_user_for_password(rc, NULL, op);
}

/* ---- DELETE /me ---- */

static void on_deleted(int status, void *arg) {
    struct me_op *op = arg;
    if (status != STORE_OK) {
        reply_user_gone(op, status);
        return;
    }
    char cookie[256], user_id[24];
    refresh_cookie_header(cookie, sizeof cookie, NULL, op->app->cfg->cookie_secure);
    user_id_text(op, user_id);
    log_info("account deleted", "userId", user_id);
    http_reply(op->req, 204, NULL, NULL, 0, cookie);
    op_free(op);
}

static void delete_account(struct me_op *op) {
    int rc = store_user_delete(op->app->store, op->claims.sub, on_deleted, op);
    if (rc != 0)
        on_deleted(rc, op);
}

static void on_user_for_delete(int status, const store_user *u, void *arg) {
    struct me_op *op = arg;
    if (!account_usable(op, status, u))
        return;
    if (!u->password_hash) /* Google-only account: the signed-in session is enough */
        delete_account(op);
    else
        check_password(op, u, "password", delete_account);
}

static void handle_delete_me(http_request *req, void *ctx) {
    struct me_op *op = op_new(req, ctx);
    if (!op)
        return;
    json_t *fields = json_object();
    const char *password = api_body_string(req->json, "password", 0, fields);
    if (api_reply_if_invalid(req, fields) != 0) {
        op_free(op);
        return;
    }
    if (password && !(op->current_password = strdup(password))) {
        http_reply_error(req, ERR_INTERNAL, NULL);
        op_free(op);
        return;
    }
    int rc = store_user_by_id(op->app->store, op->claims.sub, on_user_for_delete, op);
    if (rc != 0)
        on_user_for_delete(rc, NULL, op);
}

int api_me_register(struct app *app) {
    router *r = app->router;
    int rc = router_add(r, ROUTE_METHOD(HTTP_GET), "/api/v1/me", handle_get_me, app, 0);
    rc |= router_add(r, ROUTE_METHOD(HTTP_PATCH), "/api/v1/me", handle_patch_me, app,
                     ROUTE_JSON_BODY);
    rc |= router_add(r, ROUTE_METHOD(HTTP_DELETE), "/api/v1/me", handle_delete_me, app,
                     ROUTE_JSON_BODY);
    rc |= router_add(r, ROUTE_METHOD(HTTP_POST), "/api/v1/me/password", handle_change_password, app,
                     ROUTE_JSON_BODY);
    return rc;
}
