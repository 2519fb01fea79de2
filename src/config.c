/* config.c — CONVO's settings (SPEC §2): collects defaults, environment variables and --flags,
 * validates them into a struct config, and prepares the data dir with its generated JWT secret.
 * Error lines name the variable or flag at fault and never contain a secret.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define CONFIG_SECRET_FILE_MAX 4096 /* bytes accepted in the generated secret file */
#define CONFIG_SECRET_RANDOM   32   /* random bytes behind a generated secret */
#define CONFIG_MAX_CONN_LIMIT  1000000

enum config_opt {
    CONFIG_OPT_LISTEN,
    CONFIG_OPT_DATA_DIR,
    CONFIG_OPT_DATABASE_URL,
    CONFIG_OPT_REDIS_URL,
    CONFIG_OPT_JWT_SECRET,
    CONFIG_OPT_PUBLIC_ORIGIN,
    CONFIG_OPT_ALLOWED_ORIGINS,
    CONFIG_OPT_COOKIE_SECURE,
    CONFIG_OPT_OIDC_ISSUER,
    CONFIG_OPT_OIDC_CLIENT_ID,
    CONFIG_OPT_OIDC_CLIENT_SECRET,
    CONFIG_OPT_ADMIN_EMAILS,
    CONFIG_OPT_LOG,
    CONFIG_OPT_MAX_CONNECTIONS,
    CONFIG_OPT_COUNT
};

struct config_optdef {
    const char *env;
    const char *flag;
    const char *arg;   /* placeholder in the usage text */
    const char *def;   /* value when unset; NULL = unset or computed */
    const char *shown; /* default as the usage text describes it */
};

static const struct config_optdef config_opts[CONFIG_OPT_COUNT] = {
    [CONFIG_OPT_LISTEN] = {"CONVO_LISTEN", "--listen", "HOST:PORT", "127.0.0.1:8080",
                           "127.0.0.1:8080; [IPv6]:PORT too; port 0 picks a free one"},
    [CONFIG_OPT_DATA_DIR] = {"CONVO_DATA_DIR", "--data-dir", "DIR", "./data", "./data"},
    [CONFIG_OPT_DATABASE_URL] = {"CONVO_DATABASE_URL", "--database-url", "URL", NULL,
                                 "sqlite:$CONVO_DATA_DIR/convo.db; or postgres://..."},
    [CONFIG_OPT_REDIS_URL] = {"CONVO_REDIS_URL", "--redis-url", "URL", NULL,
                              "unset (in-process bus); redis://host:port/db"},
    [CONFIG_OPT_JWT_SECRET] = {"CONVO_JWT_SECRET", "--jwt-secret", "SECRET", NULL,
                               "generated into $CONVO_DATA_DIR/" CONFIG_JWT_SECRET_FILE
                               "; >= 32 bytes, required with Redis"},
    [CONFIG_OPT_PUBLIC_ORIGIN] = {"CONVO_PUBLIC_ORIGIN", "--public-origin", "ORIGIN",
                                  "http://localhost:8080", "http://localhost:8080"},
    [CONFIG_OPT_ALLOWED_ORIGINS] = {"CONVO_ALLOWED_ORIGINS", "--allowed-origins", "LIST", NULL,
                                    "unset; comma list, the public origin is always allowed"},
    [CONFIG_OPT_COOKIE_SECURE] = {"CONVO_COOKIE_SECURE", "--cookie-secure", "MODE", "auto",
                                  "auto (off only for http://localhost or http://127.0.0.1); "
                                  "true/false/on/off/1/0"},
    [CONFIG_OPT_OIDC_ISSUER] = {"CONVO_OIDC_GOOGLE_ISSUER", "--oidc-google-issuer", "URL", NULL,
                                "unset (Google sign-in hidden)"},
    [CONFIG_OPT_OIDC_CLIENT_ID] = {"CONVO_OIDC_GOOGLE_CLIENT_ID", "--oidc-google-client-id", "ID",
                                   NULL, "unset"},
    [CONFIG_OPT_OIDC_CLIENT_SECRET] = {"CONVO_OIDC_GOOGLE_CLIENT_SECRET",
                                       "--oidc-google-client-secret", "SECRET", NULL, "unset"},
    [CONFIG_OPT_ADMIN_EMAILS] = {"CONVO_ADMIN_EMAILS", "--admin-emails", "LIST", NULL,
                                 "unset; comma list of admin accounts"},
    [CONFIG_OPT_LOG] = {"CONVO_LOG", "--log", "LEVEL", "info", "info; debug/info/warn/error"},
    [CONFIG_OPT_MAX_CONNECTIONS] = {"CONVO_MAX_CONNECTIONS", "--max-connections", "N", "10000",
                                    "10000; 1..1000000"},
};

