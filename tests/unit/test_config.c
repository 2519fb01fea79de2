/* test_config.c — unit tests of config.c: defaults, environment and flag precedence, every
 * validation error, origin and admin queries, and the data dir with its generated JWT secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define SECRET32 "0123456789abcdef0123456789abcdef"

static char *no_env[] = {NULL};

static int argc_of(char **argv) {
    int n = 0;
    while (argv[n])
        n++;
    return n;
}

/* Loads and expects success with action CONFIG_RUN. */
static void load_ok(struct config *cfg, char **argv, char **env) {
    enum config_action action = CONFIG_HELP;
    char err[256] = "";
    int rc = config_load(cfg, argc_of(argv), argv, env, &action, err, sizeof err);
    if (rc != 0)
        fail_msg("config_load failed: %s", err);
    assert_int_equal(action, CONFIG_RUN);
}

/* Loads and expects failure: one line naming `want`, never containing `secret`. */
static void load_fails(char **argv, char **env, const char *want, const char *secret) {
    struct config cfg;
    enum config_action action;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, argc_of(argv), argv, env, &action, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not mention %s", err, want);
    assert_null(strchr(err, '\n'));
    if (secret)
        assert_null(strstr(err, secret));
    config_free(&cfg);
    config_free(&cfg);
}

/* ---- temp dirs ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int tmp_setup(void **state) {
    char *dir = strdup("/tmp/convo-config-test-XXXXXX");
    if (!dir || !mkdtemp(dir)) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static int tmp_teardown(void **state) {
    char *dir = *state;
    int rc = nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
    return rc;
}

static char *path_join(const char *a, const char *b) {
    char *p = NULL;
    assert_true(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

static void write_file(const char *path, const char *content) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path) {
    static char buf[256];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* ---- loading ---- */

static void test_defaults(void **state) {
    (void)state;
    struct config cfg;
    char *argv[] = {"convo", NULL};
    load_ok(&cfg, argv, no_env);
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 8080);
    assert_string_equal(cfg.data_dir, "./data");
    assert_string_equal(cfg.database_url, "sqlite:./data/convo.db");
    assert_null(cfg.redis_url);
    assert_null(cfg.jwt_secret);
    assert_string_equal(cfg.public_origin, "http://localhost:8080");
    assert_string_equal(cfg.allowed_origins[0], "http://localhost:8080");
    assert_null(cfg.allowed_origins[1]);
    assert_int_equal(cfg.cookie_secure, 0);
    assert_null(cfg.oidc_issuer);
    assert_null(cfg.oidc_client_id);
    assert_null(cfg.oidc_client_secret);
    assert_null(cfg.admin_emails[0]);
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_int_equal(cfg.max_connections, 10000);
    config_free(&cfg);
    config_free(&cfg);
    assert_null(cfg.listen);
}

static void test_env_over_defaults(void **state) {
    (void)state;
    struct config cfg;
    char *argv[] = {"convo", NULL};
    char *env[] = {"PATH=/bin",
                   "CONVO_LISTEN=0.0.0.0:9090",
                   "CONVO_DATA_DIR=/var/lib/convo/",
                   "CONVO_REDIS_URL=redis://localhost:6379/0",
                   "CONVO_JWT_SECRET=" SECRET32,
                   "CONVO_PUBLIC_ORIGIN=https://chat.example.com/",
                   "CONVO_OIDC_GOOGLE_ISSUER=https://accounts.google.com",
                   "CONVO_OIDC_GOOGLE_CLIENT_ID=cid",
                   "CONVO_OIDC_GOOGLE_CLIENT_SECRET=csecret",
                   "CONVO_LOG=debug",
                   "CONVO_MAX_CONNECTIONS=42",
                   NULL};
    load_ok(&cfg, argv, env);
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 9090);
    assert_string_equal(cfg.data_dir, "/var/lib/convo");
    assert_string_equal(cfg.database_url, "sqlite:/var/lib/convo/convo.db");
    assert_string_equal(cfg.redis_url, "redis://localhost:6379/0");
    assert_string_equal(cfg.jwt_secret, SECRET32);
    assert_int_equal(cfg.jwt_secret_len, 32);
    assert_string_equal(cfg.public_origin, "https://chat.example.com");
    assert_int_equal(cfg.cookie_secure, 1);
    assert_string_equal(cfg.oidc_issuer, "https://accounts.google.com");
    assert_string_equal(cfg.oidc_client_id, "cid");
    assert_string_equal(cfg.oidc_client_secret, "csecret");
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    assert_int_equal(cfg.max_connections, 42);
    config_free(&cfg);
}

