/* test_store_sqlite.c — the store on its SQLite backend: migrations, chats, message append with
 * gap-free seq, idempotent retries, group commit, and shutdown. Appends go to the message log and
 * are folded into the table later: reads (history, summaries, context, read marks) must see rows
 * not yet folded; folds run while the store is open and a retry of a folded message is still a
 * repeat; a second store on the same file is refused. Checkpoints run on a thread of their own:
 * the database file must grow while the store is open. More chats than the appender keeps states
 * for drop idle states mid-batch without a repeated or skipped seq.
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
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/msglog.h"
#include "store/sqlite_paced.h"
#include "store/store.h"
#include "store/store_backend.h"
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
    sqlite_fold_set_age_ms(-1);
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

static void on_list_messages(int status, const store_message *msgs, size_t count, void *arg) {
    record *r = arg; /* r[0].fired/status for the call, then one record per message */
    record_fire(&r[0], status);
    r[0].msg.seq = (int64_t)count; /* the count, in the first record */
    for (size_t i = 0; i < count && i < 15; i++) {
        r[i + 1].msg = msgs[i];
        snprintf(r[i + 1].text, sizeof r[i + 1].text, "%s", msgs[i].text);
        r[i + 1].msg.text = r[i + 1].msg.client_msg_id = NULL;
    }
}

