/* log.c — writes structured log lines (see log.h). One fwrite per line so lines from one process
 * never interleave; stderr is unbuffered, so a line is out before a crash. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"

static enum log_level current_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *s, enum log_level *out) {
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_set_level(enum log_level level) {
    current_level = level;
}

int log_enabled(enum log_level level) {
    return level >= current_level;
}

static void append_timestamp(buf *b) {
    struct timespec ts;
    struct tm tm;
    char stamp[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", ts.tv_nsec / 1000000L);
    buf_append_json_string(b, stamp, strlen(stamp));
}

void log_event(enum log_level level, const char *msg, ...) {
    if (!log_enabled(level))
        return;
    buf b;
    buf_init(&b, 256);
    buf_append_cstr(&b, "{\"ts\":");
    append_timestamp(&b);
    buf_append_cstr(&b, ",\"level\":\"");
    buf_append_cstr(&b, level_names[level]);
    buf_append_cstr(&b, "\",\"msg\":");
    buf_append_json_string(&b, msg, strlen(msg));
    va_list ap;
    va_start(ap, msg);
    for (const char *key = va_arg(ap, const char *); key; key = va_arg(ap, const char *)) {
        const char *value = va_arg(ap, const char *);
        buf_append_cstr(&b, ",");
        buf_append_json_string(&b, key, strlen(key));
        buf_append_cstr(&b, ":");
        buf_append_json_string(&b, value ? value : "", value ? strlen(value) : 0);
    }
    va_end(ap);
    buf_append_cstr(&b, "}\n");
    if (!b.failed)
        fwrite(b.data, 1, b.len, stderr);
    buf_free(&b);
}
