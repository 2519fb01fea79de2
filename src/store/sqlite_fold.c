/* sqlite_fold.c — folding the message log into the messages table, and replaying the log files a
 * previous run left (sqlite_msg.h has the design).
 *
 * A fold step runs between batches on the store thread: it inserts the unfolded rows of whole
 * chats, in seq order, in one transaction committed without an fsync (synchronous = NORMAL), for
 * about FOLD_STEP_US, and never fewer rows than twice those appended since the last step (so
 * folding keeps up under full load). Durability comes once per sealed file: the database and its
 * WAL are fdatasync'd before the file is removed. Until then a crash loses nothing: the sealed
 * file is replayed at the next open, and its rows go in with ON CONFLICT DO NOTHING.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/sqlite_msg.h"
#include "util/log.h"

#define FOLD_ROWS     32768      /* records in the active file that start a fold … */
#define FOLD_BYTES    (16 << 20) /* … or bytes … */
#define FOLD_AGE_MS   1000       /* … or the age of its first record */
#define FOLD_STEP_US  1000       /* one step's time, after which it stops at a chat's end … */
#define FOLD_RETRY_MS 100        /* … and the wait after a step that failed */

static int fold_age_ms = FOLD_AGE_MS;

void sqlite_fold_set_age_ms(int ms) {
    fold_age_ms = ms < 0 ? FOLD_AGE_MS : ms;
}

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Milliseconds until the active file is due to be sealed: 0 now, -1 never (it has no rows). */
static int seal_wait_ms(const sqlite_messages *m, int64_t now_ms) {
    if (m->active.rows == 0)
        return -1;
    if (m->active.rows >= FOLD_ROWS || m->active.size >= FOLD_BYTES)
        return 0;
    int64_t age = now_ms - m->active_since_ms;
    return age >= fold_age_ms ? 0 : (int)(fold_age_ms - age);
}

/* A new active file takes the appends; the old one is folded. */
static int seal(sqlite_messages *m) {
    msglog next;
    int rc = msglog_create(&next, m->db_path, m->active.gen + 1);
    if (rc != 0) {
        log_error("cannot create the message log", "path", m->db_path, "error", strerror(-rc));
        return -1;
    }
    m->sealed = m->active;
    m->active = next;
    m->active_since_ms = 0;
    m->sealed_last_id = m->last_id;
    m->fold_len = m->fold_at = 0;
    return 0;
}

struct scan_ctx {
    sqlite_messages *m;
    int failed;
};

static void scan_chat(void *ctx, int64_t key, void *value) {
    struct scan_ctx *sc = ctx;
    sqlite_messages *m = sc->m;
    const struct chat_state *e = value;
    if (!e->first || e->first->m.id > m->sealed_last_id)
        return;
    if (m->fold_len == m->fold_cap) {
        size_t cap = m->fold_cap ? m->fold_cap * 2 : 1024;
        int64_t *q = realloc(m->fold_queue, cap * sizeof *q);
        if (!q) {
            sc->failed = 1;
            return;
        }
        m->fold_queue = q;
        m->fold_cap = cap;
    }
    m->fold_queue[m->fold_len++] = key;
}

/* Queues every chat that still has rows from the sealed file (a chat's rows are in id order, so
 * its first row tells). The number queued, or -1 when memory ran out. */
static long fold_scan(sqlite_messages *m) {
    struct scan_ctx sc = {m, 0};
    m->fold_len = m->fold_at = 0;
    imap_each(m->chats, scan_chat, &sc);
    return sc.failed ? -1 : (long)m->fold_len;
}

/* ---- inserting rows ---- */

