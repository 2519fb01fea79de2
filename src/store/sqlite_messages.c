/* sqlite_messages.c — appending chat messages on the SQLite backend, the store's hottest job, and
 * the reads that must see messages not yet folded into the table (sqlite_msg.h has the design).
 *
 * A batch of appends costs one pwrite and one fdatasync of the message log, whatever the number
 * of chats it touches; no SQLite write happens on this path. Per message: the chat's state (last
 * seq, unfolded rows) from a map, loaded from chats.last_seq and the table on first use; a repeat
 * of (chat, sender, clientMsgId) found among the unfolded rows or, when the chat has folded rows,
 * with one indexed SELECT; otherwise the next seq and id, a row in memory and a record in the
 * batch. A batch whose write fails is undone (rows, seqs) and the file cut back to its last good
 * byte; while it cannot be cut back, appends answer STORE_ERR_UNAVAILABLE.
 *
 * Owns: the statements, the chat states and their rows, the log files (through msglog.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_msg.h"
#include "util/log.h"

static const char *const msg_sql[MSG_STMT_COUNT] = {
    [MSG_FIND] = "SELECT id, seq, text, sent_at FROM messages "
                 "WHERE chat_id = $1 AND sender_id = $2 AND client_msg_id = $3",
    /* The highest of the recorded last seq and the highest stored one. */
    [MSG_CHAT_LAST_SEQ] =
        "SELECT max(last_seq, COALESCE((SELECT MAX(seq) FROM messages WHERE chat_id = $1), 0)) "
        "FROM chats WHERE id = $1",
    [MSG_LAST_ID] = "SELECT last_id FROM message_ids",
    [MSG_BEGIN_READ] = "BEGIN",
    [MSG_COMMIT] = "COMMIT",
};

/* ---- chat states and rows ---- */

/* The map key of a retry's identity: FNV-1a over chat, sender and clientMsgId, never 0 (imap's
 * reserved key). Rows whose keys collide are chained through same_key. */
static int64_t row_key(int64_t chat_id, int64_t sender_id, const char *client_msg_id) {
    uint64_t h = 0xcbf29ce484222325ull;
    unsigned char ids[16];
    for (int i = 0; i < 8; i++) {
        ids[i] = (unsigned char)((uint64_t)chat_id >> (8 * i));
        ids[8 + i] = (unsigned char)((uint64_t)sender_id >> (8 * i));
    }
    for (size_t i = 0; i < sizeof ids; i++)
        h = (h ^ ids[i]) * 0x100000001b3ull;
    for (const unsigned char *c = (const unsigned char *)client_msg_id; *c; c++)
        h = (h ^ *c) * 0x100000001b3ull;
    return h ? (int64_t)h : 1;
}

static int key_add(sqlite_messages *m, struct log_row *r) {
    int64_t key = row_key(r->m.chat_id, r->m.sender_id, r->m.client_msg_id);
    r->same_key = imap_get(m->by_key, key);
    return imap_put(m->by_key, key, r) == 0 ? STORE_OK : STORE_ERR_NOMEM;
}

static void key_remove(sqlite_messages *m, struct log_row *r) {
    int64_t key = row_key(r->m.chat_id, r->m.sender_id, r->m.client_msg_id);
    struct log_row *head = imap_get(m->by_key, key);
    if (head == r) {
        if (r->same_key)
            imap_replace(m->by_key, key, r->same_key);
        else
            imap_del(m->by_key, key);
        return;
    }
    for (struct log_row *p = head; p; p = p->same_key) {
        if (p->same_key == r) {
            p->same_key = r->same_key;
            return;
        }
    }
}

static void row_free(sqlite_messages *m, struct log_row *r) {
    key_remove(m, r);
    m->unfolded_rows--;
    m->unfolded_bytes -= r->size;
    free(r);
}