/* Messages of chat after after_seq (at most limit) into r[1..], the count in r[0].msg.seq. */
static void messages_after(sf_fixture *fx, store *s, int64_t chat, int64_t after, size_t limit,
                           record r[16]) {
    memset(r, 0, 16 * sizeof *r);
    assert_int_equal(store_messages_after(s, chat, 1, after, limit, on_list_messages, r), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(r[0].fired, 1);
    assert_int_equal(r[0].status, STORE_OK);
}

/* Asserts r[1..] hold seqs from, from + 1, … to, with texts "m<seq>". */
static void expect_seqs(const record r[16], int64_t from, int64_t to) {
    assert_int_equal(r[0].msg.seq, to - from + 1);
    for (int64_t seq = from; seq <= to; seq++) {
        char want[16];
        snprintf(want, sizeof want, "m%lld", (long long)seq);
        assert_int_equal(r[seq - from + 1].msg.seq, seq);
        assert_string_equal(r[seq - from + 1].text, want);
    }
}

/* Appends messages "m<seq>" with client ids "c<seq>" until the chat's last seq is `to`. */
static void append_upto(sf_fixture *fx, store *s, int64_t chat, int64_t from, int64_t to) {
    for (int64_t seq = from; seq <= to; seq++) {
        char id[16], text[16];
        snprintf(id, sizeof id, "c%lld", (long long)seq);
        snprintf(text, sizeof text, "m%lld", (long long)seq);
        record r = append(fx, s, chat, 1 + seq % 2, id, text);
        assert_int_equal(r.status, STORE_OK);
        assert_int_equal(r.msg.seq, seq);
    }
}

/* The number of message log files of the database. */
static size_t log_files(sf_fixture *fx) {
    uint64_t *gens = NULL;
    size_t count = 0;
    assert_int_equal(msglog_list(fx->path, &gens, &count), 0);
    free(gens);
    return count;
}

/* A second connection to the database, holding SQLite's write lock (BEGIN IMMEDIATE) until the
 * test commits and closes it: the store's and the folder's writes wait meanwhile. */
static sqlite3 *hold_write_lock(sf_fixture *fx) {
    sqlite3 *lock = NULL;
    assert_int_equal(sqlite3_open_v2(fx->path, &lock, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    return lock;
}

/* Holds the write lock on a second connection and queues a write that changes nothing (user 1
 * has no refresh tokens): once this returns, the store thread waits in that job's BEGIN, and the
 * jobs queued next run as one batch after COMMIT. */
static sqlite3 *hold_store_thread(sf_fixture *fx, store *s, sf_status_rec *write) {
    sqlite3 *lock = hold_write_lock(fx);
    assert_int_equal(store_refresh_revoke_user(s, 1, sf_on_status, write), 0);
    uv_sleep(100); /* the store thread has taken the write alone and waits for the lock */
    return lock;
}

/* A batch that only reads runs on a snapshot: it does not wait for a writer (the folder, or here
 * another connection) to let go of the write lock, and sees what was committed before. */
static void test_reads_do_not_wait_for_writers(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    sqlite3 *lock = hold_write_lock(fx);
    record msgs[16];
    messages_after(fx, s, chat, 0, 10, msgs); /* asserts STORE_OK */
    assert_int_equal(msgs[0].msg.seq, 0);     /* the count: no message yet */
    record ping = {0};
    assert_int_equal(store_ping(s, on_status, &ping), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(ping.status, STORE_OK); /* under BEGIN IMMEDIATE: UNAVAILABLE after 5 s */
    assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
    sf_close_store(fx, s);
}

/* Appends go before the other jobs of their batch, except after a chat created in that batch:
 * a second connection holds the write lock so that the store thread waits in a write's BEGIN
 * while the creation and the append queue up behind it, as one batch. */
static void test_append_after_create_in_one_batch(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    sf_status_rec held = {0};
    sqlite3 *lock = hold_store_thread(fx, s, &held);
    record chat = {0}, msg = {0};
    assert_int_equal(store_chat_create(s, "backend", 1, 2, on_chat, &chat), 0);
    assert_int_equal(store_message_append(s, 1, 1, "a", "first", on_message, &msg), 0);
    assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(held.status, STORE_OK);
    assert_int_equal(chat.status, STORE_OK);
    assert_int_equal(chat.chat.id, 1);
    assert_int_equal(msg.status, STORE_OK);
    assert_int_equal(msg.msg.seq, 1);
    assert_true(store_commits(s) <= 3); /* the held write, then the two together (or apart) */
    sf_close_store(fx, s);
}

/* Jobs queued together still see the appends queued before them and none queued after: a
 * chat.sync sent before a message must not bring that message back (appends otherwise run first
 * in their batch). All of it queues behind a write that waits for a lock held elsewhere. */
static void test_read_before_append_in_one_batch(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    record first = append(fx, s, chat, 1, "a", "before");
    assert_int_equal(first.status, STORE_OK);
    sf_status_rec held = {0};
    sqlite3 *lock = hold_store_thread(fx, s, &held);
    record early[16] = {{0}}, late[16] = {{0}}, msg[2] = {{0}};
    assert_int_equal(store_messages_after(s, chat, 1, 0, 10, on_list_messages, early), 0);
    assert_int_equal(store_message_append(s, chat, 2, "b", "after", on_message, &msg[0]), 0);
    assert_int_equal(store_message_append(s, chat, 1, "c", "later", on_message, &msg[1]), 0);
    assert_int_equal(store_messages_after(s, chat, 1, 0, 10, on_list_messages, late), 0);
    assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(held.status, STORE_OK);
    assert_int_equal(early[0].status, STORE_OK);
    assert_int_equal(early[0].msg.seq, 1); /* the count */
    assert_string_equal(early[1].text, "before");
    assert_int_equal(msg[0].msg.seq, 2);
    assert_int_equal(msg[1].msg.seq, 3);
    assert_int_equal(late[0].msg.seq, 3);
    assert_string_equal(late[3].text, "later");
    assert_true(early[0].order < msg[0].order); /* handed back in queue order too */
    assert_true(msg[1].order < late[0].order);
    sf_close_store(fx, s);
}

/* Waits (at most 10 s) until the table holds n messages: the folder has run. */
static void wait_folded(sf_fixture *fx, int64_t n) {
    for (int i = 0; i < 500 && sf_query_i64(fx, "SELECT COUNT(*) FROM messages") < n; i++)
        uv_sleep(20);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), n);
}

/* The database belongs to one process: a second store on the same file is refused (two logs
 * would each miss the other's unfolded rows); the first keeps working. */
static void test_second_store_on_the_file_is_refused(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    store *other = (store *)1;
    char err[256] = "";
    assert_int_equal(store_open(&fx->loop, fx->url, &other, err, sizeof err),
                     STORE_ERR_UNAVAILABLE);
    assert_null(other);
    if (!strstr(err, "in use by another process"))
        fail_msg("error \"%s\" does not say the database is in use", err);
    assert_int_equal(append(fx, s, chat, 1, "a", "still here").msg.seq, 1);
    sf_close_store(fx, s);
    s = sf_open_store(fx); /* the lock went with the first store */
    assert_int_equal(append(fx, s, chat, 2, "b", "again").msg.seq, 2);
    sf_close_store(fx, s);
}

/* A read mark up to a seq that is only in the message log (no fold yet) counts: the chat's last
 * seq comes from the appender, not from chats.last_seq alone. */
static void test_read_mark_sees_unfolded_appends(void **state) {
    sf_fixture *fx = *state;
    sqlite_fold_set_age_ms(60000);
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    append_upto(fx, s, chat, 1, 3);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 0); /* not folded */
    sf_status_rec read = {0};
    assert_int_equal(
        sf_status_call(fx, store_chat_mark_read(s, chat, 2, 10, sf_on_status, &read), &read),
        STORE_OK);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT read_seq_b FROM chats"), 3); /* clamped to 3 */
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats"), 3);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 3); /* folded at close */
    assert_int_equal(log_files(fx), 0);
}

static void on_summaries(int status, const store_chat_summary *chats, size_t count, void *arg) {
    record *r = arg;
    record_fire(r, status);
    assert_int_equal(count, 1);
    r->chat.last_seq = chats[0].last_seq;
    assert_non_null(chats[0].last_message);
    r->msg = *chats[0].last_message;
    snprintf(r->text, sizeof r->text, "%s", chats[0].last_message->text);
    r->msg.text = r->msg.client_msg_id = NULL;
}

static void on_context(int status, const store_user_context *ctx, void *arg) {
    record *r = arg;
    record_fire(r, status);
    assert_non_null(ctx);
    assert_non_null(ctx->active_chat);
    r->chat.last_seq = ctx->active_chat->last_seq;
    assert_non_null(ctx->active_chat->last_message);
    snprintf(r->text, sizeof r->text, "%s", ctx->active_chat->last_message->text);
}

static void on_user_id(int status, const store_user *u, void *arg) {
    int64_t *id = arg;
    *id = status == STORE_OK ? u->id : -1;
}

/* History, summaries and a user's context see rows still in the message log, merged after the
 * rows already folded into the table (seqs 1..3 folded at close, 4..6 in the log). */
static void test_reads_see_unfolded_rows(void **state) {
    sf_fixture *fx = *state;
    sqlite_fold_set_age_ms(60000);
    store *s = sf_open_store(fx);
    int64_t user = 0;
    assert_int_equal(store_user_create(s, "a@example.com", "$argon2id$x", "A", on_user_id, &user),
                     0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(user, 1); /* the chat's user_a: the context below loads its active chat */
    int64_t chat = create_chat(fx, s, 1, 2);
    append_upto(fx, s, chat, 1, 3);
    sf_close_store(fx, s);
    s = sf_open_store(fx);
    append_upto(fx, s, chat, 4, 6);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 3);
    record r[16];
    messages_after(fx, s, chat, 0, 100, r);
    expect_seqs(r, 1, 6);
    messages_after(fx, s, chat, 0, 4, r);
    expect_seqs(r, 1, 4);
    messages_after(fx, s, chat, 2, 3, r);
    expect_seqs(r, 3, 5);
    messages_after(fx, s, chat, 4, 100, r);
    expect_seqs(r, 5, 6);
    messages_after(fx, s, chat, 6, 100, r);
    assert_int_equal(r[0].msg.seq, 0);
    record sum = {0};
    assert_int_equal(store_chats_for_user(s, 2, INT64_MAX, 10, on_summaries, &sum), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(sum.status, STORE_OK);
    assert_int_equal(sum.chat.last_seq, 6);
    assert_int_equal(sum.msg.seq, 6);
    assert_string_equal(sum.text, "m6");
    record ctx = {0};
    assert_int_equal(store_user_context_load(s, 1, on_context, &ctx), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(ctx.status, STORE_OK);
    assert_int_equal(ctx.chat.last_seq, 6);
    assert_string_equal(ctx.text, "m6");
    sf_close_store(fx, s);
}

static void on_message_status(int status, const store_message *msg, void *arg) {
    (void)msg;
    int *failed = arg;
    *failed += status != STORE_OK;
}

/* Many rows of one chat waiting to be folded (a flood into one chat): retries are found through
 * the map of (chat, sender, clientMsgId), the oldest as well as the newest; the same client id
 * from the other sender, or in another chat, is a new message. */
static void test_retries_among_many_unfolded_rows(void **state) {
    sf_fixture *fx = *state;
    sqlite_fold_set_age_ms(60000);
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2), other = create_chat(fx, s, 3, 4);
    const int n = 5000;
    int failed = 0;
    char id[16];
    for (int i = 1; i <= n; i++) {
        snprintf(id, sizeof id, "c%d", i);
        assert_int_equal(store_message_append(s, chat, 1, id, "x", on_message_status, &failed), 0);
    }
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(failed, 0);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 0); /* all waiting */
    int probes[] = {1, 2, n / 2, n - 1, n};
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        snprintf(id, sizeof id, "c%d", probes[k]);
        record again = append(fx, s, chat, 1, id, "retry");
        assert_int_equal(again.msg.duplicate, 1);
        assert_int_equal(again.msg.seq, probes[k]);
        assert_string_equal(again.text, "x");
    }
    record theirs = append(fx, s, chat, 2, "c1", "same id, other sender");
    assert_int_equal(theirs.msg.duplicate, 0);
    assert_int_equal(theirs.msg.seq, n + 1);
    record elsewhere = append(fx, s, other, 3, "c1", "same id, other chat");
    assert_int_equal(elsewhere.msg.duplicate, 0);
    assert_int_equal(elsewhere.msg.seq, 1);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), n + 2);
}

