/* sqlite_chats.c — the SQLite backend's chat history and safety jobs (store.h "chats, history,
 * safety"): a user's context at connect, active chats after a restart, ending a chat, read marks,
 * history pages, reports, blocks and bans.
 *
 * Owns its prepared statements. Runs on the store thread, each job inside the savepoint that
 * sqlite.c opened for it (so a job's statements share one transaction). Must not: commit or roll
 * back (sqlite.c does), put a value into SQL text.
 *
 * List results go to job->list (store_list_push); their strings and nested rows (a summary's last
 * message, the context's active chat) to store_job_alloc's memory, so everything stays valid
 * until the callback has returned and is freed with the job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_priv.h"

enum chats_stmt_id {
    CHATS_USER_BAN_STATE,
    CHATS_ACTIVE_OF_USER,
    CHATS_PREVIOUS_PARTNER,
    CHATS_BLOCKED_IDS,
    CHATS_ALL_ACTIVE,
    CHATS_FOR_USER,
    CHATS_END,
    CHATS_MARK_READ,
    CHATS_IS_MEMBER,
    CHATS_MESSAGES_AFTER,
    CHATS_REPORT_INSERT,
    CHATS_REPORTS_LIST,
    CHATS_USER_EXISTS,
    CHATS_BLOCK_INSERT,
    CHATS_BLOCK_DELETE,
    CHATS_BLOCKS_LIST,
    CHATS_USER_BAN,
    CHATS_STMT_COUNT
};

/* A chat's own columns as a summary starts with them (SUM_ID..SUM_LAST_SEQ). */
#define CHAT_COLS "id, category, started_at, ended_at, last_seq, "

/* The chats of user $1 seen from their side (CHAT_COLS, my_read, their_read, viewer, partner),
 * id < $2, at most $3 from each side, each side read newest first through its (user_x, id) index.
 * `cond` narrows both sides: " AND ended_at IS NULL" reads migration 003's partial indexes. */
#define USER_SIDES(cond)                                                                           \
    "SELECT * FROM (SELECT " CHAT_COLS "read_seq_a AS my_read, read_seq_b AS their_read, "         \
    "user_a AS viewer, user_b AS partner FROM chats WHERE user_a = $1 AND id < $2" cond            \
    " ORDER BY id DESC LIMIT $3) AS a UNION ALL SELECT * FROM (SELECT " CHAT_COLS                  \
    "read_seq_b, read_seq_a, user_b, user_a FROM chats WHERE user_b = $1 AND id < $2" cond         \
    " ORDER BY id DESC LIMIT $3) AS b"

/* Every active chat from user_a's side, in USER_SIDES's columns. */
#define ACTIVE_SIDE                                                                                \
    "SELECT " CHAT_COLS "read_seq_a AS my_read, read_seq_b AS their_read, user_a AS viewer, "      \
    "user_b AS partner FROM chats WHERE ended_at IS NULL"

/* A message's columns in the order chats_message_read reads them. */
#define MESSAGE_COLS "id, chat_id, seq, sender_id, client_msg_id, text, sent_at"

/* A summary's columns in SUM_* order: the chat from one side, the partner as users has them (NULL
 * texts once the account is deleted), the message at last_seq in MESSAGE_COLS order. */
#define SUMMARY_COLS                                                                               \
    "s.id, s.category, s.started_at, s.ended_at, s.last_seq, s.my_read, s.their_read, s.viewer, "  \
    "s.partner, u.nickname, u.job, u.career, "                                                     \
    "m.id, m.chat_id, m.seq, m.sender_id, m.client_msg_id, m.text, m.sent_at"

/* Chat summaries over `sides` (rows in USER_SIDES's columns). */
#define SUMMARIES(sides, order)                                                                    \
    "SELECT " SUMMARY_COLS " FROM (" sides ") AS s LEFT JOIN users u ON u.id = s.partner "         \
    "LEFT JOIN messages m ON m.chat_id = s.id AND m.seq = s.last_seq " order

enum {
    SUM_ID,
    SUM_CATEGORY,
    SUM_STARTED,
    SUM_ENDED,
    SUM_LAST_SEQ,
    SUM_MY_READ,
    SUM_THEIR_READ,
    SUM_VIEWER,
    SUM_PARTNER,                   /* id, nickname, job, career */
    SUM_MESSAGE = SUM_PARTNER + 4, /* MESSAGE_COLS */
};

