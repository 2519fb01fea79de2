/* sqlite_fold.c — folding the message log into the messages table, as seen from the store thread,
 * and the inserting that the folder thread, the replay at open and the last fold at close share
 * (sqlite_msg.h has the design).
 *
 * A fold step runs between batches on the store thread and never waits for a disk: it seals the
 * active file when it is due (the next one is ready: made at open, then by the folder from the
 * last sealed file) and hands the sealed file and every row in memory to the folder (one pointer
 * per row, chat by chat: no copy, no sort), or, while the folder works, checks whether it is
 * done; then it frees the rows the folder made durable. A fold that failed is handed over again.
 * Until the rows are freed, a crash loses nothing: the sealed file is replayed at the next open,
 * and its rows go in with ON CONFLICT DO NOTHING.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite_msg.h"
#include "store/sqlite_paced.h"
#include "util/imap.h"
#include "util/log.h"

/* Bigger folds put more rows of each chat on each page they write: with 4000 busy chats, going
 * from 65,536 rows / 2 s to these took the folder and checkpointer from 0.73 to 0.45 cores at
 * saturation (docs/benchmarks.md). The rows wait in memory meanwhile (STORE_UNFOLDED_MAX). */
#define FOLD_ROWS      262144     /* records in the active file that start a fold … */
#define FOLD_BYTES     (64 << 20) /* … or bytes … */
#define FOLD_AGE_MS    4000       /* … or the age of its first record (sqlite_fold_set_age_ms) */
#define FOLD_POLL_MS   10         /* how often the store thread looks whether a fold is done … */
#define FOLD_RETRY_MS  1000       /* … and how long it waits after one that failed */
#define FOLD_DROP_STEP 2048       /* folded rows freed between two batches */
#define LOG_PREALLOC   (4 << 20)  /* zeros a new log file starts with (msglog.h says why) */