/* With folds after every batch: the table fills while the store is open, folded files are kept
 * for reuse only, and a retry of a folded message is still answered with its stored row. */
static void test_folds_while_open(void **state) {
    sf_fixture *fx = *state;
    sqlite_fold_set_age_ms(0);
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    append_upto(fx, s, chat, 1, 10);
    wait_folded(fx, 10);
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats"), 10);
    assert_int_equal(log_files(fx), 2); /* the active file, and a folded one kept for reuse */
    record again = append(fx, s, chat, 1 + 4 % 2, "c4", "edited");
    assert_int_equal(again.status, STORE_OK);
    assert_int_equal(again.msg.duplicate, 1);
    assert_int_equal(again.msg.seq, 4);
    assert_string_equal(again.text, "m4");
    append_upto(fx, s, chat, 11, 12);
    record r[16];
    messages_after(fx, s, chat, 8, 100, r);
    expect_seqs(r, 9, 12);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 12);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(DISTINCT id) FROM messages"), 12);
    assert_int_equal(sf_query_i64(fx, "SELECT last_id FROM message_ids"), 12);
}

/* A fold the store is in no hurry for rests after each transaction (the only rest here: ten rows
 * are far from a paced sync's 128 KiB). */
static void test_fold_rests_when_not_hurried(void **state) {
    sf_fixture *fx = *state;
    sqlite_fold_set_age_ms(50);
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    uint64_t rest0 = sqlite_paced_rest_ns();
    append_upto(fx, s, chat, 1, 10);
    wait_folded(fx, 10);
    assert_int_equal(sqlite_paced_hurrying(), 0);
    sf_close_store(fx, s); /* joins the folder: its rest is over */
    assert_true(sqlite_paced_rest_ns() > rest0);
    assert_int_equal(sqlite_paced_hurrying(), 0);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 10);
}

