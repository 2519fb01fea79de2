/* chats.c — the REST side of chats and safety (SPEC §3.3): history (/chats, /chats/{id}/messages),
 * reports, blocks, the admin's report list and bans, and /stats. Safety actions also reach the
 * real-time layer (a block or report ends the chat; a ban closes the sockets). Each request that
 * waits on the store carries a struct chats_op, freed right after the reply.
 */
#include "api/chats.h"

#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "net/http_reply.h"
#include "rt/rt.h"

#define CHATS_PAGE_DEFAULT    20
#define MESSAGES_PAGE_DEFAULT 100
#define MESSAGES_PAGE_MAX     500
#define BAN_DAYS_MAX          3650
#define BAN_REASON_MAX        500

struct chats_op {
    http_request *req;
    struct app *app;
    struct jwt_claims claims;
    int64_t target; /* chat or user id from the path */
    size_t limit;
};

static struct chats_op *op_new(http_request *req, struct app *app) {
    struct chats_op *op = calloc(1, sizeof *op);
    if (!op) {
        http_reply_error(req, ERR_INTERNAL, NULL);
        return NULL;
    }
    *op = (struct chats_op){.req = req, .app = app};
    if (api_authenticate(req, app, &op->claims) != 0) {
        free(op);
        return NULL;
    }
    return op;
}

static void finish_status(struct chats_op *op, int status, int ok_status) {
    if (status == STORE_OK)
        http_reply(op->req, ok_status, ok_status == 204 ? NULL : "application/json; charset=utf-8",
                   ok_status == 204 ? NULL : "{}", ok_status == 204 ? 0 : 2, NULL);
    else if (status == STORE_ERR_NOT_FOUND)
        http_reply_error(op->req, ERR_NOT_FOUND, NULL);
    else
        api_reply_store_error(op->req, status);
    free(op);
}

/* Parses a positive decimal id (path segment or query value). */
static int64_t parse_id(const char *s, size_t len) {
    int64_t v = 0;
    if (!s || len == 0 || len > 18)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int64_t path_id(http_request *req) {
    size_t len = 0;
    const char *p = http_request_param(req, 0, &len);
    return parse_id(p, len);
}

/* A query parameter's value as a non-negative integer; def when absent; -1 when malformed. */
static int64_t query_int(const http_request *req, const char *name, int64_t def) {
    size_t nlen = strlen(name);
    const char *q = req->query, *end = q ? q + req->query_len : NULL;
    while (q && q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - q) > nlen && memcmp(q, name, nlen) == 0 && q[nlen] == '=') {
            const char *v = q + nlen + 1;
            if (stop - v == 1 && v[0] == '0')
                return 0;
            int64_t n = parse_id(v, (size_t)(stop - v));
            return n > 0 ? n : -1;
        }
        q = amp ? amp + 1 : end;
    }
    return def;
}

static json_t *opt_string(const char *s) {
    return s ? json_string(s) : json_null();
}

static json_t *partner_json(const store_partner *p) {
    return json_pack("{s:o, s:o, s:o, s:o}", "id", api_id_json(p->id), "nickname",
                     opt_string(p->nickname), "job", opt_string(p->job), "career",
                     opt_string(p->career));
}

static json_t *summary_json(const store_chat_summary *c) {
    return json_pack("{s:o, s:s, s:o, s:o, s:o, s:o}", "id", api_id_json(c->id), "category",
                     c->category, "partner", partner_json(&c->partner), "startedAt",
                     api_time_json(c->started_at_ms), "endedAt", api_time_json(c->ended_at_ms),
                     "lastMessage",
                     c->last_message ? api_message_json(c->last_message) : json_null());
}

/* ---- GET /chats ---- */

static void on_chats(int status, const store_chat_summary *chats, size_t count, void *arg) {
    struct chats_op *op = arg;
    if (status != STORE_OK) {
        finish_status(op, status, 200);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, summary_json(&chats[i]));
    json_t *next = count == op->limit && count > 0 ? api_id_json(chats[count - 1].id) : json_null();
    http_reply_json(op->req, 200, json_pack("{s:o, s:o}", "chats", list, "next", next));
    free(op);
}

static void handle_list_chats(http_request *req, void *ctx) {
    struct chats_op *op = op_new(req, ctx);
    if (!op)
        return;
    int64_t before = query_int(req, "before", 0);
    int64_t limit = query_int(req, "limit", CHATS_PAGE_DEFAULT);
    if (before < 0 || limit < 1 || limit > STORE_PAGE_MAX) {
        http_reply_error_full(req, ERR_VALIDATION_FAILED, NULL,
                              json_pack("{s:s}", before < 0 ? "before" : "limit", "INVALID"), 0,
                              NULL);
        free(op);
        return;
    }
    op->limit = (size_t)limit;
    int rc = store_chats_for_user(op->app->store, op->claims.sub, before, op->limit, on_chats, op);
    if (rc != 0)
        on_chats(rc, NULL, 0, op);
}