void sqlite_msg_drop_rows(sqlite_messages *m, struct chat_state *e, size_t n) {
    while (n-- > 0 && e->first) {
        struct log_row *r = e->first;
        e->first = r->next;
        e->rows--;
        row_free(m, r);
    }
    if (!e->first)
        e->last = NULL;
}

static void chat_state_free(void *ctx, int64_t key, void *value) {
    (void)key;
    struct chat_state *e = value;
    sqlite_msg_drop_rows(ctx, e, e->rows);
    free(e);
}

struct evict_ctx {
    int64_t *ids;
    size_t count;
};

static void collect_idle(void *ctx, int64_t key, void *value) {
    struct evict_ctx *ev = ctx;
    const struct chat_state *e = value;
    if (e->rows == 0)
        ev->ids[ev->count++] = key;
}

/* Forgets every chat state without unfolded rows (their last seq is in chats.last_seq). */
static void chat_states_evict(sqlite_messages *m) {
    struct evict_ctx ev = {malloc(imap_count(m->chats) * sizeof(int64_t)), 0};
    if (!ev.ids)
        return; /* out of memory: the map keeps growing for now */
    imap_each(m->chats, collect_idle, &ev);
    for (size_t i = 0; i < ev.count; i++)
        free(imap_del(m->chats, ev.ids[i]));
    free(ev.ids);
}

/* Reads a chat's last seq; STORE_ERR_NOT_FOUND when the chat does not exist. */
static int chat_last_seq_load(sqlite_messages *m, int64_t chat_id, int64_t *last_seq) {
    sqlite3_stmt *st = m->stmt[MSG_CHAT_LAST_SEQ];
    int rc = sqlite_bind_i64(st, 1, chat_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *last_seq = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    int status = sqlite_finish(st, rc);
    return status == STORE_OK && rc == SQLITE_DONE ? STORE_ERR_NOT_FOUND : status;
}

/* The state of a chat, loaded on first use. */
static int chat_state_get(sqlite_messages *m, int64_t chat_id, struct chat_state **out) {
    struct chat_state *e = imap_get(m->chats, chat_id);
    if (e) {
        *out = e;
        return STORE_OK;
    }
    if (imap_count(m->chats) >= m->evict_at) {
        chat_states_evict(m); /* what is left has unfolded rows: wait for a quarter more */
        size_t next = imap_count(m->chats) + STORE_SEQ_CACHE_MAX / 4;
        m->evict_at = next > STORE_SEQ_CACHE_MAX ? next : STORE_SEQ_CACHE_MAX;
    }
    e = calloc(1, sizeof *e);
    if (!e)
        return STORE_ERR_NOMEM;
    e->chat_id = chat_id;
    int status = chat_last_seq_load(m, chat_id, &e->last_seq);
    if (status == STORE_OK && imap_put(m->chats, chat_id, e) != 0)
        status = STORE_ERR_NOMEM;
    if (status != STORE_OK) {
        free(e);
        return status;
    }
    *out = e;
    return STORE_OK;
}

/* A new unfolded row holding msg's strings, with its id, seq and time. */
static struct log_row *row_new(const store_message *msg, int64_t id, int64_t seq, int64_t now) {
    size_t cid = strlen(msg->client_msg_id) + 1, text = strlen(msg->text) + 1;
    struct log_row *r = malloc(sizeof *r + cid + text);
    if (!r)
        return NULL;
    r->next = NULL;
    r->size = sizeof *r + cid + text;
    r->m = *msg;
    memcpy(r->bytes, msg->client_msg_id, cid);
    memcpy(r->bytes + cid, msg->text, text);
    r->m.client_msg_id = r->bytes;
    r->m.text = r->bytes + cid;
    r->m.id = id;
    r->m.seq = seq;
    r->m.sent_at_ms = now;
    r->m.duplicate = 0;
    return r;
}

static void chat_state_push(sqlite_messages *m, struct chat_state *e, struct log_row *r) {
    if (e->last)
        e->last->next = r;
    else
        e->first = r;
    e->last = r;
    e->rows++;
    e->last_seq = r->m.seq;
    m->unfolded_rows++;
    m->unfolded_bytes += r->size;
}

/* ---- one append ---- */

/* Answers a repeat with the stored row: its id, seq and time, and its text when the retry's text
 * differs (the stored row is the answer). text is copied: the row may be folded and freed before
 * the callback runs. */
static int take_stored(store_job *job, int64_t id, int64_t seq, int64_t sent_at, const char *text) {
    store_message *msg = &job->row.message;
    msg->id = id;
    msg->seq = seq;
    msg->sent_at_ms = sent_at;
    msg->duplicate = 1;
    if (text && strcmp(text, msg->text) != 0) {
        job->owned = strdup(text);
        if (!job->owned)
            return STORE_ERR_NOMEM;
        msg->text = job->owned;
    }
    return STORE_OK;
}

/* 1 with the row in the job when the unfolded rows hold the repeat, else 0: one map look-up,
 * however many rows a chat has waiting. */
static int find_unfolded(sqlite_messages *m, store_job *job) {
    const store_message *msg = &job->row.message;
    int64_t key = row_key(msg->chat_id, msg->sender_id, msg->client_msg_id);
    for (const struct log_row *r = imap_get(m->by_key, key); r; r = r->same_key) {
        if (r->m.chat_id == msg->chat_id && r->m.sender_id == msg->sender_id &&
            strcmp(r->m.client_msg_id, msg->client_msg_id) == 0) {
            int status = take_stored(job, r->m.id, r->m.seq, r->m.sent_at_ms, r->m.text);
            return status == STORE_OK ? 1 : status;
        }
    }
    return 0;
}

/* 1 with the row in the job when the table holds the repeat, 0 when not, or a store_status. */
static int find_folded(sqlite_messages *m, store_job *job) {
    const store_message *msg = &job->row.message;
    sqlite3_stmt *st = m->stmt[MSG_FIND];
    int found = 0, status = STORE_OK;
    int rc = sqlite_bind_i64(st, 1, msg->chat_id);
    rc = rc ? rc : sqlite_bind_i64(st, 2, msg->sender_id);
    rc = rc ? rc : sqlite_bind_text(st, 3, msg->client_msg_id);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        found = 1;
        status = take_stored(job, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                             sqlite3_column_int64(st, 3), (const char *)sqlite3_column_text(st, 2));
        rc = SQLITE_OK;
    }
    int finish = sqlite_finish(st, rc);
    return finish != STORE_OK ? finish : status != STORE_OK ? status : found;
}