/* Waits up to ms for the paced VFS's fold reason to hurry to be set (want 1) or not (0). */
static void wait_hurry(unsigned want, int ms) {
    want = want ? SQLITE_PACED_HURRY_FOLD : 0;
    for (int i = 0; i < ms / 10 && (sqlite_paced_hurrying() & SQLITE_PACED_HURRY_FOLD) != want; i++)
        uv_sleep(10);
    assert_int_equal(sqlite_paced_hurrying() & SQLITE_PACED_HURRY_FOLD, want);
}

/* A fold that fails (another connection holds SQLite's write lock past the folder's busy
 * timeout) is tried again later and loses nothing; appends go on being acknowledged meanwhile,
 * since they never wait for SQLite's write lock. While the folder is stuck with the next fold
 * due, and until the failed one is done, its writes hurry (no rests after their syncs). */
static void test_fold_retried_after_failure(void **state) {
    sf_fixture *fx = *state;
    sqlite_fold_set_age_ms(0);
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    sqlite3 *lock = hold_write_lock(fx);
    uint64_t t0 = uv_hrtime();
    append_upto(fx, s, chat, 1, 5); /* a fold starts after the first and waits for the lock */
    assert_true(uv_hrtime() - t0 < 4000000000ull); /* acked well inside the 5 s busy wait */
    /* the next fold is due while the folder waits (its wait ends at 5 s): its writes hurry */
    wait_hurry(1, 2000);
    uv_sleep(6000); /* the folder's BEGIN gives up: the fold failed, to be tried again */
    assert_true(sqlite_paced_hurrying() & SQLITE_PACED_HURRY_FOLD);
    append_upto(fx, s, chat, 6, 8);
    assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
    wait_folded(fx, 8);
    wait_hurry(0, 5000); /* every fold is done: background writes rest again */
    record r[16];
    messages_after(fx, s, chat, 0, 100, r);
    expect_seqs(r, 1, 8);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats"), 8);
    assert_int_equal(log_files(fx), 0);
}

