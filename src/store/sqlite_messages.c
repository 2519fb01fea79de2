/* sqlite_messages.c — appending chat messages on the SQLite backend, the store's hottest job.
 *
 * One statement per message in the common case: the next seq comes from a cache of each chat's
 * last seq (loaded from chats.last_seq on first use, at most STORE_SEQ_CACHE_MAX chats), and the
 * row goes in with INSERT … ON CONFLICT DO NOTHING RETURNING id, so no savepoint, no look-up and no
 * UPDATE run per message. A conflict means a retry of a stored (chat, sender, clientMsgId) — the
 * stored row is the answer — or, if no such row exists, a stale cache (another writer on the file):
 * the entry is reloaded and the insert tried once more. chats.last_seq is written once per chat per
 * batch (sqlite_messages_flush), before any other job of the batch runs and before the commit.
 *
 * Owns: its statements and the seq cache. Runs on the store thread only. After a batch that did
 * not commit, sqlite_messages_rollback forgets the cache (its seqs were never stored).
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_priv.h"
#include "util/imap.h"

enum msg_stmt_id { MSG_FIND, MSG_INSERT, MSG_CHAT_LAST_SEQ, MSG_CHAT_SET_SEQ, MSG_STMT_COUNT };

static const char *const msg_sql[MSG_STMT_COUNT] = {
    [MSG_FIND] = "SELECT id, seq, text, sent_at FROM messages "
                 "WHERE chat_id = $1 AND sender_id = $2 AND client_msg_id = $3",
    [MSG_INSERT] = "INSERT INTO messages (chat_id, seq, sender_id, client_msg_id, text, sent_at) "
                   "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
    /* The highest of the recorded last seq and the highest stored one: a chat whose last_seq
     * fell behind its messages (it cannot, short of a bug) would otherwise never take another. */
    [MSG_CHAT_LAST_SEQ] =
        "SELECT max(last_seq, COALESCE((SELECT MAX(seq) FROM messages WHERE chat_id = $1), 0)) "
        "FROM chats WHERE id = $1",
    [MSG_CHAT_SET_SEQ] = "UPDATE chats SET last_seq = $2 WHERE id = $1",
};

struct seq_entry {
    int64_t chat_id;
    int64_t last_seq; /* the highest seq given out, stored or in the open batch */
    int dirty;        /* last_seq is ahead of chats.last_seq in the open batch */
};

struct sqlite_messages {
    sqlite3 *db;
    sqlite3_stmt *stmt[MSG_STMT_COUNT];
    imap *seqs;               /* chat id → struct seq_entry */
    struct seq_entry **dirty; /* the entries this batch advanced, not yet flushed */
    size_t dirty_count, dirty_cap;
};

int sqlite_messages_open(sqlite3 *db, sqlite_messages **out, char *err, size_t errlen) {
    sqlite_messages *m = calloc(1, sizeof *m);
    *out = m;
    if (!m || !(m->seqs = imap_new())) {
        snprintf(err, errlen, "sqlite: out of memory");
        return STORE_ERR_NOMEM;
    }
    m->db = db;
    return sqlite_prepare_list(db, msg_sql, m->stmt, MSG_STMT_COUNT, err, errlen);
}

static void free_entry(void *ctx, int64_t key, void *value) {
    (void)ctx;
    (void)key;
    free(value);
}

/* Empties the cache: every entry is loaded again from chats.last_seq when next used. */
static void seq_cache_clear(sqlite_messages *m) {
    if (m->seqs)
        imap_each(m->seqs, free_entry, NULL);
    imap_free(m->seqs);
    m->seqs = imap_new(); /* NULL when memory ran out: then nothing is cached */
    m->dirty_count = 0;
}

void sqlite_messages_close(sqlite_messages *m) {
    if (!m)
        return;
    for (int i = 0; i < MSG_STMT_COUNT; i++)
        sqlite3_finalize(m->stmt[i]);
    if (m->seqs)
        imap_each(m->seqs, free_entry, NULL);
    imap_free(m->seqs);
    free(m->dirty);
    free(m);
}