/* The highest seq of the chat that is in the table (its unfolded rows are the ones above). */
static int64_t folded_seq(const struct chat_state *e) {
    return e->first ? e->first->m.seq - 1 : e->last_seq;
}

static int file_rows_push(sqlite_messages *m, struct log_row *r) {
    if (m->file_count == m->file_cap) {
        size_t cap = m->file_cap ? m->file_cap * 2 : 4096;
        struct log_row **rows = realloc(m->file_rows, cap * sizeof *rows);
        if (!rows)
            return STORE_ERR_NOMEM;
        m->file_rows = rows;
        m->file_cap = cap;
    }
    m->file_rows[m->file_count++] = r;
    return STORE_OK;
}

/* A new message: the chat's next seq, the next id, a row in memory and a record in the batch. */
static int append_new(sqlite_messages *m, struct chat_state *e, store_job *job, int64_t now) {
    store_message *msg = &job->row.message;
    if (m->unfolded_rows >= STORE_UNFOLDED_MAX || m->unfolded_bytes >= STORE_UNFOLDED_BYTES_MAX)
        return STORE_ERR_UNAVAILABLE; /* folds are failing or behind: refuse rather than grow */
    struct log_row *r = row_new(msg, m->last_id + 1, e->last_seq + 1, now);
    if (!r)
        return STORE_ERR_NOMEM;
    if (key_add(m, r) != STORE_OK) {
        free(r);
        return STORE_ERR_NOMEM;
    }
    if (file_rows_push(m, r) != STORE_OK) {
        key_remove(m, r);
        free(r);
        return STORE_ERR_NOMEM;
    }
    m->last_id++;
    chat_state_push(m, e, r);
    msglog_encode(&m->active, &m->batch, &r->m);
    msg->id = r->m.id;
    msg->seq = r->m.seq;
    msg->sent_at_ms = now;
    msg->duplicate = 0;
    return STORE_OK;
}