struct cap_counts {
    int ok, unavailable, other;
};

static void on_cap_message(int status, const store_message *msg, void *arg) {
    (void)msg;
    struct cap_counts *c = arg;
    if (status == STORE_OK)
        c->ok++;
    else if (status == STORE_ERR_UNAVAILABLE)
        c->unavailable++;
    else
        c->other++;
}

/* Queues n appends of STORE_TEXT_MAX bytes each to chat (client ids "<prefix><first + i>"),
 * counted in c, and runs the loop until they are answered. */
static void append_full_texts(sf_fixture *fx, store *s, int64_t chat, const char *prefix, int first,
                              int n, struct cap_counts *c) {
    static char text[STORE_TEXT_MAX + 1];
    memset(text, 'x', STORE_TEXT_MAX);
    char id[32];
    for (int i = first; i < first + n; i++) {
        snprintf(id, sizeof id, "%s%d", prefix, i);
        assert_int_equal(store_message_append(s, chat, 1, id, text, on_cap_message, c), 0);
    }
    uv_run(&fx->loop, UV_RUN_DEFAULT);
}

/* While folds cannot run (the write lock held elsewhere), rows wait in memory up to
 * STORE_UNFOLDED_BYTES_MAX; past it appends are refused with STORE_ERR_UNAVAILABLE instead of
 * growing. Once folds run again, every acknowledged row reaches the table and appends resume. */
