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
#include "auth/password.h"
#include "auth/refresh.h"
#include "auth/validate.h"
#include "net/http_reply.h"
#include "util/log.h"

struct me_op {
    http_request *req;
    struct app *app;
    struct jwt_claims claims;
    char *current_password; /* owned, wiped */
    char *new_password;     /* owned, wiped */
    char stored_hash[PASSWORD_HASH_MAX];
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

/* ---- GET / PATCH ---- */

static void on_user_for_reply(int status, const store_user *u, void *arg) {
    struct me_op *op = arg;
    if (status != STORE_OK) {
        reply_user_gone(op, status);
        return;
    }
    http_reply_json(op->req, 200, api_user_json(op->app, u));
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

static void handle_patch_me(http_request *req, void *ctx) {
    struct me_op *op = op_new(req, ctx);
    if (!op)
        return;
    struct store_profile_update u = {0};
    char nickname[STORE_NICKNAME_MAX + 1];
    if (read_profile_update(req, &u, nickname) != 0) {
        op_free(op);
        return;
    }
    int rc = store_user_update_profile(op->app->store, op->claims.sub, &u, on_user_for_reply, op);
    if (rc != 0)
        on_user_for_reply(rc, NULL, op);
}

/* ---- shared: check the current password against the stored hash ---- */

static void reply_password_incorrect(struct me_op *op, const char *field) {
    json_t *fields = json_pack("{s:s}", field, "INCORRECT");
    http_reply_error_full(op->req, ERR_VALIDATION_FAILED, "The password is not correct.", fields, 0,
                          NULL);
    op_free(op);
}

static void reply_busy(struct me_op *op) {
    http_reply_error_full(op->req, ERR_UNAVAILABLE, "Too many password checks at once; try again.",
                          NULL, 1, NULL);
    op_free(op);
}

/* ---- POST /me/password ---- */

static void on_password_saved(int status, void *arg) {
    struct me_op *op = arg;
    if (status != STORE_OK) {
        reply_user_gone(op, status);
        return;
    }
    log_info("password changed; other sessions revoked");
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

static void on_current_password_checked(int match, void *arg) {
    struct me_op *op = arg;
    if (!match) {
        reply_password_incorrect(op, "currentPassword");
        return;
    }
    if (password_hash_async(op->app->loop, op->new_password, on_new_password_hashed, op) != 0)
        reply_busy(op);
}

static void on_user_for_password(int status, const store_user *u, void *arg) {
    struct me_op *op = arg;
    if (status != STORE_OK) {
        reply_user_gone(op, status);
        return;
    }
    const char *hash = u->password_hash;
    if (password_verify_async(op->app->loop, hash, op->current_password,
                              on_current_password_checked, op) != 0)
        reply_busy(op);
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
    char cookie[256];
    refresh_cookie_header(cookie, sizeof cookie, NULL, op->app->cfg->cookie_secure);
    log_info("account deleted");
    http_reply(op->req, 204, NULL, NULL, 0, cookie);
    op_free(op);
}

static void delete_account(struct me_op *op) {
    int rc = store_user_delete(op->app->store, op->claims.sub, on_deleted, op);
    if (rc != 0)
        on_deleted(rc, op);
}

static void on_delete_password_checked(int match, void *arg) {
    struct me_op *op = arg;
    if (match)
        delete_account(op);
    else
        reply_password_incorrect(op, "password");
}

static void on_user_for_delete(int status, const store_user *u, void *arg) {
    struct me_op *op = arg;
    if (status != STORE_OK) {
        reply_user_gone(op, status);
        return;
    }
    if (!u->password_hash) { /* Google-only account: the signed-in session is enough */
        delete_account(op);
        return;
    }
    if (!op->current_password) {
        http_reply_error_full(op->req, ERR_VALIDATION_FAILED, NULL,
                              json_pack("{s:s}", "password", "REQUIRED"), 0, NULL);
        op_free(op);
        return;
    }
    if (password_verify_async(op->app->loop, u->password_hash, op->current_password,
                              on_delete_password_checked, op) != 0)
        reply_busy(op);
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