/* The chat's last seq: the appender's ($4, 0 when it has none) when higher than chats.last_seq,
 * which folds of the message log raise later. */
#define LAST_SEQ "(CASE WHEN $4 > last_seq THEN $4 ELSE last_seq END)"

/* Raises user_x's read mark to min($3, LAST_SEQ) when the acting user $2 is user_x; one CASE per
 * side, no GREATEST/LEAST, so the text is also PostgreSQL. */
#define READ_SEQ(x)                                                                                \
    "read_seq_" x " = CASE WHEN user_" x " = $2 AND $3 > read_seq_" x " AND " LAST_SEQ             \
    " > read_seq_" x " THEN (CASE WHEN $3 < " LAST_SEQ " THEN $3 ELSE " LAST_SEQ                   \
    " END) ELSE read_seq_" x " END"

static const char *const chats_sql[CHATS_STMT_COUNT] = {
    [CHATS_USER_BAN_STATE] = "SELECT banned_until FROM users WHERE id = $1",
    [CHATS_ACTIVE_OF_USER] =
        SUMMARIES(USER_SIDES(" AND ended_at IS NULL"), "ORDER BY s.id DESC LIMIT 1"),
    [CHATS_PREVIOUS_PARTNER] =
        "SELECT partner FROM (" USER_SIDES("") ") AS s ORDER BY id DESC LIMIT 1",
    [CHATS_BLOCKED_IDS] = "SELECT blocked_id FROM blocks WHERE blocker_id = $1 "
                          "ORDER BY blocked_id",
    [CHATS_ALL_ACTIVE] = SUMMARIES(ACTIVE_SIDE, "ORDER BY s.id"),
    [CHATS_FOR_USER] = SUMMARIES(USER_SIDES(""), "ORDER BY s.id DESC LIMIT $3"),
    [CHATS_END] = "UPDATE chats SET ended_at = $2, end_reason = $3, ended_by = NULLIF($4, 0) "
                  "WHERE id = $1 AND ended_at IS NULL RETURNING id",
    [CHATS_MARK_READ] = "UPDATE chats SET " READ_SEQ("a") ", " READ_SEQ(
        "b") " WHERE id = $1 AND (user_a = $2 OR user_b = $2) RETURNING id",
    [CHATS_IS_MEMBER] = "SELECT 1 FROM chats WHERE id = $1 AND (user_a = $2 OR user_b = $2)",
    [CHATS_MESSAGES_AFTER] = "SELECT " MESSAGE_COLS " FROM messages "
                             "WHERE chat_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    [CHATS_REPORT_INSERT] =
        "INSERT INTO reports (chat_id, reporter_id, reported_id, reason, detail, created_at) "
        "SELECT id, $2, CASE WHEN user_a = $2 THEN user_b ELSE user_a END, $3, $4, $5 "
        "FROM chats WHERE id = $1 AND (user_a = $2 OR user_b = $2) RETURNING id",
    [CHATS_REPORTS_LIST] = "SELECT id, chat_id, reporter_id, reported_id, reason, detail, "
                           "created_at FROM reports WHERE id < $1 ORDER BY id DESC LIMIT $2",
    [CHATS_USER_EXISTS] = "SELECT 1 FROM users WHERE id = $1",
    [CHATS_BLOCK_INSERT] = "INSERT INTO blocks (blocker_id, blocked_id, created_at) "
                           "VALUES ($1, $2, $3) ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
    [CHATS_BLOCK_DELETE] = "DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2",
    [CHATS_BLOCKS_LIST] = "SELECT u.id, u.nickname, u.job, u.career FROM blocks b "
                          "JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = $1 "
                          "ORDER BY b.created_at DESC, b.blocked_id DESC",
    [CHATS_USER_BAN] = "UPDATE users SET banned_until = $2, ban_reason = $3 "
                       "WHERE id = $1 RETURNING id",
};

struct sqlite_chats {
    sqlite3_stmt *stmt[CHATS_STMT_COUNT];
    sqlite_messages *messages; /* the appender: rows and last seqs not yet folded */
};

/* Reads one row of a list statement into the job; an SQLite result code. */
typedef int (*chats_take_fn)(store_job *job, sqlite3_stmt *st);