static void test_unfolded_cap_refuses_then_recovers(void **state) {
    sf_fixture *fx = *state;
    sqlite_fold_set_age_ms(60000); /* only the file's size starts a fold */
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    sqlite3 *lock = hold_write_lock(fx);
    struct cap_counts c = {0};
    const int most = 2 * (STORE_UNFOLDED_BYTES_MAX / STORE_TEXT_MAX); /* twice what fits */
    for (int i = 0; i < most && c.unavailable == 0; i += 256)
        append_full_texts(fx, s, chat, "c", i, 256, &c);
    assert_int_equal(c.other, 0);
    assert_true(c.unavailable > 0);
    /* Refused once the rows held reach the cap: a row is its text and less than 512 bytes more. */
    assert_true(c.ok >= STORE_UNFOLDED_BYTES_MAX / (STORE_TEXT_MAX + 512));
    assert_true(c.ok <= STORE_UNFOLDED_BYTES_MAX / STORE_TEXT_MAX + 1);
    assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
    for (int i = 0; i < 1500 && sf_query_i64(fx, "SELECT COUNT(*) FROM messages") < c.ok; i++)
        uv_sleep(20);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), c.ok);
    record after = append(fx, s, chat, 2, "after", "folds run again");
    assert_int_equal(after.status, STORE_OK);
    assert_int_equal(after.msg.seq, c.ok + 1);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), c.ok + 1);
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats"), c.ok + 1);
}

/* A fold that failed hurries until it is done, though no other fold is due (a long fold age:
 * nothing else sets the hurry). */
static void test_failed_fold_hurries_until_done(void **state) {
    sf_fixture *fx = *state;
    sqlite_fold_set_age_ms(100);
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    sqlite3 *lock = hold_write_lock(fx);
    append_upto(fx, s, chat, 1, 3);
    uv_sleep(300); /* sealed and submitted; the folder waits for the lock */
    sqlite_fold_set_age_ms(60000);
    assert_int_equal(sqlite_paced_hurrying() & SQLITE_PACED_HURRY_FOLD, 0);
    wait_hurry(1, 7000); /* the folder's BEGIN gave up after 5 s: failed */
    uv_sleep(1500);      /* the retry is submitted and waits for the lock again */
    wait_hurry(1, 0);    /* still hurrying */
    assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
    wait_folded(fx, 3);
    wait_hurry(0, 5000);
    sf_close_store(fx, s);
}

/* A fold sealed by size (heavy load: more than half of FOLD_BYTES before its age is up) hurries
 * from its start, with the next fold nowhere near due; the hurry ends with it. */
static void test_big_fold_hurries(void **state) {
    sf_fixture *fx = *state;
    sqlite_fold_set_age_ms(60000); /* only the file's size starts a fold */
    store *s = sf_open_store(fx);
    int64_t chat = create_chat(fx, s, 1, 2);
    sqlite3 *lock = hold_write_lock(fx);
    struct cap_counts c = {0};
    const int seal_at = (64 << 20) / STORE_TEXT_MAX + 1; /* a file of 64 MiB (FOLD_BYTES) */
    append_full_texts(fx, s, chat, "b", 0, seal_at, &c);
    assert_int_equal(c.ok, seal_at);
    record small = append(fx, s, chat, 2, "small", "the next file: far from due");
    assert_int_equal(small.status, STORE_OK);
    wait_hurry(1, 2000);
    assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
    wait_hurry(0, 30000);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), seal_at + 1);
}

/* ---- a process that dies after its acks (a child, so that the store is never closed) ---- */

#define CHILD_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "child: %s failed at line %d\n", #cond, __LINE__);                     \
            _exit(2);                                                                              \
        }                                                                                          \
    } while (0)

typedef struct child_msg {
    int status;
    int64_t id, seq;
    int duplicate;
} child_msg;

static void on_child_message(int status, const store_message *msg, void *arg) {
    child_msg *r = arg;
    r->status = status;
    if (msg) {
        r->id = msg->id;
        r->seq = msg->seq;
        r->duplicate = msg->duplicate;
    }
}

static void on_child_chat(int status, const store_chat *chat, void *arg) {
    int64_t *id = arg;
    *id = status == STORE_OK ? chat->id : -1;
}

static child_msg child_append(uv_loop_t *loop, store *s, int64_t sender, const char *id,
                              const char *text) {
    child_msg r = {.status = 1};
    CHILD_CHECK(store_message_append(s, 1, sender, id, text, on_child_message, &r) == 0);
    uv_run(loop, UV_RUN_DEFAULT);
    return r;
}

