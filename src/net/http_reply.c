/* http_reply.c — writes responses (see http_reply.h): status line, standard headers, body, then
 * http_request_finish. Holds the one function that renders error values as SPEC §3.1 JSON. */
#include "net/http_reply.h"

#include <string.h>
#include <time.h>

#include "util/buf.h"

static const char *status_text(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 204:
            return "No Content";
        case 302:
            return "Found";
        case 304:
            return "Not Modified";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 409:
            return "Conflict";
        case 413:
            return "Payload Too Large";
        case 415:
            return "Unsupported Media Type";
        case 422:
            return "Unprocessable Entity";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        default:
            return "Unknown";
    }
}

/* The Date header, formatted once per second. */
static const char *http_date(void) {
    static char cached[40];
    static time_t cached_at;
    time_t now = time(NULL);
    if (now != cached_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(cached, sizeof cached, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_at = now;
    }
    return cached;
}

static void append_entity_headers(buf *out, int status, const char *content_type, size_t len) {
    if (content_type && status != 304) {
        buf_append_cstr(out, "Content-Type: ");
        buf_append_cstr(out, content_type);
        buf_append_cstr(out, "\r\n");
    }
    if (status != 204 && status != 304) {
        buf_append_cstr(out, "Content-Length: ");
        buf_append_u64(out, len);
        buf_append_cstr(out, "\r\n");
    }
}

void http_reply(http_request *req, int status, const char *content_type, const void *body,
                size_t len, const char *extra_headers) {
    if (req->replied)
        return;
    req->replied = 1;
    int send_body = req->method != HTTP_HEAD && status != 204 && status != 304;
    buf *out = http_conn_output(req->conn);
    if (out) {
        buf_append_cstr(out, "HTTP/1.1 ");
        buf_append_u64(out, (uint64_t)status);
        buf_append_cstr(out, " ");
        buf_append_cstr(out, status_text(status));
        buf_append_cstr(out, "\r\nDate: ");
        buf_append_cstr(out, http_date());
        buf_append_cstr(out, "\r\nX-Request-Id: ");
        buf_append_cstr(out, req->request_id);
        buf_append_cstr(out, "\r\nX-Content-Type-Options: nosniff\r\n");
        append_entity_headers(out, status, content_type, len);
        if (extra_headers)
            buf_append_cstr(out, extra_headers);
        if (http_request_will_close(req))
            buf_append_cstr(out, "Connection: close\r\n");
        else if (req->http_minor == 0)
            buf_append_cstr(out, "Connection: keep-alive\r\n");
        buf_append(out, "\r\n", 2);
        if (send_body && len)
            buf_append(out, body, len);
    }
    http_request_finish(req, status);
}

void http_reply_json(http_request *req, int status, json_t *body) {
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        http_reply_error(req, ERR_INTERNAL, NULL);
        return;
    }
    http_reply(req, status, "application/json; charset=utf-8", text, strlen(text), NULL);
    free(text);
}

void http_reply_no_content(http_request *req) {
    http_reply(req, 204, NULL, NULL, 0, NULL);
}

void http_reply_error_full(http_request *req, enum err_code code, const char *message,
                           json_t *fields, int retry_after, const char *extra_headers) {
    json_t *err =
        json_pack("{s:s, s:s, s:s}", "code", err_code_name(code), "message",
                  message ? message : err_default_message(code), "requestId", req->request_id);
    if (err && fields)
        json_object_set_new(err, "fields", fields);
    else if (fields)
        json_decref(fields);
    buf hb = {0};
    buf_append_cstr(&hb, "");
    if (retry_after <= 0 && (code == ERR_RATE_LIMITED || code == ERR_UNAVAILABLE))
        retry_after = 1;
    if (retry_after > 0)
        buf_append_printf(&hb, "Retry-After: %d\r\n", retry_after);
    if (extra_headers)
        buf_append_cstr(&hb, extra_headers);
    const char *headers = hb.data ? hb.data : "";
    json_t *doc = err ? json_pack("{s:o}", "error", err) : NULL; /* steals err */
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    static const char fallback[] =
        "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"out of memory\"}}";
    http_reply(req, err_http_status(code), "application/json; charset=utf-8",
               text ? text : fallback, text ? strlen(text) : sizeof fallback - 1, headers);
    free(text);
    buf_free(&hb);
}

void http_reply_error(http_request *req, enum err_code code, const char *message) {
    http_reply_error_full(req, code, message, NULL, 0, NULL);
}