static void test_flag_over_env(void **state) {
    (void)state;
    struct config cfg;
    char *argv[] = {"convo",
                    "--listen",
                    "127.0.0.1:7000",
                    "--log=error",
                    "--data-dir",
                    "/tmp/x",
                    "--database-url=postgres://u:p@db/convo",
                    "--max-connections",
                    "1000000",
                    "--cookie-secure=off",
                    NULL};
    char *env[] = {"CONVO_LISTEN=0.0.0.0:9090", "CONVO_LOG=debug",
                   "CONVO_DATA_DIR=/srv",       "CONVO_DATABASE_URL=sqlite:/srv/a.db",
                   "CONVO_MAX_CONNECTIONS=5",   "CONVO_PUBLIC_ORIGIN=https://x.example",
                   "CONVO_COOKIE_SECURE=on",    NULL};
    load_ok(&cfg, argv, env);
    assert_string_equal(cfg.listen, "127.0.0.1:7000");
    assert_int_equal(cfg.listen_port, 7000);
    assert_int_equal(cfg.log_level, LOG_ERROR);
    assert_string_equal(cfg.data_dir, "/tmp/x");
    assert_string_equal(cfg.database_url, "postgres://u:p@db/convo");
    assert_int_equal(cfg.max_connections, 1000000);
    assert_int_equal(cfg.cookie_secure, 0);
    config_free(&cfg);
}

static void test_flag_forms_and_empty(void **state) {
    (void)state;
    struct config cfg;
    char *argv[] = {"convo",
                    "--jwt-secret=" SECRET32,
                    "--redis-url",
                    "redis://r:6379/1",
                    "--oidc-google-client-id=",
                    NULL};
    char *env[] = {"CONVO_OIDC_GOOGLE_CLIENT_ID=from-env", "CONVO_LOG=", NULL};
    load_ok(&cfg, argv, env);
    assert_string_equal(cfg.jwt_secret, SECRET32);
    assert_string_equal(cfg.redis_url, "redis://r:6379/1");
    assert_null(cfg.oidc_client_id); /* an empty flag unsets the variable */
    assert_int_equal(cfg.log_level, LOG_INFO);
    config_free(&cfg);
}

static void test_environ_when_envp_null(void **state) {
    (void)state;
    struct config cfg;
    char *argv[] = {"convo", NULL};
    assert_int_equal(setenv("CONVO_LOG", "warn", 1), 0);
    load_ok(&cfg, argv, NULL);
    unsetenv("CONVO_LOG");
    assert_int_equal(cfg.log_level, LOG_WARN);
    config_free(&cfg);
}

static void test_listen_forms(void **state) {
    (void)state;
    static const struct {
        const char *arg, *host;
        int port;
    } cases[] = {{"127.0.0.1:0", "127.0.0.1", 0},
                 {"0.0.0.0:8080", "0.0.0.0", 8080},
                 {"[::1]:9000", "::1", 9000},
                 {"[::]:65535", "::", 65535}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config cfg;
        char *argv[] = {"convo", "--listen", (char *)cases[i].arg, NULL};
        load_ok(&cfg, argv, no_env);
        assert_string_equal(cfg.listen, cases[i].arg);
        assert_string_equal(cfg.listen_host, cases[i].host);
        assert_int_equal(cfg.listen_port, cases[i].port);
        config_free(&cfg);
    }
}