static int append_one(sqlite_messages *m, store_job *job, int64_t now) {
    struct chat_state *e;
    int status = chat_state_get(m, job->row.message.chat_id, &e);
    if (status != STORE_OK)
        return status;
    int found = find_unfolded(m, job);
    if (found == 0 && folded_seq(e) > 0)
        found = find_folded(m, job);
    if (found != 0)
        return found > 0 ? STORE_OK : found;
    return append_new(m, e, job, now);
}

/* ---- the batch ---- */

/* Takes the batch's new rows back out, newest first: each is then its chat's last row. */
static void batch_undo(sqlite_messages *m) {
    while (m->file_count > m->batch_start) {
        struct log_row *r = m->file_rows[--m->file_count];
        struct chat_state *e = imap_get(m->chats, r->m.chat_id);
        struct log_row **link = &e->first;
        while (*link != r)
            link = &(*link)->next;
        *link = NULL;
        e->last = NULL;
        for (struct log_row *p = e->first; p; p = p->next)
            e->last = p;
        e->rows--;
        e->last_seq = r->m.seq - 1;
        row_free(m, r);
    }
}

/* Writes the batch's records; on failure undoes the batch and cuts the file back. */
static int batch_write(sqlite_messages *m, int64_t now) {
    size_t count = m->file_count - m->batch_start;
    if (count == 0)
        return 0;
    int rc =
        m->batch.failed ? -ENOMEM : msglog_write(&m->active, m->batch.data, m->batch.len, count);
    if (rc == 0) {
        if (m->active_since_ms == 0)
            m->active_since_ms = now;
        return 0;
    }
    log_error("message log write failed", "path", m->active.path, "error", strerror(-rc));
    batch_undo(m);
    if (rc != -ENOMEM && msglog_cut(&m->active) != 0)
        m->log_broken = 1;
    return -1;
}

/* A file whose failed write could not be cut back takes no appends until the cut succeeds. */
static int log_usable(sqlite_messages *m) {
    if (m->log_broken && msglog_cut(&m->active) == 0) {
        m->log_broken = 0;
        log_info("message log usable again", "path", m->active.path);
    }
    return !m->log_broken;
}

void sqlite_messages_append_batch(sqlite_messages *m, store_job *jobs) {
    int64_t now = store_now_ms();
    buf_reset(&m->batch);
    m->batch.failed = 0;
    m->batch_start = m->file_count;
    int usable = log_usable(m) && sqlite_step_done(m->stmt[MSG_BEGIN_READ], SQLITE_OK) == STORE_OK;
    for (store_job *job = jobs; job; job = job->next)
        job->status = usable ? append_one(m, job, now) : STORE_ERR_UNAVAILABLE;
    if (usable)
        sqlite_step_done(m->stmt[MSG_COMMIT], SQLITE_OK); /* ends the read transaction */
    if (batch_write(m, now) != 0)
        for (store_job *job = jobs; job; job = job->next)
            job->status = STORE_ERR_UNAVAILABLE; /* repeats too: they may name an undone row */
}

/* ---- reads that must see unfolded rows ---- */

int64_t sqlite_messages_last_seq(sqlite_messages *m, int64_t chat_id) {
    const struct chat_state *e = imap_get(m->chats, chat_id);
    return e ? e->last_seq : 0;
}

