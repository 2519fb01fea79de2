/* test_store_sqlite.c — the store on its SQLite backend: migrations, chats, message append with
 * gap-free seq, idempotent retries, group commit, and shutdown. Seqs come from a cache of each
 * chat's last seq: checked against another writer on the same file, and against a read-mark job
 * in the same batch as the appends (chats.last_seq is written before any other job runs).
 * Checkpoints run on a thread of their own: the database file must grow while the store is open.
 * More chats than the seq cache holds empty it mid-batch without a repeated or skipped seq.
 *
 * Each test runs the real libuv loop against a real SQLite file in its own mkdtemp directory and
 * ends with uv_loop_close() == 0 (no leaked handle). Direct sqlite3 reads in here only check what
 * the store wrote, after it is shut down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"
#include "store_fixture.h"
#include "util/embed.h"

#define BURST       1000 /* appends queued in one loop turn for the group-commit test */
#define BURST_CHATS 3    /* chats those appends are spread over */

/* What a callback saw; one record per call. */
typedef struct record {
    int fired;
    int status;
    store_message msg;
    store_chat chat;
    char text[64];
    int order; /* position among all callbacks fired in the test */
} record;

static int fired_total;

/* ---- fixture ---- */

static int setup(void **state) {
    fired_total = 0;
    return sf_setup(state, "/tmp/convo-store-XXXXXX");
}

/* ---- callbacks ---- */

static void record_fire(record *r, int status) {
    sf_assert_loop_thread();
    r->fired++;
    r->status = status;
    r->order = fired_total++;
}

static void on_status(int status, void *arg) {
    record_fire(arg, status);
}

static void on_chat(int status, const store_chat *chat, void *arg) {
    record *r = arg;
    record_fire(r, status);
    assert_true(status == STORE_OK ? chat != NULL : chat == NULL);
    if (chat)
        r->chat = *chat;
    r->chat.category = NULL; /* not valid after the callback */
}

static void on_message(int status, const store_message *msg, void *arg) {
    record *r = arg;
    record_fire(r, status);
    assert_true(status == STORE_OK ? msg != NULL : msg == NULL);
    if (!msg)
        return;
    r->msg = *msg;
    snprintf(r->text, sizeof r->text, "%s", msg->text);
    r->msg.text = r->msg.client_msg_id = NULL;
}

static int64_t create_chat(sf_fixture *fx, store *s, int64_t a, int64_t b) {
    record r = {0};
    assert_int_equal(store_chat_create(s, "backend", a, b, on_chat, &r), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(r.fired, 1);
    assert_int_equal(r.status, STORE_OK);
    return r.chat.id;
}

static record append(sf_fixture *fx, store *s, int64_t chat, int64_t sender, const char *id,
                     const char *text) {
    record r = {0};
    assert_int_equal(store_message_append(s, chat, sender, id, text, on_message, &r), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(r.fired, 1);
    return r;
}

/* ---- tests ---- */

static void test_open_fresh_applies_migrations(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    assert_true(store_migrations_count >= 1);
    assert_int_equal(store_migrations_applied(s), store_migrations_count);
    assert_int_equal(store_commits(s), 0);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM schema_migrations"),
                     store_migrations_count);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM schema_migrations "
                                      "WHERE version = 1 AND name = '001_init.sql' "
                                      "AND applied_at LIKE '20%Z'"),
                     1);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
                                      "AND name IN ('chats', 'messages')"),
                     2);
    assert_int_equal(sf_query_i64(fx, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}

static void test_reopen_applies_none_and_keeps_data(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    record first = append(fx, s, chat, 1, "m1", "hello");
    sf_close_store(fx, s);

    s = sf_open_store(fx);
    assert_int_equal(store_migrations_applied(s), 0);
    record again = append(fx, s, chat, 1, "m1", "hello");
    assert_int_equal(again.status, STORE_OK);
    assert_int_equal(again.msg.duplicate, 1);
    assert_int_equal(again.msg.id, first.msg.id);
    record next = append(fx, s, chat, 2, "m2", "hi");
    assert_int_equal(next.msg.seq, 2);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM schema_migrations"),
                     store_migrations_count);
}