static const char *const fold_sql[FOLD_STMT_COUNT] = {
    [FOLD_INSERT] = "INSERT INTO messages "
                    "(chat_id, seq, id, sender_id, client_msg_id, text, sent_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    [FOLD_RAISE_LAST_SEQ] = "UPDATE chats SET last_seq = $2 WHERE id = $1 AND last_seq < $2",
    /* Writes the row even when the id is not higher: fold_make_durable needs a write. */
    [FOLD_SET_LAST_ID] =
        "UPDATE message_ids SET last_id = CASE WHEN last_id < $1 THEN $1 ELSE last_id END",
    [FOLD_BEGIN] = "BEGIN IMMEDIATE",
    [FOLD_COMMIT] = "COMMIT",
    [FOLD_ROLLBACK] = "ROLLBACK",
    [FOLD_SYNC_FULL] = "PRAGMA synchronous = FULL",
    [FOLD_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
};

static int fold_age_ms = FOLD_AGE_MS;

void sqlite_fold_set_age_ms(int ms) {
    fold_age_ms = ms < 0 ? FOLD_AGE_MS : ms;
}

/* ---- inserting rows (any connection) ---- */

int fold_stmts_prepare(struct fold_stmts *fs, sqlite3 *db, char *err, size_t errlen) {
    fs->db = db;
    return sqlite_prepare_list(db, fold_sql, fs->stmt, FOLD_STMT_COUNT, err, errlen);
}

void fold_stmts_finalize(struct fold_stmts *fs) {
    for (int i = 0; i < FOLD_STMT_COUNT; i++) {
        sqlite3_finalize(fs->stmt[i]);
        fs->stmt[i] = NULL;
    }
}

int fold_stmt_exec(struct fold_stmts *fs, enum fold_stmt_id id) {
    return sqlite_step_done(fs->stmt[id], SQLITE_OK);
}

/* Inserts one row. 1 inserted, 0 already stored, or a negative store_status. */
static int insert_row(struct fold_stmts *fs, const store_message *r) {
    sqlite3_stmt *st = fs->stmt[FOLD_INSERT];
    int rc = sqlite_bind_i64(st, 1, r->chat_id);
    rc = rc ? rc : sqlite_bind_i64(st, 2, r->seq);
    rc = rc ? rc : sqlite_bind_i64(st, 3, r->id);
    rc = rc ? rc : sqlite_bind_i64(st, 4, r->sender_id);
    rc = rc ? rc : sqlite_bind_text(st, 5, r->client_msg_id);
    rc = rc ? rc : sqlite_bind_text(st, 6, r->text);
    rc = rc ? rc : sqlite_bind_i64(st, 7, r->sent_at_ms);
    rc = rc ? rc : sqlite3_step(st);
    int status = sqlite_finish(st, rc);
    return status != STORE_OK ? status : sqlite3_changes(fs->db) > 0;
}

static int raise_last_seq(struct fold_stmts *fs, int64_t chat_id, int64_t seq) {
    sqlite3_stmt *st = fs->stmt[FOLD_RAISE_LAST_SEQ];
    int rc = sqlite_bind_i64(st, 1, chat_id);
    return sqlite_step_done(st, rc ? rc : sqlite_bind_i64(st, 2, seq));
}

int fold_record_last_id(struct fold_stmts *fs, int64_t id) {
    sqlite3_stmt *st = fs->stmt[FOLD_SET_LAST_ID];
    return sqlite_step_done(st, sqlite_bind_i64(st, 1, id));
}

int fold_insert_rows(struct fold_stmts *fs, struct log_row *const *rows, size_t count) {
    for (size_t i = 0; i < count; i++) {
        const store_message *r = &rows[i]->m;
        int inserted = insert_row(fs, r);
        if (inserted < 0)
            return inserted;
        if (inserted == 0 && fs->warn_conflicts && fs->conflicts++ == 0) /* a bug: said once */
            log_warn("fold found a message already stored", "table", "messages");
        int chat_ends = i + 1 == count || rows[i + 1]->m.chat_id != r->chat_id;
        int status = chat_ends ? raise_last_seq(fs, r->chat_id, r->seq) : STORE_OK;
        if (status != STORE_OK)
            return status;
    }
    return STORE_OK;
}

/* Makes every fold transaction so far durable, through SQLite: one small transaction that always
 * writes (message_ids, raised to last_id) committed with synchronous = FULL, whose fsync of the
 * WAL covers every frame before it; frames a checkpoint already copied were synced into the
 * database file by that checkpoint. (Opening and closing the database file here to fsync it
 * would drop SQLite's POSIX locks on it.) */
int fold_make_durable(struct fold_stmts *fs, int64_t last_id) {
    int status = fold_stmt_exec(fs, FOLD_SYNC_FULL);
    status = status ? status : fold_stmt_exec(fs, FOLD_BEGIN);
    status = status ? status : fold_record_last_id(fs, last_id);
    status = status ? status : fold_stmt_exec(fs, FOLD_COMMIT);
    if (status != STORE_OK && !sqlite3_get_autocommit(fs->db))
        fold_stmt_exec(fs, FOLD_ROLLBACK);
    int back = fs->sync_normal ? fold_stmt_exec(fs, FOLD_SYNC_NORMAL) : STORE_OK;
    return status ? status : back;
}

/* ---- the store thread's side ---- */

/* Milliseconds until the active file is due to be sealed: 0 now, -1 never (it has no rows). */
static int seal_wait_ms(const sqlite_messages *m, int64_t now_ms) {
    if (m->active.rows == 0)
        return -1;
    if (m->log_broken) /* records past its end could replay: it is cut back before it is sealed */
        return FOLD_RETRY_MS;
    if (m->active.rows >= FOLD_ROWS || m->active.size >= FOLD_BYTES)
        return 0;
    int64_t age = now_ms - m->active_since_ms;
    return age >= fold_age_ms ? 0 : (int)(fold_age_ms - age);
}

struct collect_ctx {
    sqlite_messages *m;
    int failed;
};

static void collect_chat(void *ctx, int64_t key, void *value) {
    (void)key;
    struct collect_ctx *cc = ctx;
    sqlite_messages *m = cc->m;
    const struct chat_state *e = value;
    if (cc->failed || e->rows == 0)
        return;
    if (m->sealed_count + e->rows > m->sealed_cap) {
        size_t cap = m->sealed_cap ? m->sealed_cap : 4096;
        while (cap < m->sealed_count + e->rows)
            cap *= 2;
        struct log_row **rows = realloc(m->sealed_rows, cap * sizeof *rows);
        if (!rows) {
            cc->failed = 1;
            return;
        }
        m->sealed_rows = rows;
        m->sealed_cap = cap;
    }
    for (struct log_row *r = e->first; r; r = r->next)
        m->sealed_rows[m->sealed_count++] = r;
}

/* Every row in memory, chat by chat, into sealed_rows (at close). 0, or -1 when memory ran out. */
static int collect_rows(sqlite_messages *m) {
    struct collect_ctx cc = {m, 0};
    m->sealed_count = 0;
    imap_each(m->chats, collect_chat, &cc);
    return cc.failed ? -1 : 0;
}

/* The next active file: the spare one the folder made ready, or (without one) a new file. */
static int next_active(sqlite_messages *m, msglog *next) {
    uint64_t gen = m->active.gen + 1;
    if (m->spare.fd >= 0 && m->spare.gen == gen) {
        *next = m->spare;
        m->spare.fd = -1;
        m->spare.path = NULL;
        return 0;
    }
    msglog_close(&m->spare, 1); /* not the generation wanted: not expected */
    int rc = msglog_create(next, m->db_path, gen, LOG_PREALLOC);
    if (rc != 0)
        log_error("cannot start a message log file", "path", m->db_path, "error", strerror(-rc));
    return rc;
}

/* A new active file takes the appends; the old one and its rows go to the folder: every row in
 * memory is the active file's (the last fold's are freed), handed over in append order — the
 * folder sorts them by chat — and the array of the last fold takes the next file's. */
static int seal(sqlite_messages *m) {
    msglog next;
    if (next_active(m, &next) != 0)
        return -1;
    struct log_row **spare_rows = m->sealed_rows;
    size_t spare_cap = m->sealed_cap;
    m->sealed_rows = m->file_rows;
    m->sealed_count = m->file_count;
    m->sealed_cap = m->file_cap;
    m->file_rows = spare_rows;
    m->file_cap = spare_cap;
    m->file_count = 0;
    msglog sealed = m->active;
    m->active = next;
    m->active_since_ms = 0;
    m->sealed_last_id = m->last_id;
    m->folding = 1;
    /* Half a fold's rows or bytes before its 4 s are up: past ~30k msg/s, the folder runs flat
     * out (no rests, no extra syncs) or it falls behind; below, it leaves the cores and the disk
     * to the acks. */
    m->fold_big = m->sealed_count >= FOLD_ROWS / 2 || sealed.size >= FOLD_BYTES / 2;
    sqlite_folder_submit(m->folder, m->sealed_rows, m->sealed_count, m->last_id, &sealed,
                         next.gen + 1, 0);
    return 0;
}

/* Frees at most budget rows of a finished fold, from sealed_rows[drop_at]: each chat's folded
 * rows are the first ones on its list (later appends go to its end), in sealed_rows' order.
 * Returns 1 while rows are left. */
static int drop_folded(sqlite_messages *m, size_t budget) {
    size_t end = m->sealed_count - m->drop_at > budget ? m->drop_at + budget : m->sealed_count;
    while (m->drop_at < end) {
        int64_t chat_id = m->sealed_rows[m->drop_at]->m.chat_id;
        size_t n = 1;
        while (m->drop_at + n < end && m->sealed_rows[m->drop_at + n]->m.chat_id == chat_id)
            n++;
        sqlite_msg_drop_rows(m, imap_get(m->chats, chat_id), n);
        m->drop_at += n;
    }
    if (m->drop_at < m->sealed_count)
        return 1;
    m->sealed_count = m->drop_at = 0;
    m->dropping = 0;
    return 0;
}

/* The fold is over: with STORE_OK its rows are durable in the table and file is the next active
 * one; the rows leave memory FOLD_DROP_STEP at a time between batches (freeing a fold's rows in
 * one go stalled every ack for 30–100 ms). Otherwise file is the sealed file, kept to be
 * submitted again FOLD_RETRY_MS later. */
static void fold_done(sqlite_messages *m, int status, msglog *file) {
    if (status != STORE_OK) {
        m->failed = *file;
        m->retry_at_ms = store_now_ms() + FOLD_RETRY_MS;
        m->fold_retry = 1; /* it has to be done again: it hurries until it is done */
        return;
    }
    m->fold_retry = 0;
    m->folding = 0;
    m->dropping = 1;
    m->drop_at = 0;
    msglog_close(&m->spare, 1);
    m->spare = *file;
}

static int fold_step(sqlite_messages *m) {
    if (m->failed.fd >= 0) { /* a fold failed: submitted again once its wait is over */
        int64_t wait = m->retry_at_ms - store_now_ms();
        if (wait > 0)
            return (int)wait;
        sqlite_folder_submit(m->folder, m->sealed_rows, m->sealed_count, m->sealed_last_id,
                             &m->failed, m->active.gen + 1, 1);
        return FOLD_POLL_MS;
    }
    if (m->dropping)
        return drop_folded(m, FOLD_DROP_STEP) ? 0 : FOLD_POLL_MS;
    if (m->folding) {
        int status;
        msglog file;
        if (!sqlite_folder_poll(m->folder, &status, &file))
            return FOLD_POLL_MS;
        fold_done(m, status, &file);
        return status != STORE_OK ? FOLD_RETRY_MS : 0; /* its rows are freed first */
    }
    int wait = seal_wait_ms(m, store_now_ms());
    if (wait != 0)
        return wait;
    return seal(m) == 0 ? FOLD_POLL_MS : FOLD_RETRY_MS;
}

/* Whether the folder's writes should hurry (sqlite_paced.h): a fold is on (or waits to be tried
 * again) and it is big, failed once, or the next one is due already. */
static int fold_hurried(const sqlite_messages *m) {
    return m->folding && (m->fold_big || m->fold_retry || seal_wait_ms(m, store_now_ms()) == 0);
}

int sqlite_messages_fold_step(sqlite_messages *m) {
    if (!m->folder)
        return -1;
    int wait = fold_step(m);
    sqlite_paced_hurry(SQLITE_PACED_HURRY_FOLD, fold_hurried(m));
    return wait;
}

/* At close: the folder finishes what it was given and stops; every row still in memory goes in
 * on the store's connection (rows a failed fold had put in already are skipped). */
void sqlite_fold_close(sqlite_messages *m, sqlite_checkpointer *ckpt) {
    int status = STORE_OK;
    msglog file = {.fd = -1};
    if (m->folder) {
        sqlite_paced_hurry(SQLITE_PACED_HURRY_FOLD, 1); /* a shutdown waits for the folder */
        int done = sqlite_folder_stop(m->folder, ckpt, &status, &file);
        m->folder = NULL;
        if (done)
            fold_done(m, status, &file);
        if (m->dropping)
            drop_folded(m, m->sealed_count);
        sqlite_paced_hurry(SQLITE_PACED_HURRY_FOLD, 0); /* no folder is left to clear it */
        status = STORE_OK;
    }
    if (m->active.fd < 0)
        return; /* the open failed before the log was set up */
    if (collect_rows(m) != 0)
        status = STORE_ERR_NOMEM;
    status = status ? status : fold_stmt_exec(&m->fold, FOLD_BEGIN);
    status = status ? status : fold_insert_rows(&m->fold, m->sealed_rows, m->sealed_count);
    status = status ? status : fold_record_last_id(&m->fold, m->last_id);
    status = status ? status : fold_stmt_exec(&m->fold, FOLD_COMMIT); /* synchronous = FULL */
    if (status != STORE_OK && !sqlite3_get_autocommit(m->db))
        fold_stmt_exec(&m->fold, FOLD_ROLLBACK);
    if (status != STORE_OK) {
        log_error("cannot fold the message log at close: it is replayed at the next open", "path",
                  m->db_path);
        return;
    }
    msglog_close(&m->failed, 1);
    msglog_close(&m->active, 1);
    msglog_close(&m->spare, 1);
}

/* ---- replay at open ---- */

struct replay_ctx {
    sqlite_messages *m;
    imap *last_seqs; /* chat id → int64_t *: the highest seq replayed, raised once at the end */
    int64_t max_id;
    uint64_t skipped; /* rows whose chat is gone (cannot happen short of a damaged database) */
    int status;       /* of raising the chats' last seqs */
};

/* Remembers seq if it is the highest of its chat so far. 0, or -1 when memory ran out. */
static int note_last_seq(imap *last_seqs, int64_t chat_id, int64_t seq) {
    int64_t *last = imap_get(last_seqs, chat_id);
    if (!last) {
        last = malloc(sizeof *last);
        if (!last || imap_put(last_seqs, chat_id, last) != 0) {
            free(last);
            return -1;
        }
        *last = seq;
    }
    if (seq > *last)
        *last = seq;
    return 0;
}

static int replay_row(void *ctx, const store_message *r) {
    struct replay_ctx *rc = ctx;
    int inserted = insert_row(&rc->m->fold, r);
    if (inserted == STORE_ERR_NOT_FOUND) { /* the chat's foreign key */
        rc->skipped++;
        return 0;
    }
    if (inserted < 0 || note_last_seq(rc->last_seqs, r->chat_id, r->seq) != 0)
        return -1;
    if (r->id > rc->max_id)
        rc->max_id = r->id;
    return 0;
}

static void raise_replayed(void *ctx, int64_t chat_id, void *value) {
    struct replay_ctx *rc = ctx;
    if (rc->status == STORE_OK)
        rc->status = raise_last_seq(&rc->m->fold, chat_id, *(const int64_t *)value);
}

static void free_value(void *ctx, int64_t key, void *value) {
    (void)ctx;
    (void)key;
    free(value);
}

/* Replays every file in gens into the table in one transaction. */
static int replay_files(sqlite_messages *m, const uint64_t *gens, size_t count, char *err,
                        size_t errlen) {
    struct replay_ctx ctx = {m, imap_new(), 0, 0, STORE_OK};
    uint64_t total = 0;
    int rc = ctx.last_seqs ? fold_stmt_exec(&m->fold, FOLD_BEGIN) : STORE_ERR_NOMEM;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char *path = msglog_path(m->db_path, gens[i]);
        uint64_t records = 0;
        rc = path ? msglog_replay(path, gens[i], replay_row, &ctx, &records) : -ENOMEM;
        if (rc != 0)
            snprintf(err, errlen, "sqlite: cannot replay the message log %s: %s", path ? path : "?",
                     rc < -1 ? strerror(-rc) : "database error");
        total += records;
        free(path);
    }
    if (rc == 0 && ctx.last_seqs) {
        imap_each(ctx.last_seqs, raise_replayed, &ctx);
        rc = ctx.status;
    }
    if (ctx.last_seqs) {
        imap_each(ctx.last_seqs, free_value, NULL);
        imap_free(ctx.last_seqs);
    }
    rc = rc ? rc : fold_record_last_id(&m->fold, ctx.max_id);
    rc = rc ? rc : fold_stmt_exec(&m->fold, FOLD_COMMIT);
    if (rc != 0) {
        if (!sqlite3_get_autocommit(m->db))
            fold_stmt_exec(&m->fold, FOLD_ROLLBACK);
        if (!err[0])
            snprintf(err, errlen, "sqlite: cannot replay the message log: %s",
                     sqlite3_errmsg(m->db));
        return STORE_ERR_UNAVAILABLE;
    }
    char n[24], skipped[24];
    snprintf(n, sizeof n, "%llu", (unsigned long long)total);
    snprintf(skipped, sizeof skipped, "%llu", (unsigned long long)ctx.skipped);
    log_info("message log replayed", "path", m->db_path, "messages", n, "skipped", skipped);
    return 0;
}