/* ---- GET /chats/{id}/messages ---- */

static void on_messages(int status, const store_message *msgs, size_t count, void *arg) {
    struct chats_op *op = arg;
    if (status != STORE_OK) {
        finish_status(op, status, 200);
        return;
    }
    buf b = {0};
    buf_append_cstr(&b, "{\"messages\":");
    api_messages_write(&b, msgs, count);
    buf_append(&b, "}", 1);
    if (b.failed)
        http_reply_error(op->req, ERR_INTERNAL, NULL);
    else
        http_reply(op->req, 200, "application/json; charset=utf-8", b.data, b.len, NULL);
    buf_free(&b);
    free(op);
}

static void handle_messages(http_request *req, void *ctx) {
    struct chats_op *op = op_new(req, ctx);
    if (!op)
        return;
    int64_t after = query_int(req, "afterSeq", 0);
    int64_t limit = query_int(req, "limit", MESSAGES_PAGE_DEFAULT);
    op->target = path_id(req);
    if (!op->target) {
        finish_status(op, STORE_ERR_NOT_FOUND, 200);
        return;
    }
    if (after < 0 || limit < 1 || limit > MESSAGES_PAGE_MAX) {
        http_reply_error_full(req, ERR_VALIDATION_FAILED, NULL,
                              json_pack("{s:s}", after < 0 ? "afterSeq" : "limit", "INVALID"), 0,
                              NULL);
        free(op);
        return;
    }
    int rc = store_messages_after(op->app->store, op->target, op->claims.sub, after, (size_t)limit,
                                  on_messages, op);
    if (rc != 0)
        on_messages(rc, NULL, 0, op);
}

/* ---- POST /chats/{id}/report ---- */

static int reason_known(const char *r) {
    static const char *const reasons[] = {"spam", "abuse", "sexual", "scam", "other"};
    for (size_t i = 0; r && i < sizeof reasons / sizeof reasons[0]; i++)
        if (strcmp(r, reasons[i]) == 0)
            return 1;
    return 0;
}

static void on_reported(int status, void *arg) {
    struct chats_op *op = arg;
    if (status == STORE_OK)
        rt_on_report(op->app, op->claims.sub, op->target);
    finish_status(op, status, 201);
}

static void handle_report(http_request *req, void *ctx) {
    struct chats_op *op = op_new(req, ctx);
    if (!op)
        return;
    json_t *fields = json_object();
    const char *reason = api_body_string(req->json, "reason", 1, fields);
    const char *detail = api_body_string(req->json, "detail", 0, fields);
    if (reason && !reason_known(reason))
        json_object_set_new(fields, "reason", json_string("UNKNOWN"));
    if (detail && strlen(detail) > STORE_REPORT_DETAIL_MAX)
        json_object_set_new(fields, "detail", json_string("TOO_LONG"));
    if (api_reply_if_invalid(req, fields) != 0) {
        free(op);
        return;
    }
    op->target = path_id(req);
    int rc = op->target ? store_report_create(op->app->store, op->target, op->claims.sub, reason,
                                              detail, on_reported, op)
                        : STORE_ERR_NOT_FOUND;
    if (rc != 0)
        finish_status(op, rc, 201);
}

/* ---- blocks ---- */

static void on_blocked(int status, void *arg) {
    struct chats_op *op = arg;
    if (status == STORE_OK)
        rt_on_block(op->app, op->claims.sub, op->target);
    finish_status(op, status, 204);
}

static void on_unblocked(int status, void *arg) {
    struct chats_op *op = arg;
    if (status == STORE_OK)
        rt_on_unblock(op->app, op->claims.sub, op->target);
    finish_status(op, status, 204);
}

static void handle_block(http_request *req, void *ctx) {
    struct chats_op *op = op_new(req, ctx);
    if (!op)
        return;
    op->target = path_id(req);
    if (op->target == op->claims.sub) {
        http_reply_error_full(req, ERR_VALIDATION_FAILED, "You cannot block yourself.",
                              json_pack("{s:s}", "userId", "INVALID"), 0, NULL);
        free(op);
        return;
    }
    int put = req->method == HTTP_PUT;
    int rc = !op->target ? STORE_ERR_NOT_FOUND
             : put
                 ? store_block_put(op->app->store, op->claims.sub, op->target, on_blocked, op)
                 : store_block_delete(op->app->store, op->claims.sub, op->target, on_unblocked, op);
    if (rc != 0)
        finish_status(op, rc, 204);
}

static void on_block_list(int status, const store_partner *users, size_t count, void *arg) {
    struct chats_op *op = arg;
    if (status != STORE_OK) {
        finish_status(op, status, 200);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, partner_json(&users[i]));
    http_reply_json(op->req, 200, json_pack("{s:o}", "blocks", list));
    free(op);
}