static void test_chat_create(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    record r = {0};
    assert_int_equal(store_chat_create(s, "frontend", 10, 20, on_chat, &r), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(r.fired, 1);
    assert_int_equal(r.status, STORE_OK);
    assert_true(r.chat.id > 0);
    assert_int_equal(r.chat.user_a, 10);
    assert_int_equal(r.chat.user_b, 20);
    assert_int_equal(r.chat.ended_at_ms, 0);
    assert_int_equal(r.chat.last_seq, 0);
    assert_true(r.chat.started_at_ms > 1600000000000LL);
    assert_int_equal(store_chat_create(s, "frontend", 10, 10, on_chat, &r), STORE_ERR_INVALID);
    assert_int_equal(store_chat_create(s, "", 10, 20, on_chat, &r), STORE_ERR_INVALID);
    assert_int_equal(store_chat_create(s, NULL, 10, 20, on_chat, &r), STORE_ERR_INVALID);
    assert_int_equal(r.fired, 1);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM chats WHERE category = 'frontend' "
                                      "AND ended_at IS NULL AND last_seq = 0"),
                     1);
}

static void test_append_assigns_seq_without_gaps(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    record r[3] = {{0}};
    const char *ids[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        r[i] = append(fx, s, chat, 1 + i % 2, ids[i], ids[i]);
        assert_int_equal(r[i].status, STORE_OK);
        assert_int_equal(r[i].msg.seq, i + 1);
        assert_int_equal(r[i].msg.chat_id, chat);
        assert_int_equal(r[i].msg.sender_id, 1 + i % 2);
        assert_int_equal(r[i].msg.duplicate, 0);
        assert_string_equal(r[i].text, ids[i]);
        assert_true(r[i].msg.sent_at_ms > 1600000000000LL);
    }
    assert_true(r[0].msg.id < r[1].msg.id && r[1].msg.id < r[2].msg.id);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats"), 3);
}

static void test_group_commit_burst(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t chats[BURST_CHATS];
    for (int c = 0; c < BURST_CHATS; c++)
        chats[c] = create_chat(fx, s, 100 + c, 200 + c);
    uint64_t commits = store_commits(s), jobs = store_jobs(s);
    fired_total = 0;
    record *r = calloc(BURST, sizeof *r);
    assert_non_null(r);
    char id[32];
    for (int i = 0; i < BURST; i++) {
        snprintf(id, sizeof id, "burst-%d", i);
        assert_int_equal(
            store_message_append(s, chats[i % BURST_CHATS], 7, id, "x", on_message, &r[i]), 0);
    }
    assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
    uint64_t batches = store_commits(s) - commits;
    print_message("%d appends committed in %llu transactions\n", BURST,
                  (unsigned long long)batches);
    assert_true(batches >= 1 && batches <= 50);
    assert_int_equal(store_jobs(s) - jobs, BURST);
    int64_t next_seq[BURST_CHATS] = {1, 1, 1};
    for (int i = 0; i < BURST; i++) {
        assert_int_equal(r[i].fired, 1);
        assert_int_equal(r[i].status, STORE_OK);
        assert_int_equal(r[i].order, i); /* callbacks fire in call order */
        assert_int_equal(r[i].msg.seq, next_seq[i % BURST_CHATS]++);
    }
    free(r);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), BURST);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM chats c WHERE last_seq = "
                                      "(SELECT COUNT(*) FROM messages m WHERE m.chat_id = c.id) "
                                      "AND last_seq = (SELECT MAX(seq) FROM messages m "
                                      "WHERE m.chat_id = c.id)"),
                     BURST_CHATS);
}

static void test_idempotent_client_msg_id(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    record r[4] = {{0}};
    /* The first three run in one batch: the retry sees the row its batch just wrote. */
    assert_int_equal(store_message_append(s, chat, 1, "same", "hello", on_message, &r[0]), 0);
    assert_int_equal(store_message_append(s, chat, 1, "same", "edited", on_message, &r[1]), 0);
    assert_int_equal(store_message_append(s, chat, 2, "same", "other", on_message, &r[2]), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    r[3] = append(fx, s, chat, 1, "same", "hello");
    assert_int_equal(r[0].msg.duplicate, 0);
    for (int i = 1; i <= 3; i += 2) {
        assert_int_equal(r[i].status, STORE_OK);
        assert_int_equal(r[i].msg.duplicate, 1);
        assert_int_equal(r[i].msg.id, r[0].msg.id);
        assert_int_equal(r[i].msg.seq, 1);
        assert_int_equal(r[i].msg.sent_at_ms, r[0].msg.sent_at_ms);
        assert_string_equal(r[i].text, "hello"); /* the stored text, not the retry's */
    }
    assert_int_equal(r[2].msg.duplicate, 0); /* another sender may reuse the id */
    assert_int_equal(r[2].msg.seq, 2);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 2);
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats"), 2);
}