/* Forks a child that opens the store on a loop of its own, creates chat 1, runs fn and leaves
 * with _exit(0) without closing the store: as if killed right after its last ack. */
static void run_child(sf_fixture *fx, void (*fn)(uv_loop_t *loop, store *s, void *arg), void *arg) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uv_loop_t loop;
        store *s = NULL;
        char err[256];
        int64_t chat = 0;
        CHILD_CHECK(uv_loop_init(&loop) == 0);
        CHILD_CHECK(store_open(&loop, fx->url, &s, err, sizeof err) == 0);
        CHILD_CHECK(store_chat_create(s, "backend", 1, 2, on_child_chat, &chat) == 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        CHILD_CHECK(chat == 1);
        fn(&loop, s, arg);
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void child_appends_fifty(uv_loop_t *loop, store *s, void *arg) {
    (void)arg;
    for (int i = 1; i <= 50; i++) {
        char id[16], text[16];
        snprintf(id, sizeof id, "c%d", i);
        snprintf(text, sizeof text, "m%d", i);
        child_msg r = child_append(loop, s, 1 + i % 2, id, text);
        CHILD_CHECK(r.status == STORE_OK && r.seq == i && r.id == i && !r.duplicate);
    }
}

/* Every acked message of a process that died before any fold is replayed from the log at the
 * next open: same ids and seqs, retries still repeats, the next message continues both. */
static void test_crash_replays_the_log(void **state) {
    sf_fixture *fx = *state;
    sqlite_fold_set_age_ms(60000);
    run_child(fx, child_appends_fifty, NULL);
    assert_int_equal(log_files(fx), 2); /* the active file and the next one, made ready */
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 0);
    store *s = sf_open_store(fx);
    assert_int_equal(log_files(fx), 2); /* replayed and removed; new active and next files */
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages WHERE id = seq AND "
                                      "text = 'm' || seq AND client_msg_id = 'c' || seq AND "
                                      "sender_id = 1 + seq % 2"),
                     50);
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats"), 50);
    record again = append(fx, s, 1, 1, "c10", "m10");
    assert_int_equal(again.msg.duplicate, 1);
    assert_int_equal(again.msg.seq, 10);
    assert_int_equal(again.msg.id, 10);
    record next = append(fx, s, 1, 2, "c51", "m51");
    assert_int_equal(next.msg.seq, 51);
    assert_int_equal(next.msg.id, 51);
    record r[16];
    messages_after(fx, s, 1, 45, 100, r);
    expect_seqs(r, 46, 51);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 51);
    assert_int_equal(sf_query_i64(fx, "SELECT last_id FROM message_ids"), 51);
    assert_int_equal(log_files(fx), 0);
}

/* Appends to chats 1 and 2 in turn: 7 messages to chat 1, 4 to chat 2, interleaved in the log. */
static void child_appends_to_two_chats(uv_loop_t *loop, store *s, void *arg) {
    (void)arg;
    int64_t chat2 = 0;
    CHILD_CHECK(store_chat_create(s, "backend", 3, 4, on_child_chat, &chat2) == 0);
    uv_run(loop, UV_RUN_DEFAULT);
    CHILD_CHECK(chat2 == 2);
    for (int i = 0; i < 11; i++) {
        int64_t chat = i % 3 == 2 || i == 10 ? 2 : 1;
        char id[16];
        snprintf(id, sizeof id, "k%d", i);
        child_msg r = {.status = 1};
        CHILD_CHECK(
            store_message_append(s, chat, chat == 1 ? 1 : 3, id, "x", on_child_message, &r) == 0);
        uv_run(loop, UV_RUN_DEFAULT);
        CHILD_CHECK(r.status == STORE_OK);
    }
}