static void handle_list_blocks(http_request *req, void *ctx) {
    struct chats_op *op = op_new(req, ctx);
    if (!op)
        return;
    int rc = store_blocks_list(op->app->store, op->claims.sub, on_block_list, op);
    if (rc != 0)
        on_block_list(rc, NULL, 0, op);
}

/* ---- admin ---- */

static struct chats_op *admin_op_new(http_request *req, struct app *app) {
    struct chats_op *op = op_new(req, app);
    if (op && strcmp(op->claims.role, "admin") != 0) {
        http_reply_error(req, ERR_FORBIDDEN, "Administrators only.");
        free(op);
        return NULL;
    }
    return op;
}

static void on_reports(int status, const store_report *reports, size_t count, void *arg) {
    struct chats_op *op = arg;
    if (status != STORE_OK) {
        finish_status(op, status, 200);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++) {
        const store_report *r = &reports[i];
        json_array_append_new(list, json_pack("{s:o, s:o, s:o, s:o, s:s, s:o, s:o}", "id",
                                              api_id_json(r->id), "chatId", api_id_json(r->chat_id),
                                              "reporterId", api_id_json(r->reporter_id),
                                              "reportedId", api_id_json(r->reported_id), "reason",
                                              r->reason, "detail", opt_string(r->detail),
                                              "createdAt", api_time_json(r->created_at_ms)));
    }
    json_t *next =
        count == op->limit && count > 0 ? api_id_json(reports[count - 1].id) : json_null();
    http_reply_json(op->req, 200, json_pack("{s:o, s:o}", "reports", list, "next", next));
    free(op);
}

static void handle_admin_reports(http_request *req, void *ctx) {
    struct chats_op *op = admin_op_new(req, ctx);
    if (!op)
        return;
    int64_t before = query_int(req, "before", 0);
    op->limit = STORE_PAGE_MAX;
    int rc = before < 0 ? STORE_ERR_INVALID
                        : store_reports_list(op->app->store, before, op->limit, on_reports, op);
    if (rc != 0)
        on_reports(rc == STORE_ERR_INVALID ? STORE_ERR_NOT_FOUND : rc, NULL, 0, op);
}

static void on_banned(int status, void *arg) {
    struct chats_op *op = arg;
    if (status == STORE_OK)
        rt_on_ban(op->app, op->target);
    finish_status(op, status, 204);
}

static void handle_admin_ban(http_request *req, void *ctx) {
    struct chats_op *op = admin_op_new(req, ctx);
    if (!op)
        return;
    json_t *fields = json_object();
    json_t *days = json_object_get(req->json, "days");
    const char *reason = api_body_string(req->json, "reason", 1, fields);
    if (!json_is_integer(days) || json_integer_value(days) < 1 ||
        json_integer_value(days) > BAN_DAYS_MAX)
        json_object_set_new(fields, "days", json_string("INVALID"));
    if (reason && (!reason[0] || strlen(reason) > BAN_REASON_MAX))
        json_object_set_new(fields, "reason", json_string("INVALID"));
    if (api_reply_if_invalid(req, fields) != 0) {
        free(op);
        return;
    }
    op->target = path_id(req);
    int64_t until = api_now_ms() + (int64_t)json_integer_value(days) * 86400000LL;
    int rc = op->target ? store_user_ban(op->app->store, op->target, until, reason, on_banned, op)
                        : STORE_ERR_NOT_FOUND;
    if (rc != 0)
        finish_status(op, rc, 204);
}

/* ---- GET /stats ---- */

static void handle_stats(http_request *req, void *ctx) {
    struct app *app = ctx;
    http_reply_json(req, 200, rt_stats(app));
}

int api_chats_register(struct app *app) {
    router *r = app->router;
    uint64_t get = ROUTE_METHOD(HTTP_GET), post = ROUTE_METHOD(HTTP_POST);
    int rc = router_add(r, get, "/api/v1/chats", handle_list_chats, app, 0);
    rc |= router_add(r, get, "/api/v1/chats/{id}/messages", handle_messages, app, 0);
    rc |= router_add(r, post, "/api/v1/chats/{id}/report", handle_report, app, ROUTE_JSON_BODY);
    rc |= router_add(r, ROUTE_METHOD(HTTP_PUT) | ROUTE_METHOD(HTTP_DELETE),
                     "/api/v1/blocks/{userId}", handle_block, app, 0);
    rc |= router_add(r, get, "/api/v1/blocks", handle_list_blocks, app, 0);
    rc |= router_add(r, get, "/api/v1/admin/reports", handle_admin_reports, app, 0);
    rc |=
        router_add(r, post, "/api/v1/admin/users/{id}/ban", handle_admin_ban, app, ROUTE_JSON_BODY);
    rc |= router_add(r, get, "/api/v1/stats", handle_stats, app, 0);
    return rc;
}