static void test_unknown_chat_is_not_found(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    record r[3] = {{0}};
    /* One batch: the failing job must not spoil its neighbours. */
    assert_int_equal(store_message_append(s, chat, 1, "a", "one", on_message, &r[0]), 0);
    assert_int_equal(store_message_append(s, 9999, 1, "b", "lost", on_message, &r[1]), 0);
    assert_int_equal(store_message_append(s, chat, 1, "c", "two", on_message, &r[2]), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(r[0].status, STORE_OK);
    assert_int_equal(r[1].status, STORE_ERR_NOT_FOUND);
    assert_int_equal(r[2].status, STORE_OK);
    assert_int_equal(r[0].msg.seq, 1);
    assert_int_equal(r[2].msg.seq, 2);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 2);
}

/* Runs one statement on the file through a connection of the test's own, while the store has
 * it open (WAL lets a second writer in between the store's batches). */
static void exec_beside(sf_fixture *fx, const char *sql) {
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_close(db);
}

/* A second connection takes the write lock: the store thread then waits in its BEGIN (busy
 * timeout) while the test queues more jobs, which lets a test put jobs in one batch. */
static sqlite3 *hold_write_lock(sf_fixture *fx) {
    sqlite3 *lock = NULL;
    assert_int_equal(sqlite3_open_v2(fx->path, &lock, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    return lock;
}

static void release_write_lock(sqlite3 *lock) {
    assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
}

static void test_another_writer_does_not_break_seq(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    assert_int_equal(append(fx, s, chat, 1, "a", "one").msg.seq, 1); /* seq 1 now cached */
    char sql[256];
    snprintf(sql, sizeof sql,
             "BEGIN; INSERT INTO messages (chat_id, seq, sender_id, client_msg_id, text, sent_at) "
             "VALUES (%lld, 2, 2, 'x', 'from elsewhere', 1); "
             "UPDATE chats SET last_seq = 2 WHERE id = %lld; COMMIT",
             (long long)chat, (long long)chat);
    exec_beside(fx, sql);
    record r = append(fx, s, chat, 1, "b", "two");
    assert_int_equal(r.status, STORE_OK);
    assert_int_equal(r.msg.seq, 3);
    assert_int_equal(r.msg.duplicate, 0);
    record again = append(fx, s, chat, 2, "x", "from elsewhere"); /* its retry is known */
    assert_int_equal(again.msg.duplicate, 1);
    assert_int_equal(again.msg.seq, 2);
    /* A row whose writer did not raise chats.last_seq: the reload takes the highest stored seq. */
    snprintf(sql, sizeof sql,
             "INSERT INTO messages (chat_id, seq, sender_id, client_msg_id, text, sent_at) "
             "VALUES (%lld, 4, 2, 'y', 'last_seq not raised', 1)",
             (long long)chat);
    exec_beside(fx, sql);
    record past = append(fx, s, chat, 1, "c", "three");
    assert_int_equal(past.status, STORE_OK);
    assert_int_equal(past.msg.seq, 5);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats"), 5);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 5);
}

static void test_read_mark_in_the_batch_of_its_appends(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    record r[3] = {{0}};
    sf_status_rec read = {0};
    /* A second connection holds the write lock, so the store thread waits in its BEGIN while
     * the later jobs queue up: the read mark shares a batch with appends not yet committed
     * (all four together, or the first append alone and then the other three). */
    sqlite3 *lock = hold_write_lock(fx);
    assert_int_equal(store_message_append(s, chat, 1, "a", "one", on_message, &r[0]), 0);
    uv_sleep(100);
    assert_int_equal(store_message_append(s, chat, 1, "b", "two", on_message, &r[1]), 0);
    assert_int_equal(store_message_append(s, chat, 1, "c", "three", on_message, &r[2]), 0);
    assert_int_equal(store_chat_mark_read(s, chat, 2, 3, sf_on_status, &read), 0);
    release_write_lock(lock);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(read.fired, 1);
    assert_int_equal(read.status, STORE_OK);
    assert_int_equal(r[2].msg.seq, 3);
    assert_true(store_commits(s) <= 3); /* the chat, then one or two batches */
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT read_seq_b FROM chats"), 3);
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats"), 3);
}

static void on_message_counted(int status, const store_message *msg, void *arg) {
    (void)msg;
    int *ok = arg;
    *ok += status == STORE_OK;
}

static int64_t file_bytes(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* Automatic checkpoints are off on the writer: the checkpoint thread must copy the log into the
 * database file while the store is open, or the WAL would grow without end. */
static void test_checkpoints_run_while_open(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    int64_t before = file_bytes(fx->path);
    char text[1025], id[16];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    int ok = 0;
    for (int i = 0; i < 6000; i++) { /* ~6 MB of rows: well past 1000 pages of log */
        snprintf(id, sizeof id, "m%d", i);
        assert_int_equal(
            store_message_append(s, chat, 1 + i % 2, id, text, on_message_counted, &ok), 0);
        if (i % 500 == 499)
            uv_run(&fx->loop, UV_RUN_DEFAULT);
    }
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(ok, 6000);
    for (int i = 0; i < 100 && file_bytes(fx->path) < before + 4 * 1024 * 1024; i++)
        uv_sleep(50);
    assert_true(file_bytes(fx->path) >= before + 4 * 1024 * 1024);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats"), 6000);
}

static void on_chat_id(int status, const store_chat *chat, void *arg) {
    int64_t *id = arg;
    *id = status == STORE_OK ? chat->id : -1;
}

static void on_seq(int status, const store_message *msg, void *arg) {
    int64_t *seq = arg;
    *seq = status == STORE_OK ? msg->seq : -1;
}

/* Appends one message to each of chats[from, to) (ids in chats), seqs into seqs; queued in one
 * loop turn so the store cuts them into full batches. */
static void append_each(sf_fixture *fx, store *s, const int64_t *chats, int64_t *seqs, int from,
                        int to, const char *id) {
    for (int i = from; i < to; i++)
        assert_int_equal(store_message_append(s, chats[i], 1, id, "x", on_seq, &seqs[i]), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
}

/* More chats than the seq cache holds: it is emptied in the middle of a batch (what that batch
 * gave out is written first) and loaded again; no seq repeats or skips, last_seq stays exact. */
static void test_seq_cache_overflow(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    const int n = STORE_SEQ_CACHE_MAX + 10, warm = STORE_SEQ_CACHE_MAX - 10;
    int64_t *chats = calloc((size_t)n, sizeof *chats), *seqs = calloc((size_t)n, sizeof *seqs);
    assert_non_null(chats);
    assert_non_null(seqs);
    for (int from = 0; from < n; from += 8192) {
        for (int i = from; i < n && i < from + 8192; i++)
            assert_int_equal(store_chat_create(s, "backend", 1, 2, on_chat_id, &chats[i]), 0);
        uv_run(&fx->loop, UV_RUN_DEFAULT);
    }
    for (int from = 0; from < warm; from += 8192) /* the cache fills up to 10 short of full */
        append_each(fx, s, chats, seqs, from, from + 8192 < warm ? from + 8192 : warm, "first");
    /* The last 20 in as few batches as the store makes of them while a second connection holds
     * the write lock: the cache overflows at the 11th, with the ones before it not yet written. */
    sqlite3 *lock = hold_write_lock(fx);
    assert_int_equal(store_message_append(s, chats[warm], 1, "first", "x", on_seq, &seqs[warm]), 0);
    uv_sleep(100);
    for (int i = warm + 1; i < n; i++)
        assert_int_equal(store_message_append(s, chats[i], 1, "first", "x", on_seq, &seqs[i]), 0);
    release_write_lock(lock);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    for (int i = 0; i < n; i++)
        if (chats[i] <= 0 || seqs[i] != 1)
            fail_msg("chat %d: id %lld, seq %lld", i, (long long)chats[i], (long long)seqs[i]);
    /* A second message to chats cached before the overflow, around it and after it. */
    int probes[] = {0, warm - 1, warm, warm + 9, warm + 10, n - 1};
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        record r = append(fx, s, chats[probes[k]], 2, "second", "y");
        assert_int_equal(r.status, STORE_OK);
        assert_int_equal(r.msg.seq, 2);
    }
    sf_close_store(fx, s);
    free(chats);
    free(seqs);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), n + 6);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM chats c WHERE last_seq <> "
                                      "(SELECT MAX(seq) FROM messages m WHERE m.chat_id = c.id)"),
                     0);
}

