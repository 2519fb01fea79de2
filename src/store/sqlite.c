/* sqlite.c — the SQLite backend: opens the file (WAL, synchronous=FULL, foreign keys), applies the
 * embedded migrations, and runs each batch of jobs in one transaction with a savepoint per job.
 *
 * Owns: the sqlite3 connection and its prepared statements. store_open uses it on the loop thread
 * before the loop runs; after that only the store thread does. Must not: touch the loop, the queue
 * or a callback; put a value into SQL text (every value is a bound parameter).
 *
 * Parameters are written $1, $2… as PostgreSQL wants them, so SQL text can be shared. SQLite reads
 * "$1" as a *named* parameter whose index is its order of first appearance, so values are bound by
 * name ("$N" through sqlite3_bind_parameter_index), never by position.
 *
 * Account and refresh-token jobs live in sqlite_accounts.c, chat history and safety jobs in
 * sqlite_chats.c, message appends (through the message log, folded into the table later) in
 * sqlite_messages.c and sqlite_fold.c, WAL checkpoints (a thread of their own) in
 * sqlite_checkpoint.c; sqlite_priv.h is the seam.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "store/sqlite_priv.h"
#include "store/store_backend.h"
#include "util/embed.h"
#include "util/log.h"

#define SQLITE_BUSY_TIMEOUT_MS 5000 /* wait this long for another process's write lock */
/* Page cache of the one connection, in KiB (negative = KiB to SQLite): the hot parts of the
 * messages indexes stay in memory instead of being read back through read(2) every batch. */
#define SQLITE_CACHE_KIB_PRAGMA "-32768"
/* A WAL file that grew under load is cut back to this size when the log restarts. */
#define SQLITE_WAL_KEEP_BYTES "67108864"

enum sqlite_stmt_id {
    STMT_BEGIN,
    STMT_BEGIN_READ,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_SAVEPOINT,
    STMT_RELEASE,
    STMT_ROLLBACK_TO,
    STMT_PING,
    STMT_CHAT_INSERT,
    STMT_COUNT
};

static const char *const sqlite_sql[STMT_COUNT] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_BEGIN_READ] = "BEGIN",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_SAVEPOINT] = "SAVEPOINT store_job",
    [STMT_RELEASE] = "RELEASE SAVEPOINT store_job",
    [STMT_ROLLBACK_TO] = "ROLLBACK TO SAVEPOINT store_job",
    [STMT_PING] = "SELECT 1",
    [STMT_CHAT_INSERT] = "INSERT INTO chats (category, user_a, user_b, started_at) "
                         "VALUES ($1, $2, $3, $4) RETURNING id",
};

typedef struct sqlite_backend {
    int lock_fd; /* "<db>.lock", flock'd for the store's life: one process per database */
    sqlite3 *db;
    sqlite3_stmt *stmt[STMT_COUNT];
    sqlite_accounts *accounts;
    sqlite_chats *chats;
    sqlite_messages *messages;
    sqlite_checkpointer *checkpointer;
} sqlite_backend;

/* ---- statements and parameters ---- */

/* The index of parameter $n. Statements name their parameters $1, $2, … (valid PostgreSQL
 * too), and SQLite numbers named parameters by first appearance, so index n is usually $n
 * itself: checked without formatting a string, the lookup by name only when it is not. */
static int sqlite_param(sqlite3_stmt *st, int n) {
    const char *at_n = sqlite3_bind_parameter_name(st, n);
    if (at_n && at_n[0] == '$' && atoi(at_n + 1) == n)
        return n;
    char name[16];
    snprintf(name, sizeof name, "$%d", n);
    return sqlite3_bind_parameter_index(st, name);
}

int sqlite_bind_i64(sqlite3_stmt *st, int n, int64_t v) {
    return sqlite3_bind_int64(st, sqlite_param(st, n), v);
}

int sqlite_bind_text(sqlite3_stmt *st, int n, const char *v) {
    return sqlite3_bind_text(st, sqlite_param(st, n), v, -1, SQLITE_STATIC);
}

/* Prepares sql and checks that its parameters are exactly $1..$count. */
static int sqlite_prepare(sqlite3 *db, const char *sql, unsigned flags, sqlite3_stmt **out) {
    int rc = sqlite3_prepare_v3(db, sql, -1, flags, out, NULL);
    if (rc != SQLITE_OK)
        return rc;
    for (int n = 1; n <= sqlite3_bind_parameter_count(*out); n++) {
        if (sqlite_param(*out, n) == 0) {
            sqlite3_finalize(*out);
            *out = NULL;
            return SQLITE_RANGE;
        }
    }
    return SQLITE_OK;
}

