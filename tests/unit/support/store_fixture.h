/* store_fixture.h — the shared fixture of the store unit tests: a real SQLite file in its own
 * mkdtemp directory and a libuv loop, opening a store and shutting it down with the loop run
 * until its handle is closed, a read-only query on the file afterwards, and the status-only
 * callbacks and one-call helpers the tests share. Every test ends with uv_loop_close() == 0;
 * failures are reported through cmocka assertions.
 */
#ifndef CONVO_TEST_STORE_FIXTURE_H
#define CONVO_TEST_STORE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store/store.h"

#define SF_NUL_TEXT "<NULL>" /* what a record keeps for a NULL string */

typedef struct sf_fixture {
    char dir[64];
    char path[128];
    char url[160];
    uv_loop_t loop;
} sf_fixture;

/* What a status-only callback saw. */
typedef struct sf_status_rec {
    int fired, status;
} sf_status_rec;

/* cmocka setup with a mkdtemp template ("/tmp/convo-x-XXXXXX"); records the loop thread. */
int sf_setup(void **state, const char *dir_template);
/* cmocka teardown: closes the loop (asserting no handle is left) and removes the directory. */
int sf_teardown(void **state);

store *sf_open_store(sf_fixture *fx);
void sf_on_shutdown(int status, void *arg);
/* Shuts the store down, runs the loop until the store's handle is closed, frees it. */
void sf_close_store(sf_fixture *fx, store *s);
/* Runs one query on the file with a read-only connection of its own (while the store is open it
 * sees what the store committed); returns the first column of row one. */
int64_t sf_query_i64(sf_fixture *fx, const char *sql);
/* Runs the loop until nothing is left to do. */
void sf_run(sf_fixture *fx);

/* Asserts a callback runs on the thread that ran sf_setup. */
void sf_assert_loop_thread(void);
void sf_on_status(int status, void *arg); /* arg: sf_status_rec */
void sf_on_never(int status, void *arg);  /* fails: for calls that must not be queued */

/* Asserts the call returned 0, runs it to its callback and returns the status it saw. */
int sf_status_call(sf_fixture *fx, int rc, sf_status_rec *r);
/* Copies src into dst[n], truncating; a NULL src reads SF_NUL_TEXT. */
void sf_keep(char *dst, size_t n, const char *src);
/* A distinct token hash: 64 lowercase hex digits. */
const char *sf_tok(char buf[STORE_TOKEN_HASH_LEN + 1], unsigned n);
int sf_delete_user(sf_fixture *fx, store *s, int64_t id);

#endif