static void test_invalid_arguments(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    char big[STORE_TEXT_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    record r = {0};
    assert_int_equal(store_message_append(s, 1, 1, "", "t", on_message, &r), STORE_ERR_INVALID);
    assert_int_equal(store_message_append(s, 1, 1, NULL, "t", on_message, &r), STORE_ERR_INVALID);
    assert_int_equal(store_message_append(s, 1, 1, "id", "", on_message, &r), STORE_ERR_INVALID);
    assert_int_equal(store_message_append(s, 1, 1, "id", big, on_message, &r), STORE_ERR_INVALID);
    assert_int_equal(store_ping(NULL, sf_on_never, NULL), STORE_ERR_INVALID);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(r.fired, 0);
    sf_close_store(fx, s);
}

static void test_calls_after_shutdown_are_closed(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int done = 0;
    store_shutdown(s, sf_on_shutdown, &done);
    store_shutdown(s, sf_on_shutdown, &done); /* ignored */
    assert_int_equal(store_ping(s, sf_on_never, NULL), STORE_ERR_CLOSED);
    assert_int_equal(store_chat_create(s, "qa", 1, 2, NULL, NULL), STORE_ERR_CLOSED);
    assert_int_equal(store_message_append(s, 1, 1, "id", "t", NULL, NULL), STORE_ERR_CLOSED);
    assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(done, 1);
    store_free(s);
}

typedef struct drain_state {
    record r[200];
    int done_fired;
    int fired_at_done;
} drain_state;

static void on_drained(int status, void *arg) {
    drain_state *d = arg;
    assert_int_equal(status, STORE_OK);
    d->done_fired++;
    d->fired_at_done = fired_total;
}

static void test_shutdown_drains_queue(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    fired_total = 0;
    drain_state *d = calloc(1, sizeof *d);
    assert_non_null(d);
    char id[16];
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof id, "d%d", i);
        assert_int_equal(store_message_append(s, chat, 1, id, "t", on_message, &d->r[i]), 0);
    }
    store_shutdown(s, on_drained, d);
    assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(d->done_fired, 1);
    assert_int_equal(d->fired_at_done, 200);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(d->r[i].fired, 1);
        assert_int_equal(d->r[i].status, STORE_OK);
        assert_int_equal(d->r[i].msg.seq, i + 1);
    }
    free(d);
    store_free(s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 200);
}

