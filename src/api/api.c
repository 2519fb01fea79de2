/* api.c — helpers shared by every api/ handler (see api.h): the auth middleware, USER JSON,
 * body-field readers, store-error mapping, client address, clock. */
#include "api/api.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>

#include "net/http_reply.h"
#include "util/metrics.h"

int64_t api_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t api_now_s(void) {
    return api_now_ms() / 1000;
}

int api_authenticate(http_request *req, struct app *app, struct jwt_claims *claims) {
    size_t len = 0;
    const char *v = http_request_header(req, "authorization", &len);
    if (!v || len == 0) {
        http_reply_error(req, ERR_TOKEN_MISSING, NULL);
        return -1;
    }
    if (len < 8 || strncasecmp(v, "Bearer ", 7) != 0) {
        http_reply_error(req, ERR_TOKEN_INVALID, "Use the Bearer scheme.");
        return -1;
    }
    const struct config *cfg = app->cfg;
    int rc = jwt_verify((const unsigned char *)cfg->jwt_secret, cfg->jwt_secret_len, v + 7, len - 7,
                        api_now_s(), claims);
    if (rc == JWT_OK)
        return 0;
    http_reply_error(req, rc == JWT_EXPIRED ? ERR_TOKEN_EXPIRED : ERR_TOKEN_INVALID, NULL);
    return -1;
}

const char *api_role_for(const struct app *app, const char *email) {
    return config_is_admin_email(app->cfg, email) ? "admin" : "user";
}

void api_format_time(int64_t ms, char *out, size_t outlen) {
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, outlen - n, ".%03dZ", (int)(ms % 1000));
}

json_t *api_id_json(int64_t id) {
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)id);
    return json_string(text);
}

json_t *api_time_json(int64_t ms) {
    char text[32];
    if (ms <= 0)
        return json_null();
    api_format_time(ms, text, sizeof text);
    return json_string(text);
}

json_t *api_message_json(const store_message *m) {
    return json_pack("{s:o, s:o, s:I, s:o, s:s, s:o}", "id", api_id_json(m->id), "chatId",
                     api_id_json(m->chat_id), "seq", (json_int_t)m->seq, "senderId",
                     api_id_json(m->sender_id), "text", m->text, "sentAt",
                     api_time_json(m->sent_at_ms));
}

static json_t *string_or_null(const char *s) {
    return s ? json_string(s) : json_null();
}

json_t *api_user_json(const struct app *app, const store_user *u) {
    char id[24], created[32];
    snprintf(id, sizeof id, "%lld", (long long)u->id);
    api_format_time(u->created_at_ms, created, sizeof created);
    json_t *providers = json_array();
    if (u->password_hash)
        json_array_append_new(providers, json_string("password"));
    if (u->google_sub)
        json_array_append_new(providers, json_string("google"));
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:s}", "id", id, "email", u->email,
                     "nickname", u->nickname, "job", string_or_null(u->job), "career",
                     string_or_null(u->career), "bio", string_or_null(u->bio), "role",
                     api_role_for(app, u->email), "providers", providers, "createdAt", created);
}

const char *api_body_string(json_t *body, const char *key, int required, json_t *fields) {
    json_t *v = body ? json_object_get(body, key) : NULL;
    if (!v || json_is_null(v)) {
        if (required)
            json_object_set_new(fields, key, json_string("REQUIRED"));
        return NULL;
    }
    if (!json_is_string(v)) {
        json_object_set_new(fields, key, json_string("INVALID"));
        return NULL;
    }
    return json_string_value(v);
}

int api_reply_if_invalid(http_request *req, json_t *fields) {
    if (json_object_size(fields) == 0) {
        json_decref(fields);
        return 0;
    }
    http_reply_error_full(req, ERR_VALIDATION_FAILED, NULL, fields, 0, NULL);
    return -1;
}

void api_reply_busy(http_request *req) {
    metrics_limit_hit(LIMIT_PASSWORD_QUEUE);
    http_reply_error_full(req, ERR_UNAVAILABLE, "Too many password checks at once; try again.",
                          NULL, 1, NULL);
}

void api_reply_store_error(http_request *req, int store_status) {
    if (store_status == STORE_ERR_UNAVAILABLE || store_status == STORE_ERR_CLOSED)
        http_reply_error_full(req, ERR_UNAVAILABLE, "The database is busy or unreachable.", NULL, 2,
                              NULL);
    else
        http_reply_error(req, ERR_INTERNAL, NULL);
}

static int is_loopback(const char *ip) {
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
           strncmp(ip, "::ffff:127.", 11) == 0;
}

static int is_ip_address(const char *s) {
    unsigned char addr[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

void api_client_ip(const http_request *req, char out[API_CLIENT_IP_MAX]) {
    http_request_peer_ip(req, out, API_CLIENT_IP_MAX);
    size_t len = 0;
    const char *real = http_request_header(req, "x-real-ip", &len);
    char forwarded[API_CLIENT_IP_MAX];
    if (!real || len == 0 || len >= API_CLIENT_IP_MAX || !is_loopback(out))
        return;
    memcpy(forwarded, real, len);
    forwarded[len] = '\0';
    if (is_ip_address(forwarded))
        memcpy(out, forwarded, len + 1);
}