/* ---- rows ---- */

/* Copies column col's text into the job's result memory: *out is the copy, NULL for SQL NULL. */
static int chats_text(store_job *job, sqlite3_stmt *st, int col, const char **out) {
    *out = NULL;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return SQLITE_OK;
    const unsigned char *text = sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    char *copy = text ? store_job_alloc(job, len + 1) : NULL;
    if (!copy)
        return SQLITE_NOMEM;
    memcpy(copy, text, len + 1);
    *out = copy;
    return SQLITE_OK;
}

/* Reads MESSAGE_COLS starting at column base. */
static int chats_message_read(store_job *job, sqlite3_stmt *st, int base, store_message *m) {
    m->id = sqlite3_column_int64(st, base);
    m->chat_id = sqlite3_column_int64(st, base + 1);
    m->seq = sqlite3_column_int64(st, base + 2);
    m->sender_id = sqlite3_column_int64(st, base + 3);
    m->sent_at_ms = sqlite3_column_int64(st, base + 6);
    m->duplicate = 0;
    int rc = chats_text(job, st, base + 4, &m->client_msg_id);
    return rc ? rc : chats_text(job, st, base + 5, &m->text);
}

/* Reads a partner (id, nickname, job, career) starting at column base. */
static int chats_partner_read(store_job *job, sqlite3_stmt *st, int base, store_partner *p) {
    p->id = sqlite3_column_int64(st, base);
    int rc = chats_text(job, st, base + 1, &p->nickname);
    rc = rc ? rc : chats_text(job, st, base + 2, &p->job);
    return rc ? rc : chats_text(job, st, base + 3, &p->career);
}

/* The summary's last message, or NULL when the chat has none (no row at last_seq). */
static int chats_last_message_read(store_job *job, sqlite3_stmt *st, store_chat_summary *c) {
    c->last_message = NULL;
    if (sqlite3_column_type(st, SUM_MESSAGE) == SQLITE_NULL)
        return SQLITE_OK;
    store_message *m = store_job_alloc(job, sizeof *m);
    if (!m)
        return SQLITE_NOMEM;
    c->last_message = m;
    return chats_message_read(job, st, SUM_MESSAGE, m);
}

static int chats_summary_read(store_job *job, sqlite3_stmt *st, store_chat_summary *c) {
    c->id = sqlite3_column_int64(st, SUM_ID);
    c->started_at_ms = sqlite3_column_int64(st, SUM_STARTED);
    c->ended_at_ms = sqlite3_column_int64(st, SUM_ENDED); /* NULL reads 0: active */
    c->last_seq = sqlite3_column_int64(st, SUM_LAST_SEQ);
    c->my_read_seq = sqlite3_column_int64(st, SUM_MY_READ);
    c->partner_read_seq = sqlite3_column_int64(st, SUM_THEIR_READ);
    c->viewer_id = sqlite3_column_int64(st, SUM_VIEWER);
    int rc = chats_text(job, st, SUM_CATEGORY, &c->category);
    rc = rc ? rc : chats_partner_read(job, st, SUM_PARTNER, &c->partner);
    return rc ? rc : chats_last_message_read(job, st, c);
}

static int chats_take_summary(store_job *job, sqlite3_stmt *st) {
    store_chat_summary *c = store_list_push(job, sizeof *c);
    return c ? chats_summary_read(job, st, c) : SQLITE_NOMEM;
}