static void test_cookie_secure(void **state) {
    (void)state;
    static const struct {
        const char *origin, *mode;
        int want;
    } cases[] = {{"http://localhost:8080", "auto", 0}, {"http://127.0.0.1:3000", "auto", 0},
                 {"http://localhost", "auto", 0},      {"https://localhost:8080", "auto", 1},
                 {"https://chat.example", "auto", 1},  {"http://localhost.evil:80", "auto", 1},
                 {"http://10.0.0.5:8080", "auto", 1},  {"https://chat.example", "false", 0},
                 {"http://localhost:8080", "true", 1}, {"http://localhost:8080", "1", 1},
                 {"https://chat.example", "0", 0},     {"http://localhost:8080", "on", 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config cfg;
        char *argv[] = {"convo",           "--public-origin",     (char *)cases[i].origin,
                        "--cookie-secure", (char *)cases[i].mode, NULL};
        load_ok(&cfg, argv, no_env);
        if (cfg.cookie_secure != cases[i].want)
            fail_msg("%s with %s: got %d", cases[i].origin, cases[i].mode, cfg.cookie_secure);
        config_free(&cfg);
    }
}

static void test_allowed_origins(void **state) {
    (void)state;
    struct config cfg;
    char *argv[] = {"convo", "--public-origin=https://chat.example.com", NULL};
    char *env[] = {"CONVO_ALLOWED_ORIGINS= https://a.example , ,http://b.example:8080/,"
                   "https://chat.example.com,HTTPS://C.Example",
                   NULL};
    load_ok(&cfg, argv, env);
    assert_string_equal(cfg.allowed_origins[0], "https://chat.example.com");
    assert_string_equal(cfg.allowed_origins[1], "https://a.example");
    assert_string_equal(cfg.allowed_origins[2], "http://b.example:8080");
    assert_string_equal(cfg.allowed_origins[3], "https://c.example");
    assert_null(cfg.allowed_origins[4]);
    const char *buf = "https://a.exampleXYZ";
    assert_true(config_origin_allowed(&cfg, buf, strlen("https://a.example")));
    assert_false(config_origin_allowed(&cfg, buf, strlen(buf)));
    assert_false(config_origin_allowed(&cfg, buf, strlen("https://a.exampl")));
    assert_true(config_origin_allowed(&cfg, "https://chat.example.com", 24));
    assert_false(config_origin_allowed(&cfg, "http://chat.example.com", 23));
    assert_false(config_origin_allowed(&cfg, "", 0));
    assert_false(config_origin_allowed(&cfg, NULL, 0));
    config_free(&cfg);
}

static void test_admin_emails(void **state) {
    (void)state;
    struct config cfg;
    char *argv[] = {"convo", "--admin-emails", " Alice@Example.COM,, bob@example.org ", NULL};
    load_ok(&cfg, argv, no_env);
    assert_string_equal(cfg.admin_emails[0], "alice@example.com");
    assert_string_equal(cfg.admin_emails[1], "bob@example.org");
    assert_null(cfg.admin_emails[2]);
    assert_true(config_is_admin_email(&cfg, "alice@example.com"));
    assert_true(config_is_admin_email(&cfg, "ALICE@EXAMPLE.COM"));
    assert_true(config_is_admin_email(&cfg, "Bob@Example.Org"));
    assert_false(config_is_admin_email(&cfg, "carol@example.com"));
    assert_false(config_is_admin_email(&cfg, "alice@example.co"));
    assert_false(config_is_admin_email(&cfg, NULL));
    config_free(&cfg);
}

static void test_help_and_version(void **state) {
    (void)state;
    static const struct {
        const char *arg;
        enum config_action want;
    } cases[] = {{"--help", CONFIG_HELP},
                 {"-h", CONFIG_HELP},
                 {"--version", CONFIG_VERSION},
                 {"-V", CONFIG_VERSION}};
    char *env[] = {"CONVO_LOG=nonsense", NULL}; /* not validated when only asking for help */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config cfg;
        enum config_action action = CONFIG_RUN;
        char err[128];
        char *argv[] = {"convo", "--listen=127.0.0.1:1", (char *)cases[i].arg, NULL};
        assert_int_equal(config_load(&cfg, 3, argv, env, &action, err, sizeof err), 0);
        assert_int_equal(action, cases[i].want);
        config_free(&cfg);
    }
}

