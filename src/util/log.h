/* log.h — structured logs: one JSON object a line on stderr, filtered by level.
 *
 * log_event(level, "event", "key", "value", …, NULL) writes {"ts","level","msg", key: value…}.
 * Values are strings and are JSON-escaped here. Never pass a token, cookie, password or an
 * Authorization header: nothing here can tell them apart from other strings.
 */
#ifndef CONVO_LOG_H
#define CONVO_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Parses "debug", "info", "warn", "error". Returns 0, or -1 for anything else. */
int log_level_parse(const char *s, enum log_level *out);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

/* Writes one line when level is enabled; the variadic part is key, value pairs ending with NULL. */
void log_event(enum log_level level, const char *msg, ...) __attribute__((sentinel));

#define log_debug(...) log_event(LOG_DEBUG, __VA_ARGS__, (char *)0)
#define log_info(...)  log_event(LOG_INFO, __VA_ARGS__, (char *)0)
#define log_warn(...)  log_event(LOG_WARN, __VA_ARGS__, (char *)0)
#define log_error(...) log_event(LOG_ERROR, __VA_ARGS__, (char *)0)

#endif
