/* test_sqlite_paced.c — the paced VFS (store/sqlite_paced.h): registered once and never as the
 * default; a database's and its WAL's writes synced every SQLITE_PACED_BYTES (1 MiB of rows and a
 * 1 MiB checkpoint each add about eight syncs, not one per write); a connection on the default VFS
 * and temporary files add none; a paced writer, a default-VFS reader and a paced checkpoint share
 * one WAL database, and what they wrote reads back whole after a reopen; the rests the syncs earn
 * are taken when the thread asks, not during SQLite's writes; neither syncs nor rests while any
 * reason to hurry is set; a rest never longer than SQLITE_PACED_REST_MAX_MS.
 *
 * Each test works in its own mkdtemp directory under /tmp, removed afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <string.h>
#include <uv.h>

#include "store/sqlite_paced.h"
#include "store_fixture.h"

#define ROWS       64
#define ROW_BYTES  16384              /* ROWS of them: 1 MiB */
#define WRITTEN    (ROWS * ROW_BYTES) /* bytes of rows one fill writes */
#define SYNCS_LOW  (WRITTEN / SQLITE_PACED_BYTES - 1)
#define SYNCS_HIGH (2 * WRITTEN / SQLITE_PACED_BYTES + 2)

static int setup(void **state) {
    return sf_setup(state, "/tmp/convo-paced-XXXXXX");
}

static sqlite3 *open_db(const char *path, const char *vfs) {
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    assert_int_equal(sqlite3_open_v2(path, &db, flags, vfs), SQLITE_OK);
    return db;
}

static void exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
}

static int64_t query_i64(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *query_text(sqlite3 *db, const char *sql, char *out, size_t n) {
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

/* A WAL database with no syncs of SQLite's own (synchronous = OFF): any sync is the VFS's. */
static sqlite3 *open_wal(sf_fixture *fx, const char *vfs) {
    sqlite3 *db = open_db(fx->path, vfs);
    char mode[16];
    assert_string_equal(query_text(db, "PRAGMA journal_mode = WAL", mode, sizeof mode), "wal");
    exec(db, "PRAGMA synchronous = OFF; PRAGMA wal_autocheckpoint = 0");
    exec(db, "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, b BLOB)");
    return db;
}

/* One transaction of ROWS rows of ROW_BYTES random bytes each. */
static void fill(sqlite3 *db, const char *table) {
    char sql[160];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO %s (b) SELECT randomblob(%d) FROM n",
             ROWS, table, ROW_BYTES);
    exec(db, sql);
}

static void test_registered_not_default(void **state) {
    (void)state;
    assert_int_equal(sqlite_paced_register(), SQLITE_OK);
    assert_int_equal(sqlite_paced_register(), SQLITE_OK);
    sqlite3_vfs *paced = sqlite3_vfs_find(SQLITE_PACED_VFS);
    assert_non_null(paced);
    assert_ptr_not_equal(sqlite3_vfs_find(NULL), paced);
    assert_string_equal(sqlite_paced_vfs(), SQLITE_PACED_VFS);
}

static void test_wal_and_checkpoint_synced_in_pieces(void **state) {
    sf_fixture *fx = *state;
    sqlite3 *db = open_wal(fx, sqlite_paced_vfs());
    uint64_t before = sqlite_paced_syncs();
    fill(db, "t");
    uint64_t wal_syncs = sqlite_paced_syncs() - before;
    assert_in_range(wal_syncs, SYNCS_LOW, SYNCS_HIGH);

    /* The checkpoint copies the same megabyte into the database file (and truncates the WAL). */
    before = sqlite_paced_syncs();
    assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
                     SQLITE_OK);
    assert_in_range(sqlite_paced_syncs() - before, SYNCS_LOW, SYNCS_HIGH);
    assert_int_equal(query_i64(db, "SELECT count(*) FROM t"), ROWS);
    sqlite3_close(db);
}

static void test_default_vfs_not_paced(void **state) {
    sf_fixture *fx = *state;
    sqlite3 *db = open_wal(fx, NULL);
    uint64_t before = sqlite_paced_syncs();
    fill(db, "t");
    assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite_paced_syncs(), before);
    sqlite3_close(db);
}

/* Temporary tables spill to a temporary file (a tiny cache), which is not paced. */
static void test_temp_files_not_paced(void **state) {
    sf_fixture *fx = *state;
    sqlite3 *db = open_wal(fx, sqlite_paced_vfs());
    exec(db, "PRAGMA temp_store = FILE; PRAGMA cache_size = 16; "
             "CREATE TEMP TABLE scratch (id INTEGER PRIMARY KEY, b BLOB)");
    uint64_t before = sqlite_paced_syncs();
    fill(db, "scratch");
    assert_int_equal(query_i64(db, "SELECT count(*) FROM scratch"), ROWS);
    assert_int_equal(sqlite_paced_syncs(), before);
    sqlite3_close(db);
}