enum config_src { CONFIG_SRC_DEFAULT = 0, CONFIG_SRC_ENV, CONFIG_SRC_FLAG };

/* Raw values as found, pointing into envp/argv; nothing here is owned. */
struct config_raw {
    const char *val[CONFIG_OPT_COUNT];
    enum config_src src[CONFIG_OPT_COUNT];
};

/* ---- errors ---- */

/* Formats one line into err, replacing any control character so it stays one line; returns -1. */
__attribute__((format(printf, 3, 4))) static int config_fail(char *err, size_t errlen,
                                                             const char *fmt, ...) {
    if (!err || errlen == 0)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
    return -1;
}

static int config_oom(char *err, size_t errlen) {
    return config_fail(err, errlen, "configuration: out of memory");
}

/* The name the user used for an option: its flag when a flag set it, else its variable. */
static const char *config_name(const struct config_raw *raw, enum config_opt o) {
    return raw->src[o] == CONFIG_SRC_FLAG ? config_opts[o].flag : config_opts[o].env;
}

/* The effective value: the raw one unless unset or empty, else the default (maybe NULL). */
static const char *config_value(const struct config_raw *raw, enum config_opt o) {
    const char *v = raw->val[o];
    return v && *v ? v : config_opts[o].def;
}

/* ---- collecting raw values ---- */

static void config_read_env(struct config_raw *raw, char **envp) {
    for (int o = 0; o < CONFIG_OPT_COUNT; o++) {
        size_t n = strlen(config_opts[o].env);
        for (char **e = envp; e && *e; e++) {
            if (strncmp(*e, config_opts[o].env, n) == 0 && (*e)[n] == '=') {
                raw->val[o] = *e + n + 1;
                raw->src[o] = CONFIG_SRC_ENV;
                break;
            }
        }
    }
}

static int config_opt_by_flag(const char *arg, size_t len) {
    for (int o = 0; o < CONFIG_OPT_COUNT; o++) {
        if (strlen(config_opts[o].flag) == len && strncmp(config_opts[o].flag, arg, len) == 0)
            return o;
    }
    return -1;
}

/* Returns 1 and sets *action for --help/--version, 0 for anything else. */
static int config_action_flag(const char *arg, enum config_action *action) {
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
        *action = CONFIG_HELP;
    else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0)
        *action = CONFIG_VERSION;
    else
        return 0;
    return 1;
}

/* Reads one "--flag value" or "--flag=value" at argv[*i], advancing *i past a separate value. */
static int config_parse_flag(struct config_raw *raw, int argc, char **argv, int *i, char *err,
                             size_t errlen) {
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0)
        return config_fail(err, errlen,
                           "unexpected argument #%d (flags are --name value or "
                           "--name=value; see --help)",
                           *i);
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    int o = config_opt_by_flag(arg, len);
    if (o < 0) /* only the name: the value may be a mistyped secret */
        return config_fail(err, errlen, "unknown flag \"%.*s\" (see --help)",
                           (int)(len > 64 ? 64 : len), arg);
    const char *val = eq ? eq + 1 : NULL;
    if (!eq && *i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0)
        val = argv[++*i];
    if (!val)
        return config_fail(err, errlen, "%s: missing value", config_opts[o].flag);
    raw->val[o] = val;
    raw->src[o] = CONFIG_SRC_FLAG;
    return 0;
}