/* Inserts one row. 1 inserted, 0 already stored, or a negative store_status. */
static int insert_row(sqlite_messages *m, const store_message *r) {
    sqlite3_stmt *st = m->stmt[MSG_INSERT];
    int rc = sqlite_bind_i64(st, 1, r->chat_id);
    rc = rc ? rc : sqlite_bind_i64(st, 2, r->seq);
    rc = rc ? rc : sqlite_bind_i64(st, 3, r->id);
    rc = rc ? rc : sqlite_bind_i64(st, 4, r->sender_id);
    rc = rc ? rc : sqlite_bind_text(st, 5, r->client_msg_id);
    rc = rc ? rc : sqlite_bind_text(st, 6, r->text);
    rc = rc ? rc : sqlite_bind_i64(st, 7, r->sent_at_ms);
    rc = rc ? rc : sqlite3_step(st);
    int status = sqlite_finish(st, rc);
    return status != STORE_OK ? status : sqlite3_changes(m->db) > 0;
}

static int raise_last_seq(sqlite_messages *m, int64_t chat_id, int64_t seq) {
    sqlite3_stmt *st = m->stmt[MSG_RAISE_LAST_SEQ];
    int rc = sqlite_bind_i64(st, 1, chat_id);
    return sqlite_step_done(st, rc ? rc : sqlite_bind_i64(st, 2, seq));
}

static int record_last_id(sqlite_messages *m, int64_t id) {
    sqlite3_stmt *st = m->stmt[MSG_SET_LAST_ID];
    return sqlite_step_done(st, sqlite_bind_i64(st, 1, id));
}

/* Inserts every unfolded row of e and raises chats.last_seq to the last of them. */
static int fold_chat(sqlite_messages *m, const struct chat_state *e) {
    for (const struct log_row *r = e->first; r; r = r->next) {
        int inserted = insert_row(m, &r->m);
        if (inserted < 0)
            return inserted;
        if (inserted == 0 && m->fold_conflicts++ == 0) /* a bug if it ever happens: say so once */
            log_warn("fold found a message already stored", "table", "messages");
    }
    return raise_last_seq(m, e->chat_id, e->last->m.seq);
}

/* Folds queued chats in one transaction until at least min_rows rows and max_us have gone
 * (min_rows = SIZE_MAX: the whole queue). Their rows leave memory once it has committed. */
static int fold_chunk(sqlite_messages *m, size_t min_rows, int64_t max_us) {
    size_t start = m->fold_at, rows = 0;
    int64_t t0 = now_us();
    int status = sqlite_msg_exec(m, MSG_SYNC_NORMAL);
    status = status ? status : sqlite_msg_exec(m, MSG_BEGIN_WRITE);
    while (status == STORE_OK && m->fold_at < m->fold_len &&
           (rows < min_rows || now_us() - t0 < max_us)) {
        const struct chat_state *e = imap_get(m->chats, m->fold_queue[m->fold_at++]);
        if (e && e->first) {
            status = fold_chat(m, e);
            rows += e->rows;
        }
    }
    status = status ? status : record_last_id(m, m->last_id);
    status = status ? status : sqlite_msg_exec(m, MSG_COMMIT);
    if (status != STORE_OK) {
        if (!sqlite3_get_autocommit(m->db))
            sqlite_msg_exec(m, MSG_ROLLBACK);
        m->fold_at = start;
    }
    sqlite_msg_exec(m, MSG_SYNC_FULL);
    for (size_t i = start; status == STORE_OK && i < m->fold_at; i++) {
        struct chat_state *e = imap_get(m->chats, m->fold_queue[i]);
        if (e)
            sqlite_msg_drop_rows(m, e, e->rows);
    }
    return status;
}

/* fdatasync of one file by name (-1 when it cannot be opened but exists, or the sync fails). */
static int sync_file(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    int rc = fdatasync(fd);
    close(fd);
    return rc == 0 ? 0 : -1;
}

/* Makes what the folds committed durable: the WAL holds the last folds, the database file what a
 * checkpoint copied. */
static int sync_database(sqlite_messages *m) {
    size_t n = strlen(m->db_path) + 8;
    char *wal = malloc(n);
    if (!wal)
        return -1;
    snprintf(wal, n, "%s-wal", m->db_path);
    int rc = sync_file(wal) == 0 && sync_file(m->db_path) == 0 ? 0 : -1;
    free(wal);
    return rc;
}