static void test_usage_lists_everything(void **state) {
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    config_usage(f);
    fclose(f);
    static const char *const want[] = {"--listen",
                                       "CONVO_LISTEN",
                                       "127.0.0.1:8080",
                                       "--data-dir",
                                       "CONVO_DATA_DIR",
                                       "./data",
                                       "--database-url",
                                       "CONVO_DATABASE_URL",
                                       "--redis-url",
                                       "CONVO_REDIS_URL",
                                       "--jwt-secret",
                                       "CONVO_JWT_SECRET",
                                       "--public-origin",
                                       "CONVO_PUBLIC_ORIGIN",
                                       "http://localhost:8080",
                                       "--allowed-origins",
                                       "CONVO_ALLOWED_ORIGINS",
                                       "--cookie-secure",
                                       "CONVO_COOKIE_SECURE",
                                       "--oidc-google-issuer",
                                       "CONVO_OIDC_GOOGLE_ISSUER",
                                       "--oidc-google-client-id",
                                       "CONVO_OIDC_GOOGLE_CLIENT_ID",
                                       "--oidc-google-client-secret",
                                       "CONVO_OIDC_GOOGLE_CLIENT_SECRET",
                                       "--admin-emails",
                                       "CONVO_ADMIN_EMAILS",
                                       "--log",
                                       "CONVO_LOG",
                                       "--max-connections",
                                       "CONVO_MAX_CONNECTIONS",
                                       "10000",
                                       "--help",
                                       "--version"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!strstr(text, want[i]))
            fail_msg("usage lacks %s", want[i]);
    }
    free(text);
}

/* ---- validation errors ---- */

struct bad_case {
    const char *env[3];
    const char *args[3];
    const char *want;   /* must appear in the error */
    const char *secret; /* must not */
};

static const struct bad_case bad_cases[] = {
    {{"CONVO_LISTEN=localhost:8080"}, {NULL}, "CONVO_LISTEN", NULL},
    {{"CONVO_LISTEN=127.0.0.1"}, {NULL}, "CONVO_LISTEN", NULL},
    {{"CONVO_LISTEN=127.0.0.1:"}, {NULL}, "CONVO_LISTEN", NULL},
    {{"CONVO_LISTEN=127.0.0.1:65536"}, {NULL}, "CONVO_LISTEN", NULL},
    {{"CONVO_LISTEN=127.0.0.1:+80"}, {NULL}, "CONVO_LISTEN", NULL},
    {{"CONVO_LISTEN=127.0.0.1:8a"}, {NULL}, "CONVO_LISTEN", NULL},
    {{"CONVO_LISTEN=256.0.0.1:80"}, {NULL}, "CONVO_LISTEN", NULL},
    {{"CONVO_LISTEN=::1:80"}, {NULL}, "CONVO_LISTEN", NULL},
    {{"CONVO_LISTEN=[::1]9000"}, {NULL}, "CONVO_LISTEN", NULL},
    {{"CONVO_LISTEN=[::1:9000"}, {NULL}, "CONVO_LISTEN", NULL},
    {{"CONVO_LISTEN=[127.0.0.1]:80"}, {NULL}, "CONVO_LISTEN", NULL},
    {{"CONVO_LISTEN=:80"}, {NULL}, "CONVO_LISTEN", NULL},
    {{"CONVO_LISTEN=bad\nline:80"}, {NULL}, "CONVO_LISTEN", NULL},
    {{NULL}, {"--listen=nope"}, "--listen", NULL},
    {{"CONVO_JWT_SECRET=short-jwt-secret-value"},
     {NULL},
     "CONVO_JWT_SECRET",
     "short-jwt-secret-value"},
    {{NULL}, {"--jwt-secret", "tiny-secret-here"}, "--jwt-secret", "tiny-secret-here"},
    {{"CONVO_LOG=verbose"}, {NULL}, "CONVO_LOG", NULL},
    {{"CONVO_LOG=INFO"}, {NULL}, "CONVO_LOG", NULL},
    {{"CONVO_COOKIE_SECURE=maybe"}, {NULL}, "CONVO_COOKIE_SECURE", NULL},
    {{NULL}, {"--cookie-secure=yes"}, "--cookie-secure", NULL},
    {{"CONVO_DATABASE_URL=mysql://root:hunter22@db/x"}, {NULL}, "CONVO_DATABASE_URL", "hunter22"},
    {{"CONVO_DATABASE_URL=sqlite:"}, {NULL}, "CONVO_DATABASE_URL", NULL},
    {{"CONVO_DATABASE_URL=postgres://"}, {NULL}, "CONVO_DATABASE_URL", NULL},
    {{"CONVO_DATABASE_URL=/tmp/convo.db"}, {NULL}, "CONVO_DATABASE_URL", NULL},
    {{"CONVO_REDIS_URL=http://:pw-in-url@r:6379", "CONVO_JWT_SECRET=" SECRET32},
     {NULL},
     "CONVO_REDIS_URL",
     "pw-in-url"},
    {{"CONVO_REDIS_URL=redis://localhost:6379/0"}, {NULL}, "CONVO_JWT_SECRET", NULL},
    {{NULL}, {"--redis-url=redis://r/0"}, "--redis-url", NULL},
    {{"CONVO_PUBLIC_ORIGIN=ftp://chat.example"}, {NULL}, "CONVO_PUBLIC_ORIGIN", NULL},
    {{"CONVO_PUBLIC_ORIGIN=chat.example"}, {NULL}, "CONVO_PUBLIC_ORIGIN", NULL},
    {{"CONVO_PUBLIC_ORIGIN=https://"}, {NULL}, "CONVO_PUBLIC_ORIGIN", NULL},
    {{"CONVO_PUBLIC_ORIGIN=https://chat.example/app"}, {NULL}, "CONVO_PUBLIC_ORIGIN", NULL},
    {{"CONVO_ALLOWED_ORIGINS=https://ok.example,notanorigin"},
     {NULL},
     "CONVO_ALLOWED_ORIGINS",
     NULL},
    {{"CONVO_MAX_CONNECTIONS=0"}, {NULL}, "CONVO_MAX_CONNECTIONS", NULL},
    {{"CONVO_MAX_CONNECTIONS=1000001"}, {NULL}, "CONVO_MAX_CONNECTIONS", NULL},
    {{"CONVO_MAX_CONNECTIONS=10k"}, {NULL}, "CONVO_MAX_CONNECTIONS", NULL},
    {{NULL}, {"--max-connections=-1"}, "--max-connections", NULL},
    {{NULL}, {"--bogus"}, "--bogus", NULL},
    {{NULL}, {"--jwt-secet=mistyped-secret-value"}, "--jwt-secet", "mistyped-secret-value"},
    {{NULL}, {"--listen"}, "--listen", NULL},
    {{NULL}, {"--jwt-secret", "--log=info"}, "--jwt-secret", NULL},
    {{NULL}, {"positional"}, "argument", "positional"},
};