static int config_parse_args(struct config_raw *raw, int argc, char **argv,
                             enum config_action *action, char *err, size_t errlen) {
    for (int i = 1; i < argc && argv[i]; i++) {
        if (config_action_flag(argv[i], action))
            return 0;
        if (config_parse_flag(raw, argc, argv, &i, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* ---- small parsers ---- */

static int config_all_digits(const char *s, size_t maxlen) {
    size_t n = strlen(s);
    if (n == 0 || n > maxlen)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* Parses digits only (no sign, no spaces) into [min, max]. */
static int config_parse_int(const char *s, long min, long max, long *out) {
    if (!config_all_digits(s, 9))
        return -1;
    long v = strtol(s, NULL, 10);
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Splits "IPv4:PORT" or "[IPv6]:PORT" and checks both parts. */
static int config_parse_listen(const char *s, char *host, size_t hostlen, int *port) {
    const char *hs = s, *ps;
    size_t hl;
    int family = AF_INET;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        hs = s + 1, hl = (size_t)(close - hs), ps = close + 2, family = AF_INET6;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - s), ps = colon + 1;
    }
    unsigned char addr[sizeof(struct in6_addr)];
    long p;
    if (hl == 0 || hl >= hostlen || config_parse_int(ps, 0, 65535, &p) < 0)
        return -1;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    if (inet_pton(family, host, addr) != 1)
        return -1;
    *port = (int)p;
    return 0;
}

/* 1 when s starts with prefix and has something after it. */
static int config_has_prefix(const char *s, const char *prefix) {
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 && s[n] != '\0';
}

/* Copies an origin, dropping one trailing slash and lower-casing it as browsers send it. */
static char *config_origin_dup(const char *s, size_t len) {
    if (len > 0 && s[len - 1] == '/')
        len--;
    char *o = strndup(s, len);
    for (char *p = o; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return o;
}

/* 0 for scheme://host[:port] with scheme http or https and nothing after the authority. */
static int config_check_origin(const char *o) {
    const char *rest;
    if (strncmp(o, "http://", 7) == 0)
        rest = o + 7;
    else if (strncmp(o, "https://", 8) == 0)
        rest = o + 8;
    else
        return -1;
    if (*rest == '\0')
        return -1;
    for (; *rest; rest++) {
        if (strchr("/?#@\\", *rest) || (unsigned char)*rest <= ' ' || *rest == 0x7f)
            return -1;
    }
    return 0;
}

/* 1 for plain http://localhost or http://127.0.0.1, with or without a port. */
static int config_origin_is_local_http(const char *o) {
    static const char *const hosts[] = {"http://localhost", "http://127.0.0.1"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        size_t n = strlen(hosts[i]);
        if (strncmp(o, hosts[i], n) != 0)
            continue;
        if (o[n] == '\0' || (o[n] == ':' && config_all_digits(o + n + 1, 5)))
            return 1;
    }
    return 0;
}

static int config_parse_cookie_secure(const char *v, const char *origin, int *out) {
    static const char *const on[] = {"true", "on", "1"}, *const off[] = {"false", "off", "0"};
    if (strcasecmp(v, "auto") == 0) {
        *out = !config_origin_is_local_http(origin);
        return 0;
    }
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(v, on[i]) == 0 || strcasecmp(v, off[i]) == 0) {
            *out = strcasecmp(v, on[i]) == 0;
            return 0;
        }
    }
    return -1;
}

/* Iterates a comma list: sets the next trimmed non-empty item and returns 1, or returns 0. */
static int config_list_next(const char **cursor, const char **item, size_t *len) {
    const char *p = *cursor;
    while (p && *p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *s = p, *e = end;
        p = *end ? end + 1 : end;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        if (e > s) {
            *cursor = p, *item = s, *len = (size_t)(e - s);
            return 1;
        }
    }
    *cursor = p;
    return 0;
}

/* Upper bound on a comma list's items. */
static size_t config_list_cap(const char *s) {
    size_t n = 1;
    for (; s && *s; s++)
        n += *s == ',';
    return n;
}

static int config_dup(char **dst, const char *src, char *err, size_t errlen) {
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : config_oom(err, errlen);
}

/* ---- building struct config ---- */

static int config_build_listen(struct config *cfg, const struct config_raw *raw, char *err,
                               size_t errlen) {
    const char *v = config_value(raw, CONFIG_OPT_LISTEN);
    char host[INET6_ADDRSTRLEN];
    if (config_parse_listen(v, host, sizeof host, &cfg->listen_port) < 0)
        return config_fail(err, errlen,
                           "%s \"%.64s\": expected IPV4:PORT or [IPV6]:PORT with a numeric address "
                           "and a port 0-65535",
                           config_name(raw, CONFIG_OPT_LISTEN), v);
    if (config_dup(&cfg->listen, v, err, errlen) < 0 ||
        config_dup(&cfg->listen_host, host, err, errlen) < 0)
        return -1;
    return 0;
}

static int config_check_database_url(const char *u) {
    if (config_has_prefix(u, "sqlite:") || config_has_prefix(u, "postgres://") ||
        config_has_prefix(u, "postgresql://"))
        return 0;
    return -1;
}

static int config_build_paths(struct config *cfg, const struct config_raw *raw, char *err,
                              size_t errlen) {
    const char *dir = config_value(raw, CONFIG_OPT_DATA_DIR);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (!(cfg->data_dir = strndup(dir, n)))
        return config_oom(err, errlen);
    const char *db = config_value(raw, CONFIG_OPT_DATABASE_URL);
    if (!db) {
        if (asprintf(&cfg->database_url, "sqlite:%s/convo.db", cfg->data_dir) < 0) {
            cfg->database_url = NULL;
            return config_oom(err, errlen);
        }
        return 0;
    }
    if (config_check_database_url(db) < 0) /* no value: it may hold a password */
        return config_fail(err, errlen,
                           "%s: expected sqlite:PATH, postgres://... or "
                           "postgresql://...",
                           config_name(raw, CONFIG_OPT_DATABASE_URL));
    return config_dup(&cfg->database_url, db, err, errlen);
}

static int config_build_secrets(struct config *cfg, const struct config_raw *raw, char *err,
                                size_t errlen) {
    const char *redis = config_value(raw, CONFIG_OPT_REDIS_URL);
    const char *jwt = config_value(raw, CONFIG_OPT_JWT_SECRET);
    if (redis && !config_has_prefix(redis, "redis://"))
        return config_fail(err, errlen, "%s: expected redis://host:port/db",
                           config_name(raw, CONFIG_OPT_REDIS_URL));
    if (jwt && strlen(jwt) < CONFIG_JWT_SECRET_MIN)
        return config_fail(err, errlen, "%s: must be at least %d bytes",
                           config_name(raw, CONFIG_OPT_JWT_SECRET), CONFIG_JWT_SECRET_MIN);
    if (redis && !jwt)
        return config_fail(err, errlen, "%s: required when %s is set (all instances must share it)",
                           config_name(raw, CONFIG_OPT_JWT_SECRET),
                           config_name(raw, CONFIG_OPT_REDIS_URL));
    if (config_dup(&cfg->redis_url, redis, err, errlen) < 0 ||
        config_dup(&cfg->jwt_secret, jwt, err, errlen) < 0)
        return -1;
    cfg->jwt_secret_len = jwt ? strlen(jwt) : 0;
    return 0;
}

static int config_build_public_origin(struct config *cfg, const struct config_raw *raw, char *err,
                                      size_t errlen) {
    const char *v = config_value(raw, CONFIG_OPT_PUBLIC_ORIGIN);
    if (!(cfg->public_origin = config_origin_dup(v, strlen(v))))
        return config_oom(err, errlen);
    if (config_check_origin(cfg->public_origin) < 0)
        return config_fail(err, errlen,
                           "%s \"%.64s\": expected http://HOST[:PORT] or "
                           "https://HOST[:PORT]",
                           config_name(raw, CONFIG_OPT_PUBLIC_ORIGIN), v);
    const char *cs = config_value(raw, CONFIG_OPT_COOKIE_SECURE);
    if (config_parse_cookie_secure(cs, cfg->public_origin, &cfg->cookie_secure) < 0)
        return config_fail(err, errlen, "%s \"%.16s\": expected auto, true, false, on, off, 1 or 0",
                           config_name(raw, CONFIG_OPT_COOKIE_SECURE), cs);
    return 0;
}

/* 1 when origin is already among the first n entries. */
static int config_list_has(char *const *list, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0)
            return 1;
    }
    return 0;
}

static int config_build_allowed(struct config *cfg, const struct config_raw *raw, char *err,
                                size_t errlen) {
    const char *list = config_value(raw, CONFIG_OPT_ALLOWED_ORIGINS), *item;
    size_t n = 0, len;
    if (!(cfg->allowed_origins = calloc(config_list_cap(list) + 2, sizeof(char *))) ||
        !(cfg->allowed_origins[n++] = strdup(cfg->public_origin)))
        return config_oom(err, errlen);
    while (config_list_next(&list, &item, &len)) {
        char *o = config_origin_dup(item, len);
        if (!o)
            return config_oom(err, errlen);
        if (config_check_origin(o) < 0) {
            free(o);
            return config_fail(err, errlen,
                               "%s \"%.*s\": expected http://HOST[:PORT] or "
                               "https://HOST[:PORT]",
                               config_name(raw, CONFIG_OPT_ALLOWED_ORIGINS),
                               (int)(len > 64 ? 64 : len), item);
        }
        if (config_list_has(cfg->allowed_origins, n, o))
            free(o);
        else
            cfg->allowed_origins[n++] = o;
    }
    return 0;
}

static int config_build_admins(struct config *cfg, const struct config_raw *raw, char *err,
                               size_t errlen) {
    const char *list = config_value(raw, CONFIG_OPT_ADMIN_EMAILS), *item;
    size_t n = 0, len;
    if (!(cfg->admin_emails = calloc(config_list_cap(list) + 1, sizeof(char *))))
        return config_oom(err, errlen);
    while (config_list_next(&list, &item, &len)) {
        char *e = strndup(item, len);
        if (!e)
            return config_oom(err, errlen);
        for (char *p = e; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        cfg->admin_emails[n++] = e;
    }
    return 0;
}

static int config_build_misc(struct config *cfg, const struct config_raw *raw, char *err,
                             size_t errlen) {
    const char *lv = config_value(raw, CONFIG_OPT_LOG);
    if (log_level_parse(lv, &cfg->log_level) < 0)
        return config_fail(err, errlen, "%s \"%.16s\": expected debug, info, warn or error",
                           config_name(raw, CONFIG_OPT_LOG), lv);
    const char *mc = config_value(raw, CONFIG_OPT_MAX_CONNECTIONS);
    long max;
    if (config_parse_int(mc, 1, CONFIG_MAX_CONN_LIMIT, &max) < 0)
        return config_fail(err, errlen, "%s \"%.16s\": expected an integer from 1 to %d",
                           config_name(raw, CONFIG_OPT_MAX_CONNECTIONS), mc, CONFIG_MAX_CONN_LIMIT);
    cfg->max_connections = (int)max;
    if (config_dup(&cfg->oidc_issuer, config_value(raw, CONFIG_OPT_OIDC_ISSUER), err, errlen) < 0 ||
        config_dup(&cfg->oidc_client_id, config_value(raw, CONFIG_OPT_OIDC_CLIENT_ID), err,
                   errlen) < 0 ||
        config_dup(&cfg->oidc_client_secret, config_value(raw, CONFIG_OPT_OIDC_CLIENT_SECRET), err,
                   errlen) < 0)
        return -1;
    return 0;
}

static int config_build(struct config *cfg, const struct config_raw *raw, char *err,
                        size_t errlen) {
    if (config_build_listen(cfg, raw, err, errlen) < 0 ||
        config_build_paths(cfg, raw, err, errlen) < 0 ||
        config_build_secrets(cfg, raw, err, errlen) < 0 ||
        config_build_public_origin(cfg, raw, err, errlen) < 0 ||
        config_build_allowed(cfg, raw, err, errlen) < 0 ||
        config_build_admins(cfg, raw, err, errlen) < 0 ||
        config_build_misc(cfg, raw, err, errlen) < 0)
        return -1;
    return 0;
}

int config_load(struct config *cfg, int argc, char **argv, char **envp, enum config_action *action,
                char *err, size_t errlen) {
    struct config_raw raw;
    enum config_action ignored;
    memset(&raw, 0, sizeof raw);
    memset(cfg, 0, sizeof *cfg);
    if (!action)
        action = &ignored;
    *action = CONFIG_RUN;
    if (err && errlen)
        err[0] = '\0';
    config_read_env(&raw, envp ? envp : environ);
    if (config_parse_args(&raw, argc, argv, action, err, errlen) < 0)
        return -1;
    if (*action != CONFIG_RUN)
        return 0;
    if (config_build(cfg, &raw, err, errlen) < 0) {
        config_free(cfg);
        return -1;
    }
    return 0;
}

/* ---- data dir and generated secret ---- */

static int config_mkdir_one(const char *path) {
    if (mkdir(path, 0700) == 0)
        return chmod(path, 0700); /* exactly 0700 whatever the umask */
    int e = errno;
    struct stat st;
    if (e == EEXIST || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
        return 0; /* a non-directory fails on the next component or in config_check_dir */
    errno = e;
    return -1;
}

/* mkdir -p; returns -1 with errno set. */
static int config_mkdirs(const char *dir) {
    char *path = strdup(dir);
    int rc = 0, e = 0;
    if (!path)
        return -1;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (config_mkdir_one(path) < 0) {
            rc = -1, e = errno;
            break;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    free(path);
    errno = e;
    return rc;
}

static int config_check_dir(const char *dir) {
    struct stat st;
    if (stat(dir, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return access(dir, W_OK | X_OK);
}

/* Reads up to cap bytes; returns the count (cap means "maybe more") or -1. */
static ssize_t config_read_all(int fd, char *buf, size_t cap) {
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

static int config_write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        buf += w, len -= (size_t)w;
    }
    return 0;
}

static int config_take_secret(struct config *cfg, const char *s, size_t len, char *err,
                              size_t errlen) {
    if (!(cfg->jwt_secret = malloc(len + 1)))
        return config_oom(err, errlen);
    memcpy(cfg->jwt_secret, s, len);
    cfg->jwt_secret[len] = '\0';
    cfg->jwt_secret_len = len;
    return 0;
}

/* Returns 0 with the secret taken, 1 when the file is missing, -1 on error. */
static int config_read_secret(struct config *cfg, const char *path, char *err, size_t errlen) {
    char buf[CONFIG_SECRET_FILE_MAX + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 1;
    if (fd < 0)
        return config_fail(err, errlen, "CONVO_DATA_DIR %.200s: %s", path, strerror(errno));
    ssize_t n = config_read_all(fd, buf, sizeof buf);
    int e = errno, rc;
    close(fd);
    if (n < 0)
        return config_fail(err, errlen, "CONVO_DATA_DIR %.200s: %s", path, strerror(e));
    int too_big = n > CONFIG_SECRET_FILE_MAX;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (too_big || n < CONFIG_JWT_SECRET_MIN)
        rc = config_fail(err, errlen,
                         "CONVO_DATA_DIR %.200s: the secret must be %d to %d bytes; delete the "
                         "file to generate a new one",
                         path, CONFIG_JWT_SECRET_MIN, CONFIG_SECRET_FILE_MAX);
    else
        rc = config_take_secret(cfg, buf, (size_t)n, err, errlen);
    sodium_memzero(buf, sizeof buf);
    return rc;
}

/* Makes the new file's name durable; best effort, the secret is already on disk. */
static void config_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Creates path exclusively with the given bytes; returns 0, 1 when it exists, -1 with errno. */
static int config_write_secret_file(const char *path, const char *s, size_t len) {
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? 1 : -1;
    if (fchmod(fd, 0600) < 0 || config_write_all(fd, s, len) < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(path); /* no half-written secret left behind */
        errno = e;
        return -1;
    }
    if (close(fd) < 0) {
        int e = errno;
        unlink(path);
        errno = e;
        return -1;
    }
    return 0;
}

/* Returns 0 with a new secret taken, 1 when another process created the file first, -1. */
static int config_generate_secret(struct config *cfg, const char *path, char *err, size_t errlen) {
    unsigned char key[CONFIG_SECRET_RANDOM];
    char hex[2 * CONFIG_SECRET_RANDOM + 1];
    if (sodium_init() < 0)
        return config_fail(err, errlen, "CONVO_JWT_SECRET: libsodium failed to initialise");
    randombytes_buf(key, sizeof key);
    sodium_bin2hex(hex, sizeof hex, key, sizeof key);
    sodium_memzero(key, sizeof key);
    int rc = config_write_secret_file(path, hex, sizeof hex - 1);
    if (rc < 0)
        rc = config_fail(err, errlen, "CONVO_DATA_DIR %.200s: %s", path, strerror(errno));
    else if (rc == 0) {
        config_fsync_dir(cfg->data_dir);
        rc = config_take_secret(cfg, hex, sizeof hex - 1, err, errlen);
    }
    sodium_memzero(hex, sizeof hex);
    return rc;
}

static int config_load_secret(struct config *cfg, char *err, size_t errlen) {
    char *path = NULL;
    if (asprintf(&path, "%s/%s", cfg->data_dir, CONFIG_JWT_SECRET_FILE) < 0)
        return config_oom(err, errlen);
    int rc = config_read_secret(cfg, path, err, errlen);
    if (rc == 1)
        rc = config_generate_secret(cfg, path, err, errlen);
    if (rc == 1) /* lost a race with another process: use its secret */
        rc = config_read_secret(cfg, path, err, errlen);
    if (rc == 1)
        rc = config_fail(err, errlen, "CONVO_DATA_DIR %.200s: vanished while reading", path);
    free(path);
    return rc;
}

int config_prepare_data_dir(struct config *cfg, char *err, size_t errlen) {
    if (!cfg->data_dir)
        return config_fail(err, errlen, "CONVO_DATA_DIR: not configured");
    if (config_mkdirs(cfg->data_dir) < 0 || config_check_dir(cfg->data_dir) < 0)
        return config_fail(err, errlen, "CONVO_DATA_DIR %.200s: %s", cfg->data_dir,
                           strerror(errno));
    if (cfg->jwt_secret || cfg->redis_url)
        return 0;
    return config_load_secret(cfg, err, errlen);
}

/* ---- queries ---- */

int config_origin_allowed(const struct config *cfg, const char *origin, size_t len) {
    if (!origin || !cfg->allowed_origins)
        return 0;
    for (char **o = cfg->allowed_origins; *o; o++) {
        if (strlen(*o) == len && memcmp(*o, origin, len) == 0)
            return 1;
    }
    return 0;
}

int config_is_admin_email(const struct config *cfg, const char *email) {
    if (!email || !cfg->admin_emails)
        return 0;
    for (char **e = cfg->admin_emails; *e; e++) {
        if (strcasecmp(*e, email) == 0)
            return 1;
    }
    return 0;
}

void config_usage(FILE *out) {
    fprintf(out, "usage: convo [--flag value | --flag=value]...\n"
                 "Each flag may also be given by its environment variable; flags win.\n\n");
    for (int o = 0; o < CONFIG_OPT_COUNT; o++) {
        char left[64];
        snprintf(left, sizeof left, "%s %s", config_opts[o].flag, config_opts[o].arg);
        fprintf(out, "  %-36s %s\n      default: %s\n", left, config_opts[o].env,
                config_opts[o].shown);
    }
    fprintf(out, "  %-36s show this help\n  %-36s print the version\n", "-h, --help",
            "-V, --version");
}

/* ---- freeing ---- */

static void config_free_secret(char **s, size_t len) {
    if (*s) {
        sodium_memzero(*s, len ? len : strlen(*s));
        free(*s);
        *s = NULL;
    }
}

static void config_free_list(char ***list) {
    if (*list) {
        for (char **p = *list; *p; p++)
            free(*p);
        free(*list);
        *list = NULL;
    }
}

void config_free(struct config *cfg) {
    if (!cfg)
        return;
    config_free_secret(&cfg->jwt_secret, cfg->jwt_secret_len);
    config_free_secret(&cfg->oidc_client_secret, 0);
    config_free_secret(&cfg->database_url, 0); /* URLs may carry passwords */
    config_free_secret(&cfg->redis_url, 0);
    free(cfg->listen);
    free(cfg->listen_host);
    free(cfg->data_dir);
    free(cfg->public_origin);
    free(cfg->oidc_issuer);
    free(cfg->oidc_client_id);
    config_free_list(&cfg->allowed_origins);
    config_free_list(&cfg->admin_emails);
    memset(cfg, 0, sizeof *cfg);
}