/* The context's active chat lives in result memory, not in the list (the blocked ids). */
static int chats_take_active_chat(store_job *job, sqlite3_stmt *st) {
    store_chat_summary *c = store_job_alloc(job, sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    job->row.context.active_chat = c;
    return chats_summary_read(job, st, c);
}

static int chats_take_message(store_job *job, sqlite3_stmt *st) {
    store_message *m = store_list_push(job, sizeof *m);
    return m ? chats_message_read(job, st, 0, m) : SQLITE_NOMEM;
}

static int chats_take_partner(store_job *job, sqlite3_stmt *st) {
    store_partner *p = store_list_push(job, sizeof *p);
    return p ? chats_partner_read(job, st, 0, p) : SQLITE_NOMEM;
}

static int chats_take_id(store_job *job, sqlite3_stmt *st) {
    int64_t *id = store_list_push(job, sizeof *id);
    if (!id)
        return SQLITE_NOMEM;
    *id = sqlite3_column_int64(st, 0);
    return SQLITE_OK;
}

static int chats_take_report(store_job *job, sqlite3_stmt *st) {
    store_report *r = store_list_push(job, sizeof *r);
    if (!r)
        return SQLITE_NOMEM;
    r->id = sqlite3_column_int64(st, 0);
    r->chat_id = sqlite3_column_int64(st, 1);
    r->reporter_id = sqlite3_column_int64(st, 2);
    r->reported_id = sqlite3_column_int64(st, 3);
    r->created_at_ms = sqlite3_column_int64(st, 6);
    int rc = chats_text(job, st, 4, &r->reason);
    return rc ? rc : chats_text(job, st, 5, &r->detail);
}

/* ---- steps ---- */

/* Steps a statement whose binding answered rc to its end, handing each row to take. */
static int chats_rows(store_job *job, sqlite3_stmt *st, int rc, chats_take_fn take) {
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        rc = take(job, st);
    return sqlite_finish(st, rc);
}

/* Steps a bound statement once into *out (its first column): STORE_OK, or STORE_ERR_NOT_FOUND
 * when there is no row (*out is then 0). */
static int chats_step_i64(sqlite3_stmt *st, int rc, int64_t *out) {
    *out = 0;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    int status = sqlite_finish(st, rc);
    return status == STORE_OK && rc == SQLITE_DONE ? STORE_ERR_NOT_FOUND : status;
}

/* Binds a USER_SIDES statement: user, id bound, rows per side. */
static int chats_bind_sides(sqlite3_stmt *st, int64_t user, int64_t bound, int64_t limit) {
    int rc = sqlite_bind_i64(st, 1, user);
    rc = rc ? rc : sqlite_bind_i64(st, 2, bound);
    return rc ? rc : sqlite_bind_i64(st, 3, limit);
}

/* STORE_OK when user_id is one of chat_id's two users, else STORE_ERR_NOT_FOUND. */
static int chats_is_member(sqlite_chats *c, int64_t chat_id, int64_t user_id) {
    sqlite3_stmt *st = c->stmt[CHATS_IS_MEMBER];
    int rc = sqlite_bind_i64(st, 1, chat_id);
    return sqlite_step_row(st, rc ? rc : sqlite_bind_i64(st, 2, user_id));
}

/* ---- context ---- */

/* Brings the summaries in job->list up to the messages not yet folded. */
static int chats_patch_list(sqlite_chats *c, store_job *job, int status) {
    store_chat_summary *items = job->list.items;
    for (size_t i = 0; status == STORE_OK && i < job->list.count; i++)
        status = sqlite_messages_patch_summary(c->messages, job, &items[i]);
    return status;
}

static int chats_active_of(sqlite_chats *c, store_job *job) {
    sqlite3_stmt *st = c->stmt[CHATS_ACTIVE_OF_USER];
    int rc = chats_bind_sides(st, job->chat.user_id, INT64_MAX, 1);
    int status = chats_rows(job, st, rc, chats_take_active_chat);
    /* The job's own result memory (chats_take_active_chat): const only for the callback. */
    store_chat_summary *active = (store_chat_summary *)job->row.context.active_chat;
    if (status == STORE_OK && active)
        status = sqlite_messages_patch_summary(c->messages, job, active);
    return status;
}

static int chats_previous_partner(sqlite_chats *c, int64_t user, int64_t *partner) {
    sqlite3_stmt *st = c->stmt[CHATS_PREVIOUS_PARTNER];
    int status = chats_step_i64(st, chats_bind_sides(st, user, INT64_MAX, 1), partner);
    return status == STORE_ERR_NOT_FOUND ? STORE_OK : status;
}

/* Ban state (STORE_ERR_NOT_FOUND: no such user), active chat, previous partner, blocked ids. */
static int chats_context_load(sqlite_chats *c, store_job *job) {
    store_user_context *ctx = &job->row.context;
    int64_t user = job->chat.user_id;
    sqlite3_stmt *st = c->stmt[CHATS_USER_BAN_STATE];
    int status = chats_step_i64(st, sqlite_bind_i64(st, 1, user), &ctx->banned_until_ms);
    status = status ? status : chats_active_of(c, job);
    status = status ? status : chats_previous_partner(c, user, &ctx->previous_partner);
    st = c->stmt[CHATS_BLOCKED_IDS];
    status = status ? status : chats_rows(job, st, sqlite_bind_i64(st, 1, user), chats_take_id);
    ctx->blocked = job->list.items;
    ctx->blocked_count = job->list.count;
    return status;
}

/* ---- chats and history ---- */

static int chats_all_active(sqlite_chats *c, store_job *job) {
    int status = chats_rows(job, c->stmt[CHATS_ALL_ACTIVE], SQLITE_OK, chats_take_summary);
    return chats_patch_list(c, job, status);
}

static int chats_for_user(sqlite_chats *c, store_job *job) {
    sqlite3_stmt *st = c->stmt[CHATS_FOR_USER];
    int rc = chats_bind_sides(st, job->chat.user_id, job->chat.bound, job->chat.limit);
    return chats_patch_list(c, job, chats_rows(job, st, rc, chats_take_summary));
}

static int chats_end(sqlite_chats *c, store_job *job) {
    sqlite3_stmt *st = c->stmt[CHATS_END];
    int rc = sqlite_bind_i64(st, 1, job->chat.chat_id);
    rc = rc ? rc : sqlite_bind_i64(st, 2, store_now_ms());
    rc = rc ? rc : sqlite_bind_text(st, 3, job->chat.reason);
    rc = rc ? rc : sqlite_bind_i64(st, 4, job->chat.user_id);
    return sqlite_step_row(st, rc);
}

static int chats_mark_read(sqlite_chats *c, store_job *job) {
    sqlite3_stmt *st = c->stmt[CHATS_MARK_READ];
    int rc = sqlite_bind_i64(st, 1, job->chat.chat_id);
    rc = rc ? rc : sqlite_bind_i64(st, 2, job->chat.user_id);
    rc = rc ? rc : sqlite_bind_i64(st, 3, job->chat.bound);
    rc = rc ? rc : sqlite_bind_i64(st, 4, sqlite_messages_last_seq(c->messages, job->chat.chat_id));
    return sqlite_step_row(st, rc);
}

/* The table's rows first, then the unfolded ones above the last of them (a chat's unfolded rows
 * are always its highest seqs). */
static int chats_messages_after(sqlite_chats *c, store_job *job) {
    int status = chats_is_member(c, job->chat.chat_id, job->chat.user_id);
    if (status != STORE_OK)
        return status;
    sqlite3_stmt *st = c->stmt[CHATS_MESSAGES_AFTER];
    int rc = sqlite_bind_i64(st, 1, job->chat.chat_id);
    rc = rc ? rc : sqlite_bind_i64(st, 2, job->chat.bound);
    rc = rc ? rc : sqlite_bind_i64(st, 3, job->chat.limit);
    status = chats_rows(job, st, rc, chats_take_message);
    size_t n = job->list.count, limit = (size_t)job->chat.limit;
    if (status != STORE_OK || n >= limit)
        return status;
    int64_t after = n ? ((const store_message *)job->list.items)[n - 1].seq : job->chat.bound;
    return sqlite_messages_unfolded_after(c->messages, job, job->chat.chat_id, after, limit - n);
}

/* ---- safety ---- */

/* No row inserted: the chat does not exist or the reporter is not in it. */
static int chats_report_create(sqlite_chats *c, store_job *job) {
    sqlite3_stmt *st = c->stmt[CHATS_REPORT_INSERT];
    int rc = sqlite_bind_i64(st, 1, job->chat.chat_id);
    rc = rc ? rc : sqlite_bind_i64(st, 2, job->chat.user_id);
    rc = rc ? rc : sqlite_bind_text(st, 3, job->chat.reason);
    rc = rc ? rc : sqlite_bind_text(st, 4, job->chat.detail);
    rc = rc ? rc : sqlite_bind_i64(st, 5, store_now_ms());
    return sqlite_step_row(st, rc);
}

static int chats_reports_list(sqlite_chats *c, store_job *job) {
    sqlite3_stmt *st = c->stmt[CHATS_REPORTS_LIST];
    int rc = sqlite_bind_i64(st, 1, job->chat.bound);
    rc = rc ? rc : sqlite_bind_i64(st, 2, job->chat.limit);
    return chats_rows(job, st, rc, chats_take_report);
}

/* The blocked user is looked up first (STORE_ERR_NOT_FOUND without a constraint error); a blocker
 * that is gone still breaks the foreign key, which answers STORE_ERR_NOT_FOUND too. A repeat keeps
 * the first block's time. */
static int chats_block_put(sqlite_chats *c, store_job *job) {
    sqlite3_stmt *st = c->stmt[CHATS_USER_EXISTS];
    int status = sqlite_step_row(st, sqlite_bind_i64(st, 1, job->chat.other_id));
    if (status != STORE_OK)
        return status;
    st = c->stmt[CHATS_BLOCK_INSERT];
    int rc = sqlite_bind_i64(st, 1, job->chat.user_id);
    rc = rc ? rc : sqlite_bind_i64(st, 2, job->chat.other_id);
    rc = rc ? rc : sqlite_bind_i64(st, 3, store_now_ms());
    return sqlite_step_done(st, rc);
}

static int chats_block_delete(sqlite_chats *c, store_job *job) {
    sqlite3_stmt *st = c->stmt[CHATS_BLOCK_DELETE];
    int rc = sqlite_bind_i64(st, 1, job->chat.user_id);
    rc = rc ? rc : sqlite_bind_i64(st, 2, job->chat.other_id);
    return sqlite_step_done(st, rc);
}

static int chats_blocks_list(sqlite_chats *c, store_job *job) {
    sqlite3_stmt *st = c->stmt[CHATS_BLOCKS_LIST];
    return chats_rows(job, st, sqlite_bind_i64(st, 1, job->chat.user_id), chats_take_partner);
}

/* Sets the ban. Refresh tokens stay, so that a refresh can answer BANNED with the end date
 * (SPEC §4) instead of a bare REFRESH_INVALID; api/ refuses them while the ban lasts. */
static int chats_user_ban(sqlite_chats *c, store_job *job) {
    sqlite3_stmt *st = c->stmt[CHATS_USER_BAN];
    int rc = sqlite_bind_i64(st, 1, job->chat.user_id);
    rc = rc ? rc : sqlite_bind_i64(st, 2, job->chat.bound);
    rc = rc ? rc : sqlite_bind_text(st, 3, job->chat.reason);
    return sqlite_step_row(st, rc);
}

/* ---- module ---- */

int sqlite_chats_run(sqlite_chats *c, store_job *job) {
    switch (job->kind) {
        case STORE_JOB_USER_CONTEXT_LOAD:
            return chats_context_load(c, job);
        case STORE_JOB_CHATS_ACTIVE:
            return chats_all_active(c, job);
        case STORE_JOB_CHATS_FOR_USER:
            return chats_for_user(c, job);
        case STORE_JOB_MESSAGES_AFTER:
            return chats_messages_after(c, job);
        case STORE_JOB_REPORTS_LIST:
            return chats_reports_list(c, job);
        case STORE_JOB_BLOCKS_LIST:
            return chats_blocks_list(c, job);
        case STORE_JOB_CHAT_END:
            return chats_end(c, job);
        case STORE_JOB_CHAT_MARK_READ:
            return chats_mark_read(c, job);
        case STORE_JOB_REPORT_CREATE:
            return chats_report_create(c, job);
        case STORE_JOB_BLOCK_PUT:
            return chats_block_put(c, job);
        case STORE_JOB_BLOCK_DELETE:
            return chats_block_delete(c, job);
        case STORE_JOB_USER_BAN:
            return chats_user_ban(c, job);
        default:
            return STORE_ERR_INVALID;
    }
}

int sqlite_chats_open(sqlite3 *db, sqlite_messages *messages, sqlite_chats **out, char *err,
                      size_t errlen) {
    *out = NULL;
    sqlite_chats *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "sqlite: out of memory");
        return STORE_ERR_NOMEM;
    }
    c->messages = messages;
    int rc = sqlite_prepare_list(db, chats_sql, c->stmt, CHATS_STMT_COUNT, err, errlen);
    if (rc != 0) {
        sqlite_chats_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void sqlite_chats_close(sqlite_chats *c) {
    if (!c)
        return;
    for (int i = 0; i < CHATS_STMT_COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    free(c);
}
