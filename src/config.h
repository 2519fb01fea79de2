/* config.h — CONVO's settings (SPEC §2): defaults, then environment variables, then --flags.
 *
 * config_load fills a struct config from argv and the environment and validates every value;
 * config_prepare_data_dir creates the data dir (0700) and the generated JWT secret (0600, once).
 * Neither logs secrets. Strings in struct config are owned by it and freed by config_free.
 */
#ifndef CONVO_CONFIG_H
#define CONVO_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "util/log.h"

#define CONFIG_JWT_SECRET_MIN  32 /* bytes, SPEC §2 */
#define CONFIG_JWT_SECRET_FILE "jwt.secret"

/* What config_load decided the process should do. */
enum config_action { CONFIG_RUN = 0, CONFIG_HELP, CONFIG_VERSION };

struct config {
    char *listen;      /* as given, e.g. "127.0.0.1:8080" */
    char *listen_host; /* "127.0.0.1" or "::1" (brackets removed) */
    int listen_port;   /* 0 = pick a free one */
    char *data_dir;
    char *database_url; /* "sqlite:PATH" or "postgres://…" */
    char *redis_url;    /* NULL = in-process bus */
    char *jwt_secret;   /* NULL until config_prepare_data_dir when generated */
    size_t jwt_secret_len;
    char *public_origin;    /* no trailing slash */
    char **allowed_origins; /* NULL-terminated; always contains public_origin first */
    int cookie_secure;      /* resolved: 1 or 0 */
    char *oidc_issuer;
    char *oidc_client_id;
    char *oidc_client_secret;
    char **admin_emails; /* NULL-terminated, lower-cased */
    enum log_level log_level;
    int max_connections; /* CONVO_MAX_CONNECTIONS, 1..1000000, default 10000 */
};

/* Parses argv (flags win) over envp (NULL = environ) over defaults; cfg is overwritten (zeroed
 * first). An empty value counts as unset. Returns 0 and sets *action, or -1 with one line (no
 * trailing newline) in err and cfg freed. On CONFIG_HELP/CONFIG_VERSION cfg stays empty.
 * Flags: --listen, --data-dir, --database-url, --redis-url, --jwt-secret, --public-origin,
 * --allowed-origins, --cookie-secure, --oidc-google-issuer, --oidc-google-client-id,
 * --oidc-google-client-secret, --admin-emails, --log, --max-connections; each as "--flag value" or
 * "--flag=value" (a separate value may not start with "--"); plus --help/-h and --version/-V. */
int config_load(struct config *cfg, int argc, char **argv, char **envp, enum config_action *action,
                char *err, size_t errlen);

/* Creates the data dir (mode 0700) when missing and checks it is writable; when no JWT secret was
 * configured and no Redis URL is set, reads CONFIG_JWT_SECRET_FILE there or generates it once
 * (32 random bytes, hex, mode 0600). Blocking file I/O: call before the loop runs.
 * Returns 0, or -1 with one line in err. */
int config_prepare_data_dir(struct config *cfg, char *err, size_t errlen);

/* 1 when origin (exact, case-sensitive scheme://host[:port]) is allowed, else 0. */
int config_origin_allowed(const struct config *cfg, const char *origin, size_t len);

/* 1 when email (any case) is in CONVO_ADMIN_EMAILS. */
int config_is_admin_email(const struct config *cfg, const char *email);

void config_usage(FILE *out);
void config_free(struct config *cfg);

#endif
