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

/* Days since 1970-01-01 → civil year, month, day (proleptic Gregorian; eras of 400 years). */
static void civil_from_days(int64_t days, int *year, int *month, int *day) {
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (*month <= 2));
}

static char *put_digits(char *p, int v, int width) {
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

/* RFC 3339 UTC with milliseconds, "2026-12-05T01:02:03.456Z": 24 bytes, no NUL. Written by
 * hand: it is on the path of every message (strftime and gmtime_r cost more than the rest). */
static void format_time24(int64_t ms, char out[24]) {
    const int64_t first = -62167219200000LL, last = 253402300799999LL; /* years 0000 … 9999 */
    ms = ms < first ? first : ms > last ? last : ms; /* outside, the text would not be a time */
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int rem = (int)(secs - days * 86400), year, month, day;
    civil_from_days(days, &year, &month, &day);
    char *p = put_digits(out, year % 10000, 4);
    *p++ = '-';
    p = put_digits(p, month, 2);
    *p++ = '-';
    p = put_digits(p, day, 2);
    *p++ = 'T';
    p = put_digits(p, rem / 3600, 2);
    *p++ = ':';
    p = put_digits(p, rem / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, rem % 60, 2);
    *p++ = '.';
    p = put_digits(p, (int)(ms - secs * 1000), 3);
    *p = 'Z';
}

void api_format_time(int64_t ms, char *out, size_t outlen) {
    char text[24];
    format_time24(ms, text);
    snprintf(out, outlen, "%.24s", text);
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

/* MESSAGE is written as text by one function: REST history, chat.sync, msg.ack and msg.new
 * all use it, and it is on the path of every message. */
void api_message_write(buf *b, const store_message *m) {
    char sent[24];
    buf_append_cstr(b, "{\"id\":\"");
    buf_append_u64(b, (uint64_t)m->id);
    buf_append_cstr(b, "\",\"chatId\":\"");
    buf_append_u64(b, (uint64_t)m->chat_id);
    buf_append_cstr(b, "\",\"seq\":");
    buf_append_u64(b, (uint64_t)m->seq);
    buf_append_cstr(b, ",\"senderId\":\"");
    buf_append_u64(b, (uint64_t)m->sender_id);
    buf_append_cstr(b, "\",\"text\":");
    buf_append_json_string(b, m->text, strlen(m->text));
    if (m->sent_at_ms > 0) {
        format_time24(m->sent_at_ms, sent);
        buf_append_cstr(b, ",\"sentAt\":\"");
        buf_append(b, sent, sizeof sent);
        buf_append_cstr(b, "\"}");
    } else {
        buf_append_cstr(b, ",\"sentAt\":null}");
    }
}

void api_messages_write(buf *b, const store_message *msgs, size_t count) {
    buf_append(b, "[", 1);
    for (size_t i = 0; i < count; i++) {
        if (i)
            buf_append(b, ",", 1);
        api_message_write(b, &msgs[i]);
    }
    buf_append(b, "]", 1);
}

json_t *api_message_json(const store_message *m) {
    buf b = {0};
    api_message_write(&b, m);
    json_t *v = b.failed ? NULL : json_loadb(b.data, b.len, 0, NULL);
    buf_free(&b);
    return v;
}

static int append_to_buf(const char *data, size_t len, void *arg) {
    buf_append(arg, data, len);
    return 0;
}

void api_json_write(buf *b, const json_t *v) {
    size_t before = b->len;
    if (json_dump_callback(v, append_to_buf, b, JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
        b->len = before; /* no half-written value */
        buf_append_cstr(b, "null");
    }
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