/* Reads chats.last_seq into e; STORE_ERR_NOT_FOUND when the chat does not exist. */
static int seq_load(sqlite_messages *m, struct seq_entry *e) {
    sqlite3_stmt *st = m->stmt[MSG_CHAT_LAST_SEQ];
    int rc = sqlite_bind_i64(st, 1, e->chat_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        e->last_seq = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    int status = sqlite_finish(st, rc);
    return status == STORE_OK && rc == SQLITE_DONE ? STORE_ERR_NOT_FOUND : status;
}

/* The cached entry of a chat, loaded on first use. */
static int seq_entry_get(sqlite_messages *m, int64_t chat_id, struct seq_entry **out) {
    if (!m->seqs || imap_count(m->seqs) >= STORE_SEQ_CACHE_MAX) {
        int status = sqlite_messages_flush(m); /* what this batch gave out is written first */
        if (status != STORE_OK)
            return status;
        seq_cache_clear(m);
        if (!m->seqs)
            return STORE_ERR_NOMEM;
    }
    struct seq_entry *e = imap_get(m->seqs, chat_id);
    if (e) {
        *out = e;
        return STORE_OK;
    }
    e = calloc(1, sizeof *e);
    if (!e)
        return STORE_ERR_NOMEM;
    e->chat_id = chat_id;
    int status = seq_load(m, e);
    if (status == STORE_OK && imap_put(m->seqs, chat_id, e) != 0)
        status = STORE_ERR_NOMEM;
    if (status != STORE_OK) {
        free(e);
        return status;
    }
    *out = e;
    return STORE_OK;
}

/* Makes room in the dirty list for one more entry, before the insert that will need it: once a
 * row is in, its seq must reach chats.last_seq whatever happens. */
static int seq_reserve_dirty(sqlite_messages *m) {
    if (m->dirty_count < m->dirty_cap)
        return STORE_OK;
    size_t cap = m->dirty_cap ? m->dirty_cap * 2 : 64;
    struct seq_entry **d = realloc(m->dirty, cap * sizeof *d);
    if (!d)
        return STORE_ERR_NOMEM;
    m->dirty = d;
    m->dirty_cap = cap;
    return STORE_OK;
}

/* Copies the stored row of a repeated message into the job. The stored text is kept when it
 * differs from the retry's text: the stored row is the answer. */
static int take_stored_row(store_job *job, sqlite3_stmt *st) {
    store_message *msg = &job->row.message;
    const char *text = (const char *)sqlite3_column_text(st, 2);
    msg->id = sqlite3_column_int64(st, 0);
    msg->seq = sqlite3_column_int64(st, 1);
    msg->sent_at_ms = sqlite3_column_int64(st, 3);
    msg->duplicate = 1;
    if (text && strcmp(text, msg->text) != 0) {
        job->owned = strdup(text);
        if (!job->owned)
            return SQLITE_NOMEM;
        msg->text = job->owned;
    }
    return SQLITE_OK;
}

/* Looks up (chat, sender, client_msg_id): 1 and the row in the job when found, 0 when not,
 * or a negative store_status. */
static int find_stored(sqlite_messages *m, store_job *job) {
    const store_message *msg = &job->row.message;
    sqlite3_stmt *st = m->stmt[MSG_FIND];
    int found = 0;
    int rc = sqlite_bind_i64(st, 1, msg->chat_id);
    if (rc == SQLITE_OK && (rc = sqlite_bind_i64(st, 2, msg->sender_id)) == SQLITE_OK &&
        (rc = sqlite_bind_text(st, 3, msg->client_msg_id)) == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        found = 1;
        rc = take_stored_row(job, st);
    }
    int status = sqlite_finish(st, rc);
    return status != STORE_OK ? status : found;
}

/* Inserts msg at its seq: 1 when stored (msg->id set), 0 on a uniqueness conflict, or a
 * negative store_status. */
static int insert_row(sqlite_messages *m, store_message *msg) {
    sqlite3_stmt *st = m->stmt[MSG_INSERT];
    int rc = sqlite_bind_i64(st, 1, msg->chat_id);
    if (rc == SQLITE_OK && (rc = sqlite_bind_i64(st, 2, msg->seq)) == SQLITE_OK &&
        (rc = sqlite_bind_i64(st, 3, msg->sender_id)) == SQLITE_OK &&
        (rc = sqlite_bind_text(st, 4, msg->client_msg_id)) == SQLITE_OK &&
        (rc = sqlite_bind_text(st, 5, msg->text)) == SQLITE_OK &&
        (rc = sqlite_bind_i64(st, 6, msg->sent_at_ms)) == SQLITE_OK)
        rc = sqlite3_step(st);
    int inserted = rc == SQLITE_ROW;
    if (inserted)
        msg->id = sqlite3_column_int64(st, 0);
    int status = sqlite_finish(st, inserted || rc == SQLITE_DONE ? SQLITE_OK : rc);
    return status != STORE_OK ? status : inserted;
}

/* One try at the chat's next seq: 1 stored, 0 conflict, or a negative store_status. */
static int append_at_next_seq(sqlite_messages *m, store_job *job, struct seq_entry *e) {
    store_message *msg = &job->row.message;
    if (!e->dirty && seq_reserve_dirty(m) != STORE_OK)
        return STORE_ERR_NOMEM;
    msg->seq = e->last_seq + 1;
    int inserted = insert_row(m, msg);
    if (inserted <= 0)
        return inserted;
    e->last_seq = msg->seq;
    if (!e->dirty) {
        m->dirty[m->dirty_count++] = e; /* room was made above */
        e->dirty = 1;
    }
    return 1;
}

int sqlite_messages_append(sqlite_messages *m, store_job *job, int64_t now_ms) {
    store_message *msg = &job->row.message;
    struct seq_entry *e;
    msg->sent_at_ms = now_ms;
    int status = seq_entry_get(m, msg->chat_id, &e);
    for (int tries = 0; status == STORE_OK && tries < 2; tries++) {
        int inserted = append_at_next_seq(m, job, e);
        if (inserted != 0)
            return inserted > 0 ? STORE_OK : inserted;
        int found = find_stored(m, job);
        if (found != 0)
            return found > 0 ? STORE_OK : found;
        if (e->dirty) /* a conflict on a seq this batch gave out itself: never expected */
            return STORE_ERR_CONFLICT;
        status = seq_load(m, e); /* someone else wrote the chat: reload, try once more */
    }
    return status == STORE_OK ? STORE_ERR_CONFLICT : status;
}

int sqlite_messages_flush(sqlite_messages *m) {
    sqlite3_stmt *st = m->stmt[MSG_CHAT_SET_SEQ];
    for (size_t i = 0; i < m->dirty_count; i++) {
        struct seq_entry *e = m->dirty[i];
        int rc = sqlite_bind_i64(st, 1, e->chat_id);
        if (rc == SQLITE_OK)
            rc = sqlite_bind_i64(st, 2, e->last_seq);
        int status = sqlite_step_done(st, rc);
        if (status != STORE_OK)
            return status;
        e->dirty = 0;
    }
    m->dirty_count = 0;
    return STORE_OK;
}

void sqlite_messages_rollback(sqlite_messages *m) {
    seq_cache_clear(m);
}