/* The sealed file is entirely in the table: sync the database and remove the file. */
static int finish_seal(sqlite_messages *m) {
    if (sync_database(m) != 0) {
        log_error("cannot sync the database after a fold", "path", m->db_path);
        return -1;
    }
    msglog_close(&m->sealed, 1);
    return 0;
}

int sqlite_messages_fold_step(sqlite_messages *m) {
    int64_t now = store_now_ms();
    size_t min_rows = 2 * m->appended; /* rows appended since the last step, twice */
    m->appended = 0;
    if (m->sealed.fd < 0) {
        int wait = seal_wait_ms(m, now);
        if (wait != 0)
            return wait;
        if (seal(m) != 0)
            return FOLD_RETRY_MS;
    }
    if (m->fold_at == m->fold_len) {
        long queued = fold_scan(m);
        if (queued < 0)
            return FOLD_RETRY_MS;
        if (queued == 0)
            return finish_seal(m) == 0 ? seal_wait_ms(m, now) : FOLD_RETRY_MS;
    }
    return fold_chunk(m, min_rows, FOLD_STEP_US) == STORE_OK ? 0 : FOLD_RETRY_MS;
}

void sqlite_fold_everything(sqlite_messages *m) {
    m->sealed_last_id = m->last_id;
    if (fold_scan(m) < 0 || fold_chunk(m, SIZE_MAX, 0) != STORE_OK || sync_database(m) != 0) {
        log_error("cannot fold the message log at close: it is replayed at the next open", "path",
                  m->db_path);
        return;
    }
    msglog_close(&m->sealed, 1);
    msglog_close(&m->active, 1);
}

/* ---- replay at open ---- */

struct replay_ctx {
    sqlite_messages *m;
    int64_t max_id;
    uint64_t skipped; /* rows whose chat is gone (cannot happen short of a damaged database) */
};

static int replay_row(void *ctx, const store_message *r) {
    struct replay_ctx *rc = ctx;
    int inserted = insert_row(rc->m, r);
    if (inserted == STORE_ERR_NOT_FOUND) { /* the chat's foreign key */
        rc->skipped++;
        return 0;
    }
    if (inserted < 0 || raise_last_seq(rc->m, r->chat_id, r->seq) != STORE_OK)
        return -1;
    if (r->id > rc->max_id)
        rc->max_id = r->id;
    return 0;
}

/* Replays every file in gens into the table in one transaction. */
static int replay_files(sqlite_messages *m, const uint64_t *gens, size_t count, char *err,
                        size_t errlen) {
    struct replay_ctx ctx = {m, 0, 0};
    uint64_t total = 0;
    int rc = sqlite_msg_exec(m, MSG_BEGIN_WRITE);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char *path = msglog_path(m->db_path, gens[i]);
        uint64_t records = 0;
        rc = path ? msglog_replay(path, replay_row, &ctx, &records) : -ENOMEM;
        if (rc != 0)
            snprintf(err, errlen, "sqlite: cannot replay the message log %s: %s", path ? path : "?",
                     rc < -1 ? strerror(-rc) : "database error");
        total += records;
        free(path);
    }
    rc = rc ? rc : record_last_id(m, ctx.max_id);
    rc = rc ? rc : sqlite_msg_exec(m, MSG_COMMIT);
    if (rc != 0) {
        if (!sqlite3_get_autocommit(m->db))
            sqlite_msg_exec(m, MSG_ROLLBACK);
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
    if (rc == 0 && (rc = msglog_create(&m->active, m->db_path, next_gen)) != 0) {
        snprintf(err, errlen, "sqlite: cannot create the message log of %s: %s", m->db_path,
                 strerror(-rc));
        rc = STORE_ERR_UNAVAILABLE;
    }
    return rc;
}