static void test_ping(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    record r = {0};
    assert_int_equal(store_ping(s, on_status, &r), 0);
    assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(r.fired, 1);
    assert_int_equal(r.status, STORE_OK);
    assert_int_equal(store_commits(s), 1);
    assert_int_equal(store_jobs(s), 1);
    sf_close_store(fx, s);
}

static void expect_open_fails(sf_fixture *fx, const char *url, int want, const char *needle) {
    store *s = (store *)1;
    char err[256] = "";
    assert_int_equal(store_open(&fx->loop, url, &s, err, sizeof err), want);
    assert_null(s);
    assert_true(strlen(err) > 0);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void test_bad_url_fails_with_message(void **state) {
    sf_fixture *fx = *state;
    expect_open_fails(fx, "sqlite:/proc/nope/x.db", STORE_ERR_UNAVAILABLE, "/proc/nope/x.db");
    expect_open_fails(fx, "sqlite:", STORE_ERR_INVALID, "empty");
    expect_open_fails(fx, "mysql://localhost/x", STORE_ERR_INVALID, "scheme");
    assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, sf_teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_fresh_applies_migrations),
        T(test_reopen_applies_none_and_keeps_data),
        T(test_chat_create),
        T(test_append_assigns_seq_without_gaps),
        T(test_group_commit_burst),
        T(test_idempotent_client_msg_id),
        T(test_unknown_chat_is_not_found),
        T(test_another_writer_does_not_break_seq),
        T(test_read_mark_in_the_batch_of_its_appends),
        T(test_checkpoints_run_while_open),
        T(test_seq_cache_overflow),
        T(test_invalid_arguments),
        T(test_calls_after_shutdown_are_closed),
        T(test_shutdown_drains_queue),
        T(test_ping),
        T(test_bad_url_fails_with_message),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