static int load_last_id(sqlite_messages *m) {
    sqlite3_stmt *st = m->stmt[MSG_LAST_ID];
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        m->last_id = sqlite3_column_int64(st, 0);
    return sqlite_finish(st, rc == SQLITE_ROW ? SQLITE_OK : rc == SQLITE_DONE ? SQLITE_ERROR : rc);
}

int sqlite_fold_recover(sqlite_messages *m, char *err, size_t errlen) {
    uint64_t *gens = NULL;
    size_t count = 0;
    int rc = msglog_list(m->db_path, &gens, &count);
    if (rc != 0) {
        snprintf(err, errlen, "sqlite: cannot list the message log of %s: %s", m->db_path,
                 strerror(-rc));
        return STORE_ERR_UNAVAILABLE;
    }
    err[0] = '\0';
    rc = count ? replay_files(m, gens, count, err, errlen) : 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char *path = msglog_path(m->db_path, gens[i]);
        if (path)
            unlink(path); /* a file left behind is replayed again: harmless */
        free(path);
    }
    uint64_t next_gen = count ? gens[count - 1] + 1 : 1;
    free(gens);
    if (rc == 0 && load_last_id(m) != STORE_OK) {
        snprintf(err, errlen, "sqlite: cannot read message_ids: %s", sqlite3_errmsg(m->db));
        rc = STORE_ERR_UNAVAILABLE;
    }
    if (rc == 0 && ((rc = msglog_create(&m->active, m->db_path, next_gen, LOG_PREALLOC)) != 0 ||
                    (rc = msglog_create(&m->spare, m->db_path, next_gen + 1, LOG_PREALLOC)) != 0)) {
        snprintf(err, errlen, "sqlite: cannot create the message log of %s: %s", m->db_path,
                 strerror(-rc));
        rc = STORE_ERR_UNAVAILABLE;
    }
    return rc;
}