static void test_mixed_connections_share_the_wal(void **state) {
    sf_fixture *fx = *state;
    sqlite3 *writer = open_wal(fx, sqlite_paced_vfs());
    sqlite3 *reader = open_wal(fx, NULL);
    fill(writer, "t");
    assert_int_equal(query_i64(reader, "SELECT count(*) FROM t"), ROWS);
    fill(reader, "t"); /* and the other way */
    assert_int_equal(query_i64(writer, "SELECT count(*) FROM t"), 2 * ROWS);
    int64_t sum = query_i64(reader, "SELECT sum(length(b)) FROM t");
    assert_int_equal(sum, 2 * (int64_t)WRITTEN);

    sqlite3 *ckpt = open_db(fx->path, sqlite_paced_vfs());
    exec(ckpt, "PRAGMA journal_mode"); /* a connection learns of the WAL on first use */
    int log = -1, copied = -1;
    assert_int_equal(
        sqlite3_wal_checkpoint_v2(ckpt, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied), SQLITE_OK);
    assert_true(log > 0);
    assert_int_equal(copied, log);
    sqlite3_close(ckpt);
    sqlite3_close(reader);
    sqlite3_close(writer);

    sqlite3 *db = open_db(fx->path, NULL);
    char ok[16];
    assert_string_equal(query_text(db, "PRAGMA integrity_check", ok, sizeof ok), "ok");
    assert_int_equal(query_i64(db, "SELECT count(*) FROM t"), 2 * ROWS);
    assert_int_equal(query_i64(db, "SELECT sum(length(b)) FROM t"), sum);
    sqlite3_close(db);
}

/* The syncs earn rests that are not taken while SQLite writes (it may hold the write lock) but
 * when the thread asks, within the wall time of the fill and the rest. */
static void test_rests_after_syncs(void **state) {
    sf_fixture *fx = *state;
    assert_int_equal(sqlite_paced_hurrying(), 0);
    sqlite3 *db = open_wal(fx, sqlite_paced_vfs());
    uint64_t rest0 = sqlite_paced_rest_ns(), t0 = uv_hrtime();
    fill(db, "t");
    assert_int_equal(sqlite_paced_rest_ns(), rest0); /* owed, not taken */
    sqlite_paced_take_rest(0);
    uint64_t rested = sqlite_paced_rest_ns() - rest0, wall = uv_hrtime() - t0;
    assert_true(rested > 0);
    assert_true(rested < wall);
    sqlite_paced_take_rest(0); /* nothing is owed twice */
    assert_int_equal(sqlite_paced_rest_ns() - rest0, rested);
    sqlite3_close(db);
}

/* Any reason set is enough to skip the syncs and the rests; with none left they come back. */
static void test_hurry_skips_syncs_and_rests(void **state) {
    sf_fixture *fx = *state;
    sqlite3 *db = open_wal(fx, sqlite_paced_vfs());
    sqlite_paced_hurry(SQLITE_PACED_HURRY_FOLD, 1);
    sqlite_paced_hurry(SQLITE_PACED_HURRY_WAL, 1);
    assert_int_equal(sqlite_paced_hurrying(), SQLITE_PACED_HURRY_FOLD | SQLITE_PACED_HURRY_WAL);
    uint64_t syncs0 = sqlite_paced_syncs(), rest0 = sqlite_paced_rest_ns();
    fill(db, "t");
    sqlite_paced_hurry(SQLITE_PACED_HURRY_FOLD, 0);
    fill(db, "t");
    sqlite_paced_take_rest(1000000); /* even a rest asked for outright */
    assert_int_equal(sqlite_paced_syncs(), syncs0);
    assert_int_equal(sqlite_paced_rest_ns(), rest0);
    sqlite_paced_hurry(SQLITE_PACED_HURRY_WAL, 0);
    assert_int_equal(sqlite_paced_hurrying(), 0);
    fill(db, "t");
    assert_in_range(sqlite_paced_syncs() - syncs0, SYNCS_LOW, SYNCS_HIGH);
    sqlite_paced_take_rest(0);
    assert_true(sqlite_paced_rest_ns() > rest0);
    assert_int_equal(query_i64(db, "SELECT count(*) FROM t"), 3 * ROWS);
    sqlite3_close(db);
}

/* A rest is bounded: a second asked for sleeps SQLITE_PACED_REST_MAX_MS, no more. */
static void test_rest_is_capped(void **state) {
    (void)state;
    assert_int_equal(sqlite_paced_hurrying(), 0);
    uint64_t rest0 = sqlite_paced_rest_ns(), t0 = uv_hrtime();
    sqlite_paced_take_rest(1000000000u);
    uint64_t wall = uv_hrtime() - t0, cap = (uint64_t)SQLITE_PACED_REST_MAX_MS * 1000000u;
    assert_int_equal(sqlite_paced_rest_ns() - rest0, cap);
    assert_true(wall >= cap);
    assert_true(wall < 1000000000u / 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registered_not_default),
        cmocka_unit_test_setup_teardown(test_wal_and_checkpoint_synced_in_pieces, setup,
                                        sf_teardown),
        cmocka_unit_test_setup_teardown(test_default_vfs_not_paced, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_temp_files_not_paced, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_mixed_connections_share_the_wal, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_rests_after_syncs, setup, sf_teardown),
        cmocka_unit_test(test_rest_is_capped),
        cmocka_unit_test_setup_teardown(test_hurry_skips_syncs_and_rests, setup, sf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