int sqlite_prepare_list(sqlite3 *db, const char *const *sql, sqlite3_stmt **out, int count,
                        char *err, size_t errlen) {
    for (int i = 0; i < count; i++) {
        int rc = sqlite_prepare(db, sql[i], SQLITE_PREPARE_PERSISTENT, &out[i]);
        if (rc != SQLITE_OK) {
            snprintf(err, errlen, "sqlite: cannot prepare \"%s\": %s", sql[i],
                     rc == SQLITE_RANGE ? "parameters must be $1..$N" : sqlite3_errmsg(db));
            return STORE_ERR_UNAVAILABLE;
        }
    }
    return 0;
}

static int sqlite_prepare_all(sqlite_backend *b, const char *path, char *err, size_t errlen) {
    int rc = sqlite_prepare_list(b->db, sqlite_sql, b->stmt, STMT_COUNT, err, errlen);
    if (rc == 0)
        rc = sqlite_accounts_open(b->db, &b->accounts, err, errlen);
    if (rc == 0)
        rc = sqlite_messages_open(b->db, path, &b->messages, err, errlen);
    return rc == 0 ? sqlite_chats_open(b->db, b->messages, &b->chats, err, errlen) : rc;
}

static int sqlite_constraint_status(int rc) {
    switch (rc) {
        case SQLITE_CONSTRAINT_FOREIGNKEY:
            return STORE_ERR_NOT_FOUND;
        case SQLITE_CONSTRAINT_CHECK:
        case SQLITE_CONSTRAINT_NOTNULL:
            return STORE_ERR_INVALID;
        default:
            return STORE_ERR_CONFLICT;
    }
}

/* Maps an SQLite result code (extended codes are on) to a store_status. */
static int sqlite_status(int rc) {
    switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
            return STORE_OK;
        case SQLITE_CONSTRAINT:
            return sqlite_constraint_status(rc);
        case SQLITE_NOMEM:
            return STORE_ERR_NOMEM;
        case SQLITE_TOOBIG:
            return STORE_ERR_INVALID;
        default:
            return STORE_ERR_UNAVAILABLE;
    }
}

/* Ends one use of a cached statement: resets it, logs a failure, returns rc as a store_status. */
int sqlite_finish(sqlite3_stmt *st, int rc) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        log_warn("sqlite statement failed", "sql", sqlite3_sql(st), "error", sqlite3_errstr(rc),
                 "detail", sqlite3_errmsg(sqlite3_db_handle(st)));
    return sqlite_status(rc);
}

int sqlite_step_row(sqlite3_stmt *st, int rc) {
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int status = sqlite_finish(st, rc);
    return status == STORE_OK && rc == SQLITE_DONE ? STORE_ERR_NOT_FOUND : status;
}

int sqlite_step_done(sqlite3_stmt *st, int rc) {
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    return sqlite_finish(st, rc == SQLITE_ROW ? SQLITE_ERROR : rc);
}

/* Runs a cached statement that takes no parameters and returns no row. */
static int sqlite_exec_stmt(sqlite_backend *b, enum sqlite_stmt_id id) {
    sqlite3_stmt *st = b->stmt[id];
    return sqlite_finish(st, sqlite3_step(st));
}

/* ---- jobs (store thread) ---- */

static int sqlite_job_ping(sqlite_backend *b) {
    sqlite3_stmt *st = b->stmt[STMT_PING];
    int rc = sqlite3_step(st);
    return sqlite_finish(st, rc == SQLITE_ROW ? SQLITE_OK : rc == SQLITE_DONE ? SQLITE_ERROR : rc);
}