/* Copies r into job result memory (the row may be freed before the callback runs). */
static int copy_row(store_job *job, const store_message *r, store_message *out) {
    size_t cid = strlen(r->client_msg_id) + 1, text = strlen(r->text) + 1;
    char *s = store_job_alloc(job, cid + text);
    if (!s)
        return STORE_ERR_NOMEM;
    memcpy(s, r->client_msg_id, cid);
    memcpy(s + cid, r->text, text);
    *out = *r;
    out->client_msg_id = s;
    out->text = s + cid;
    out->duplicate = 0;
    return STORE_OK;
}

int sqlite_messages_unfolded_after(sqlite_messages *m, store_job *job, int64_t chat_id,
                                   int64_t after_seq, size_t limit) {
    const struct chat_state *e = imap_get(m->chats, chat_id);
    size_t taken = 0;
    for (const struct log_row *r = e ? e->first : NULL; r && taken < limit; r = r->next) {
        if (r->m.seq <= after_seq)
            continue;
        store_message *out = store_list_push(job, sizeof *out);
        if (!out || copy_row(job, &r->m, out) != STORE_OK)
            return STORE_ERR_NOMEM;
        taken++;
    }
    return STORE_OK;
}

int sqlite_messages_patch_summary(sqlite_messages *m, store_job *job, store_chat_summary *c) {
    const struct chat_state *e = imap_get(m->chats, c->id);
    if (!e || !e->last || e->last_seq <= c->last_seq)
        return STORE_OK;
    store_message *last = store_job_alloc(job, sizeof *last);
    if (!last)
        return STORE_ERR_NOMEM;
    c->last_seq = e->last_seq;
    c->last_message = last;
    return copy_row(job, &e->last->m, last);
}

/* ---- open and close ---- */

int sqlite_messages_open(sqlite3 *db, const char *path, sqlite_messages **out, char *err,
                         size_t errlen) {
    sqlite_messages *m = calloc(1, sizeof *m);
    *out = m;
    if (!m || !(m->chats = imap_new()) || !(m->by_key = imap_new()) ||
        !(m->db_path = strdup(path))) {
        snprintf(err, errlen, "sqlite: out of memory");
        return STORE_ERR_NOMEM;
    }
    m->db = db;
    m->evict_at = STORE_SEQ_CACHE_MAX;
    m->active.fd = m->spare.fd = m->failed.fd = -1;
    buf_init(&m->batch, 0);
    int rc = sqlite_prepare_list(db, msg_sql, m->stmt, MSG_STMT_COUNT, err, errlen);
    if (rc == 0)
        rc = fold_stmts_prepare(&m->fold, db, err, errlen);
    return rc == 0 ? sqlite_fold_recover(m, err, errlen) : rc;
}

int sqlite_messages_start_folder(sqlite_messages *m, sqlite_checkpointer *ckpt, char *err,
                                 size_t errlen) {
    return sqlite_folder_start(m->db_path, ckpt, &m->folder, err, errlen);
}

void sqlite_messages_lock_writes(sqlite_messages *m) {
    sqlite_folder_lock(m->folder);
}

void sqlite_messages_unlock_writes(sqlite_messages *m) {
    sqlite_folder_unlock(m->folder);
}

void sqlite_messages_close(sqlite_messages *m, sqlite_checkpointer *ckpt) {
    if (!m)
        return;
    sqlite_fold_close(m, ckpt);
    msglog_close(&m->failed, 0);
    msglog_close(&m->active, 0);
    msglog_close(&m->spare, 1); /* no record in it yet */
    for (int i = 0; i < MSG_STMT_COUNT; i++)
        sqlite3_finalize(m->stmt[i]);
    fold_stmts_finalize(&m->fold);
    if (m->chats)
        imap_each(m->chats, chat_state_free, m); /* before by_key: freeing a row unmaps it */
    imap_free(m->chats);
    imap_free(m->by_key);
    buf_free(&m->batch);
    free(m->file_rows);
    free(m->sealed_rows);
    free(m->db_path);
    free(m);
}

uint64_t sqlite_messages_unfolded(const sqlite_messages *m) {
    return m->unfolded_rows;
}