static void test_validation_errors(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        char *env[4] = {NULL}, *argv[5] = {"convo", NULL};
        for (size_t j = 0; j < 3 && c->env[j]; j++)
            env[j] = (char *)c->env[j];
        for (size_t j = 0; j < 3 && c->args[j]; j++)
            argv[j + 1] = (char *)c->args[j];
        print_message("case %zu: %s\n", i, c->want);
        load_fails(argv, env, c->want, c->secret);
    }
}

/* ---- data dir ---- */

static void load_with_dir(struct config *cfg, const char *dir, const char *extra) {
    char *argv[] = {"convo", "--data-dir", (char *)dir, (char *)extra, NULL};
    load_ok(cfg, argv, no_env);
}

static int is_hex64(const char *s) {
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++) {
        if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
            return 0;
    }
    return 1;
}

static void test_prepare_creates_dir_and_secret(void **state) {
    char *data = path_join(*state, "a/b/data");
    char *secret = path_join(data, CONFIG_JWT_SECRET_FILE);
    struct config cfg;
    struct stat st;
    char err[256];
    load_with_dir(&cfg, data, NULL);
    assert_int_equal(config_prepare_data_dir(&cfg, err, sizeof err), 0);
    assert_int_equal(stat(data, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_true(is_hex64(read_file(secret)));
    assert_int_equal(cfg.jwt_secret_len, 64);
    assert_string_equal(cfg.jwt_secret, read_file(secret));
    char first[65];
    memcpy(first, cfg.jwt_secret, sizeof first);
    config_free(&cfg);

    load_with_dir(&cfg, data, NULL); /* a restart reuses the same secret */
    assert_int_equal(config_prepare_data_dir(&cfg, err, sizeof err), 0);
    assert_string_equal(cfg.jwt_secret, first);
    config_free(&cfg);
    free(secret);
    free(data);
}

static void test_prepare_keeps_existing_mode(void **state) {
    char *data = path_join(*state, "existing");
    struct config cfg;
    struct stat st;
    char err[256];
    assert_int_equal(mkdir(data, 0700), 0);
    assert_int_equal(chmod(data, 0750), 0);
    load_with_dir(&cfg, data, NULL);
    assert_int_equal(config_prepare_data_dir(&cfg, err, sizeof err), 0);
    assert_int_equal(stat(data, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    config_free(&cfg);
    free(data);
}

static void test_prepare_reads_secret_with_newline(void **state) {
    char *secret = path_join(*state, CONFIG_JWT_SECRET_FILE);
    struct config cfg;
    char err[256];
    write_file(secret, SECRET32 "\n");
    load_with_dir(&cfg, *state, NULL);
    assert_int_equal(config_prepare_data_dir(&cfg, err, sizeof err), 0);
    assert_string_equal(cfg.jwt_secret, SECRET32);
    assert_int_equal(cfg.jwt_secret_len, 32);
    config_free(&cfg);
    free(secret);
}

static void test_prepare_configured_secret_writes_nothing(void **state) {
    static const char *const extra[] = {"--jwt-secret=" SECRET32 "XYZ", "--redis-url=redis://r/0"};
    char *secret = path_join(*state, CONFIG_JWT_SECRET_FILE);
    for (size_t i = 0; i < 2; i++) {
        struct config cfg;
        char err[256];
        char *argv[] = {"convo",          "--data-dir", *state, "--jwt-secret=" SECRET32 "XYZ",
                        (char *)extra[i], NULL};
        load_ok(&cfg, argv, no_env);
        assert_int_equal(config_prepare_data_dir(&cfg, err, sizeof err), 0);
        assert_string_equal(cfg.jwt_secret, SECRET32 "XYZ");
        assert_int_equal(access(secret, F_OK), -1);
        config_free(&cfg);
    }
    free(secret);
}

static void test_prepare_unwritable_dir_fails(void **state) {
    char *file = path_join(*state, "file");
    char *data = path_join(file, "sub");
    struct config cfg;
    char err[256] = "";
    write_file(file, "not a directory\n");
    load_with_dir(&cfg, data, NULL);
    assert_int_equal(config_prepare_data_dir(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "CONVO_DATA_DIR"));
    assert_null(strchr(err, '\n'));
    config_free(&cfg);

    load_with_dir(&cfg, file, NULL); /* the data dir itself is a file */
    assert_int_equal(config_prepare_data_dir(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "CONVO_DATA_DIR"));
    config_free(&cfg);
    free(data);
    free(file);
}

static void test_prepare_short_secret_fails(void **state) {
    char *secret = path_join(*state, CONFIG_JWT_SECRET_FILE);
    struct config cfg;
    char err[256] = "";
    write_file(secret, "tooshortsecretvalue\n");
    load_with_dir(&cfg, *state, NULL);
    assert_int_equal(config_prepare_data_dir(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, CONFIG_JWT_SECRET_FILE));
    assert_null(strstr(err, "tooshortsecretvalue"));
    assert_null(strchr(err, '\n'));
    assert_null(cfg.jwt_secret);
    config_free(&cfg);
    free(secret);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_env_over_defaults),
        cmocka_unit_test(test_flag_over_env),
        cmocka_unit_test(test_flag_forms_and_empty),
        cmocka_unit_test(test_environ_when_envp_null),
        cmocka_unit_test(test_listen_forms),
        cmocka_unit_test(test_cookie_secure),
        cmocka_unit_test(test_allowed_origins),
        cmocka_unit_test(test_admin_emails),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_usage_lists_everything),
        cmocka_unit_test(test_validation_errors),
        cmocka_unit_test_setup_teardown(test_prepare_creates_dir_and_secret, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_prepare_keeps_existing_mode, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_prepare_reads_secret_with_newline, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_prepare_configured_secret_writes_nothing, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_prepare_unwritable_dir_fails, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_prepare_short_secret_fails, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