/* The replay raises each chat's last seq to the highest of its rows in the log, chat by chat. */
static void test_crash_replay_raises_each_chat(void **state) {
    sf_fixture *fx = *state;
    sqlite_fold_set_age_ms(60000);
    run_child(fx, child_appends_to_two_chats, NULL);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 0);
    store *s = sf_open_store(fx);
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats WHERE id = 1"), 7);
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats WHERE id = 2"), 4);
    assert_int_equal(append(fx, s, 2, 4, "next", "y").msg.seq, 5);
    assert_int_equal(append(fx, s, 1, 2, "next", "y").msg.seq, 8);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 13);
}

static int64_t file_bytes(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* The log may be written 10 bytes further only: the write of the second message fails half-way. */
static void child_write_fails(uv_loop_t *loop, store *s, void *arg) {
    const char *log_path = arg;
    CHILD_CHECK(child_append(loop, s, 1, "c1", "one").seq == 1);
    /* The file is zero-filled well past its records: the limit is on the write position, which
     * is the header (16 bytes) and one record (its header, the fixed fields, "c1" and "one"). */
    int64_t size = 16 + 8 + MSGLOG_FIXED_BYTES + 2 + 3;
    CHILD_CHECK(file_bytes(log_path) > size);
    struct rlimit old, lim;
    CHILD_CHECK(signal(SIGXFSZ, SIG_IGN) != SIG_ERR && getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = (rlim_t)size + 10;
    CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    char big[601];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHILD_CHECK(child_append(loop, s, 1, "c2", big).status == STORE_ERR_UNAVAILABLE);
    CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    CHILD_CHECK(file_bytes(log_path) == size); /* cut back to its last good record */
    child_msg three = child_append(loop, s, 2, "c3", "three");
    CHILD_CHECK(three.status == STORE_OK && three.seq == 2); /* the failed seq is given again */
    child_msg retry = child_append(loop, s, 1, "c2", big);
    CHILD_CHECK(retry.status == STORE_OK && retry.seq == 3 && !retry.duplicate);
}

/* A failed write of the log is undone: its message is not stored (nor replayed), its seq is not
 * skipped, and a retry stores it anew. */
static void test_failed_log_write_is_undone(void **state) {
    sf_fixture *fx = *state;
    sqlite_fold_set_age_ms(60000);
    char *log_path = msglog_path(fx->path, 1);
    assert_non_null(log_path);
    run_child(fx, child_write_fails, log_path);
    free(log_path);
    store *s = sf_open_store(fx);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages"), 3);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages WHERE "
                                      "(seq = 1 AND client_msg_id = 'c1' AND text = 'one') OR "
                                      "(seq = 2 AND client_msg_id = 'c3' AND text = 'three') OR "
                                      "(seq = 3 AND client_msg_id = 'c2' AND length(text) = 600)"),
                     3);
    assert_int_equal(sf_query_i64(fx, "SELECT last_seq FROM chats"), 3);
}

static void on_message_counted(int status, const store_message *msg, void *arg) {
    (void)msg;
    int *ok = arg;
    *ok += status == STORE_OK;
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

/* More chats than the appender keeps states for: idle states are dropped in the middle of a batch
 * and loaded again from the table; no seq repeats or skips, last_seq stays exact. */
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
    append_each(fx, s, chats, seqs, warm, n, "first"); /* the map passes its bound at the 11th */
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
        T(test_append_after_create_in_one_batch),
        T(test_read_before_append_in_one_batch),
        T(test_reads_do_not_wait_for_writers),
        T(test_second_store_on_the_file_is_refused),
        T(test_read_mark_sees_unfolded_appends),
        T(test_reads_see_unfolded_rows),
        T(test_retries_among_many_unfolded_rows),
        T(test_folds_while_open),
        T(test_fold_rests_when_not_hurried),
        T(test_fold_retried_after_failure),
        T(test_big_fold_hurries),
        T(test_failed_fold_hurries_until_done),
        T(test_unfolded_cap_refuses_then_recovers),
        T(test_crash_replays_the_log),
        T(test_crash_replay_raises_each_chat),
        T(test_failed_log_write_is_undone),
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
