/* store_fixture.c — the shared fixture of the store unit tests (see store_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_fixture.h"

static uv_thread_t main_thread;

/* ---- fixture ---- */

int sf_setup(void **state, const char *dir_template) {
    sf_fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_true(strlen(dir_template) < sizeof fx->dir);
    strcpy(fx->dir, dir_template);
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/convo.db", fx->dir);
    snprintf(fx->url, sizeof fx->url, "sqlite:%s", fx->path);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    main_thread = uv_thread_self();
    *state = fx;
    return 0;
}

int sf_teardown(void **state) {
    sf_fixture *fx = *state;
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    DIR *d = opendir(fx->dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        char p[sizeof fx->dir + 260];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", fx->dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    assert_int_equal(rmdir(fx->dir), 0);
    free(fx);
    return 0;
}

store *sf_open_store(sf_fixture *fx) {
    store *s = NULL;
    char err[256] = "";
    if (store_open(&fx->loop, fx->url, &s, err, sizeof err) != 0)
        fail_msg("store_open: %s", err);
    assert_non_null(s);
    return s;
}

void sf_on_shutdown(int status, void *arg) {
    assert_int_equal(status, STORE_OK);
    *(int *)arg += 1;
}

void sf_close_store(sf_fixture *fx, store *s) {
    int done = 0;
    store_shutdown(s, sf_on_shutdown, &done);
    assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(done, 1);
    store_free(s);
}

int64_t sf_query_i64(sf_fixture *fx, const char *sql) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

void sf_run(sf_fixture *fx) {
    assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
}

/* ---- callbacks ---- */

void sf_assert_loop_thread(void) {
    assert_true(uv_thread_equal(&main_thread, &(uv_thread_t){uv_thread_self()}));
}

void sf_on_status(int status, void *arg) {
    sf_status_rec *r = arg;
    sf_assert_loop_thread();
    r->fired++;
    r->status = status;
}

void sf_on_never(int status, void *arg) {
    (void)status, (void)arg;
    fail_msg("a call that returned an error fired its callback");
}

/* ---- one call, run to its callback ---- */

int sf_status_call(sf_fixture *fx, int rc, sf_status_rec *r) {
    assert_int_equal(rc, 0);
    sf_run(fx);
    assert_int_equal(r->fired, 1);
    return r->status;
}

void sf_keep(char *dst, size_t n, const char *src) {
    snprintf(dst, n, "%s", src ? src : SF_NUL_TEXT);
}

const char *sf_tok(char buf[STORE_TOKEN_HASH_LEN + 1], unsigned n) {
    snprintf(buf, STORE_TOKEN_HASH_LEN + 1, "%064x", n);
    return buf;
}

int sf_delete_user(sf_fixture *fx, store *s, int64_t id) {
    sf_status_rec r = {0};
    return sf_status_call(fx, store_user_delete(s, id, sf_on_status, &r), &r);
}