static int sqlite_job_chat_create(sqlite_backend *b, store_chat *chat) {
    sqlite3_stmt *st = b->stmt[STMT_CHAT_INSERT];
    chat->started_at_ms = store_now_ms();
    int rc = sqlite_bind_text(st, 1, chat->category);
    if (rc == SQLITE_OK && (rc = sqlite_bind_i64(st, 2, chat->user_a)) == SQLITE_OK &&
        (rc = sqlite_bind_i64(st, 3, chat->user_b)) == SQLITE_OK &&
        (rc = sqlite_bind_i64(st, 4, chat->started_at_ms)) == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        chat->id = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    return sqlite_finish(st, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
}

static int sqlite_job_run(sqlite_backend *b, store_job *job) {
    switch (job->kind) {
        case STORE_JOB_PING:
            return sqlite_job_ping(b);
        case STORE_JOB_CHAT_CREATE:
            return sqlite_job_chat_create(b, &job->row.chat);
        case STORE_JOB_MESSAGE_APPEND: /* store.c hands these to sqlite_append_batch */
            return STORE_ERR_INVALID;
        case STORE_JOB_USER_CREATE:
        case STORE_JOB_USER_BY_EMAIL:
        case STORE_JOB_USER_BY_ID:
        case STORE_JOB_USER_UPDATE_PROFILE:
        case STORE_JOB_USER_SET_PASSWORD:
        case STORE_JOB_USER_DELETE:
        case STORE_JOB_REFRESH_ISSUE:
        case STORE_JOB_REFRESH_ROTATE:
        case STORE_JOB_REFRESH_REVOKE_FAMILY:
        case STORE_JOB_REFRESH_REVOKE_USER:
            return sqlite_accounts_run(b->accounts, job);
        case STORE_JOB_USER_CONTEXT_LOAD:
        case STORE_JOB_CHATS_ACTIVE:
        case STORE_JOB_CHATS_FOR_USER:
        case STORE_JOB_MESSAGES_AFTER:
        case STORE_JOB_REPORTS_LIST:
        case STORE_JOB_BLOCKS_LIST:
        case STORE_JOB_CHAT_END:
        case STORE_JOB_CHAT_MARK_READ:
        case STORE_JOB_REPORT_CREATE:
        case STORE_JOB_BLOCK_PUT:
        case STORE_JOB_BLOCK_DELETE:
        case STORE_JOB_USER_BAN:
            return sqlite_chats_run(b->chats, job);
    }
    return STORE_ERR_INVALID;
}

/* Whether a job's writes stay in the batch's transaction. STORE_ERR_REFRESH_REUSED is an error
 * for the caller, but the job's write (revoking the whole family) is what it is for: it must
 * commit, so its savepoint is released like a successful job's, never rolled back. */
static int sqlite_job_keeps_writes(int status) {
    return status == STORE_OK || status == STORE_ERR_REFRESH_REUSED;
}

/* Runs one job inside its own savepoint, undone when the job fails. Returns 0, or -1 when the
 * enclosing transaction is no longer usable. */
static int sqlite_job_isolated(sqlite_backend *b, store_job *job) {
    if (sqlite_exec_stmt(b, STMT_SAVEPOINT) != STORE_OK)
        return -1;
    job->status = sqlite_job_run(b, job);
    if (!sqlite_job_keeps_writes(job->status) && sqlite_exec_stmt(b, STMT_ROLLBACK_TO) != STORE_OK)
        return -1;
    return sqlite_exec_stmt(b, STMT_RELEASE) == STORE_OK ? 0 : -1;
}

static void sqlite_rollback(sqlite_backend *b) {
    if (!sqlite3_get_autocommit(b->db))
        sqlite_exec_stmt(b, STMT_ROLLBACK);
}

/* The jobs' transaction, begun with begin (STMT_BEGIN or STMT_BEGIN_READ). */
static int sqlite_run_jobs(sqlite_backend *b, store_job *jobs, int begin) {
    if (sqlite_exec_stmt(b, begin) != STORE_OK)
        return STORE_ERR_UNAVAILABLE;
    for (store_job *job = jobs; job; job = job->next) {
        if (sqlite_job_isolated(b, job) != 0) {
            sqlite_rollback(b);
            return STORE_ERR_UNAVAILABLE;
        }
    }
    if (sqlite_exec_stmt(b, STMT_COMMIT) != STORE_OK) {
        sqlite_rollback(b);
        return STORE_ERR_UNAVAILABLE;
    }
    return 0;
}

/* A batch that writes runs under the write lock the folder's connection takes too; one that only
 * reads runs on a snapshot without it, so it never waits for a fold's transaction (and the
 * appends queued behind it in their batch do not either). Rows a fold has committed are still
 * in memory until the fold is over, and reads merge the two by seq. */
static int sqlite_run_batch(void *ctx, store_job *jobs) {
    sqlite_backend *b = ctx;
    if (store_jobs_read_only(jobs))
        return sqlite_run_jobs(b, jobs, STMT_BEGIN_READ);
    sqlite_messages_lock_writes(b->messages);
    int rc = sqlite_run_jobs(b, jobs, STMT_BEGIN);
    sqlite_messages_unlock_writes(b->messages);
    return rc;
}

static void sqlite_append_batch(void *ctx, store_job *jobs) {
    sqlite_backend *b = ctx;
    sqlite_messages_append_batch(b->messages, jobs);
}

static int sqlite_background(void *ctx) {
    sqlite_backend *b = ctx;
    return sqlite_messages_fold_step(b->messages);
}

static void sqlite_close(void *ctx) {
    sqlite_backend *b = ctx;
    if (!b)
        return;
    /* Stops the folder and folds what is left, before the checkpointer goes. */
    sqlite_messages_close(b->messages, b->checkpointer);
    sqlite_checkpointer_stop(b->db, b->checkpointer);
    sqlite_chats_close(b->chats);
    sqlite_accounts_close(b->accounts);
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(b->stmt[i]);
    if (sqlite3_close(b->db) != SQLITE_OK)
        log_warn("sqlite close failed", "error", sqlite3_errmsg(b->db));
    if (b->lock_fd >= 0)
        close(b->lock_fd); /* releases the flock */
    free(b);
}

static uint64_t sqlite_unfolded(void *ctx) {
    sqlite_backend *b = ctx;
    return sqlite_messages_unfolded(b->messages);
}

static const store_backend_ops sqlite_ops = {
    .name = "sqlite",
    .run_batch = sqlite_run_batch,
    .append_batch = sqlite_append_batch,
    .background = sqlite_background,
    .unfolded = sqlite_unfolded,
    .close = sqlite_close,
};

/* ---- opening and migrations (store_open, before the loop runs) ---- */

/* Runs SQL text (one or more statements, no parameters) during open. */
static int sqlite_exec_text(sqlite_backend *b, const char *sql, const char *what, char *err,
                            size_t errlen) {
    char *msg = NULL;
    if (sqlite3_exec(b->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "sqlite: %s: %s", what, msg ? msg : sqlite3_errmsg(b->db));
    sqlite3_free(msg);
    return STORE_ERR_UNAVAILABLE;
}

/* Switches to WAL and checks that SQLite agreed (it keeps the old mode on some filesystems). */
static int sqlite_enable_wal(sqlite_backend *b, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(b->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    int ok = mode && strcmp(mode, "wal") == 0;
    if (!ok)
        snprintf(err, errlen, "sqlite: cannot enable WAL: %s", mode ? mode : sqlite3_errmsg(b->db));
    sqlite3_finalize(st);
    return ok ? 0 : STORE_ERR_UNAVAILABLE;
}

/* Takes "<path>.lock" before the database is touched: two processes appending to one database
 * through two message logs would each miss the other's rows not yet folded, and one that opens,
 * migrates or merely closes the database beside a running server can delete its WAL. */
static int sqlite_take_lock(sqlite_backend *b, const char *path, char *err, size_t errlen) {
    size_t n = strlen(path) + 8;
    char *lock = malloc(n);
    if (!lock) {
        snprintf(err, errlen, "sqlite: out of memory");
        return STORE_ERR_NOMEM;
    }
    snprintf(lock, n, "%s.lock", path);
    b->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int rc = b->lock_fd >= 0 && flock(b->lock_fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno;
    if (rc != 0)
        snprintf(err, errlen, "sqlite: %s: %s", lock,
                 rc == EWOULDBLOCK ? "the database is in use by another process" : strerror(rc));
    free(lock);
    return rc == 0 ? 0 : STORE_ERR_UNAVAILABLE;
}

static int sqlite_connect(sqlite_backend *b, const char *path, char *err, size_t errlen) {
    if (path[0] == '\0') {
        snprintf(err, errlen, "sqlite: empty database path");
        return STORE_ERR_INVALID;
    }
    int rc = sqlite_take_lock(b, path, err, errlen);
    if (rc != 0)
        return rc;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &b->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: cannot open %s: %s", path,
                 b->db ? sqlite3_errmsg(b->db) : "out of memory");
        return b->db ? STORE_ERR_UNAVAILABLE : STORE_ERR_NOMEM;
    }
    sqlite3_extended_result_codes(b->db, 1);
    sqlite3_busy_timeout(b->db, SQLITE_BUSY_TIMEOUT_MS);
    rc = sqlite_enable_wal(b, err, errlen);
    if (rc == 0)
        rc = sqlite_exec_text(b,
                              "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
                              "PRAGMA cache_size = " SQLITE_CACHE_KIB_PRAGMA "; "
                              "PRAGMA journal_size_limit = " SQLITE_WAL_KEEP_BYTES,
                              "pragmas", err, errlen);
    return rc;
}

/* The version is the file name's leading number: "/001_init.sql" → 1; -1 when there is none. */
static int64_t sqlite_migration_version(const char *name) {
    int64_t v = 0;
    const char *p = name;
    for (; *p >= '0' && *p <= '9' && v < INT64_MAX / 10 - 10; p++)
        v = v * 10 + (*p - '0');
    return p == name ? -1 : v;
}

/* 1 when the migration's version is recorded, 0 when not, negative on error. */
static int sqlite_migration_done(sqlite_backend *b, int64_t version) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite_prepare(b->db, "SELECT 1 FROM schema_migrations WHERE version = $1", 0, &st);
    if (rc == SQLITE_OK && (rc = sqlite_bind_i64(st, 1, version)) == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : STORE_ERR_UNAVAILABLE;
}

static int sqlite_migration_record(sqlite_backend *b, int64_t version, const char *name) {
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    sqlite3_stmt *st = NULL;
    int rc = sqlite_prepare(b->db,
                            "INSERT INTO schema_migrations (version, name, applied_at) "
                            "VALUES ($1, $2, $3)",
                            0, &st);
    if (rc == SQLITE_OK && (rc = sqlite_bind_i64(st, 1, version)) == SQLITE_OK &&
        (rc = sqlite_bind_text(st, 2, name)) == SQLITE_OK &&
        (rc = sqlite_bind_text(st, 3, stamp)) == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : STORE_ERR_UNAVAILABLE;
}

/* Applies one migration in its own transaction. */
static int sqlite_migration_apply(sqlite_backend *b, int64_t version, const char *name,
                                  const char *sql, char *err, size_t errlen) {
    char what[128];
    snprintf(what, sizeof what, "migration %s", name);
    int rc = sqlite_exec_text(b, "BEGIN IMMEDIATE", what, err, errlen);
    if (rc == 0)
        rc = sqlite_exec_text(b, sql, what, err, errlen);
    if (rc == 0 && (rc = sqlite_migration_record(b, version, name)) != 0)
        snprintf(err, errlen, "sqlite: %s: cannot record it: %s", what, sqlite3_errmsg(b->db));
    if (rc == 0)
        rc = sqlite_exec_text(b, "COMMIT", what, err, errlen);
    if (rc != 0 && !sqlite3_get_autocommit(b->db))
        sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Checks one embedded migration's version against the previous one and applies it unless it
 * is recorded already. */
static int sqlite_migration_run(sqlite_backend *b, const struct embedded_file *f, int64_t *last,
                                uint64_t *applied, char *err, size_t errlen) {
    const char *name = f->path[0] == '/' ? f->path + 1 : f->path;
    int64_t version = sqlite_migration_version(name);
    if (version <= *last) {
        snprintf(err, errlen, "sqlite: migration %s: name must start with a version above %lld",
                 name, (long long)*last);
        return STORE_ERR_INVALID;
    }
    *last = version;
    int done = sqlite_migration_done(b, version);
    if (done < 0) {
        snprintf(err, errlen, "sqlite: migration %s: %s", name, sqlite3_errmsg(b->db));
        return done;
    }
    if (done)
        return 0;
    int rc = sqlite_migration_apply(b, version, name, (const char *)f->data, err, errlen);
    if (rc == 0)
        (*applied)++;
    return rc;
}

/* Applies the embedded migrations not yet recorded, in path order (= version order). */
static int sqlite_migrate(sqlite_backend *b, uint64_t *applied, char *err, size_t errlen) {
    int rc = sqlite_exec_text(b,
                              "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
                              "PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                              "schema_migrations", err, errlen);
    int64_t last = 0;
    for (size_t i = 0; rc == 0 && i < store_migrations_count; i++)
        rc = sqlite_migration_run(b, &store_migrations[i], &last, applied, err, errlen);
    return rc;
}

int sqlite_backend_open(const char *path, const store_backend_ops **ops, void **ctx,
                        uint64_t *migrations_applied, char *err, size_t errlen) {
    char scratch[8];
    if (!err || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    sqlite_backend *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "sqlite: out of memory");
        return STORE_ERR_NOMEM;
    }
    b->lock_fd = -1;
    *migrations_applied = 0;
    int rc = sqlite_connect(b, path, err, errlen);
    if (rc == 0)
        rc = sqlite_migrate(b, migrations_applied, err, errlen);
    if (rc == 0)
        rc = sqlite_prepare_all(b, path, err, errlen);
    if (rc == 0)
        rc = sqlite_checkpointer_start(b->db, path, &b->checkpointer, err, errlen);
    if (rc == 0)
        rc = sqlite_messages_start_folder(b->messages, b->checkpointer, err, errlen);
    if (rc != 0) {
        sqlite_close(b);
        return rc;
    }
    if (*migrations_applied > 0) {
        char count[24];
        snprintf(count, sizeof count, "%llu", (unsigned long long)*migrations_applied);
        log_info("sqlite migrations applied", "path", path, "count", count);
    }
    *ops = &sqlite_ops;
    *ctx = b;
    return 0;
}
