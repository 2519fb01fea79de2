/* sqlite_accounts.c — the SQLite backend's account and refresh-token jobs (store.h "accounts" and
 * "refresh tokens"): users by email or id, profile and password changes, deletion; refresh token
 * issue, rotation with a grace window and reuse detection, and revocation.
 *
 * Owns its prepared statements. Runs on the store thread, each job inside the savepoint that
 * sqlite.c opened for it (so a job's statements share one transaction). Must not: commit or roll
 * back (sqlite.c does; it keeps the writes of a job answering STORE_ERR_REFRESH_REUSED), put a
 * value into SQL text.
 *
 * Strings read from storage are copied into one block the job owns (job->owned) and freed with
 * the job, so results stay valid until the callback has returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_priv.h"

enum acct_stmt_id {
    ACCT_USER_BY_EMAIL,
    ACCT_USER_BY_ID,
    ACCT_USER_INSERT,
    ACCT_USER_UPDATE,
    ACCT_USER_SET_PASSWORD,
    ACCT_USER_DELETE,
    ACCT_REVOKE_OTHER_FAMILIES,
    ACCT_TOKEN_INSERT,
    ACCT_TOKEN_FIND,
    ACCT_TOKEN_EXISTS,
    ACCT_TOKEN_MARK_ROTATED,
    ACCT_TOKEN_TAKE_GRACE,
    ACCT_REVOKE_FAMILY_OF,
    ACCT_REVOKE_USER,
    ACCT_STMT_COUNT
};

/* A user's columns in the order acct_user_take reads them; p is a table alias and a dot, or "". */
#define USER_COLS(p)                                                                               \
    p "id, " p "created_at, " p "banned_until, " p "email, " p "password_hash, " p                 \
      "google_sub, " p "nickname, " p "job, " p "career, " p "bio, " p "ban_reason"
#define USER_FIRST_TEXT 3 /* USER_COLS: id, created_at, banned_until, then the texts */
#define USER_TEXTS      8

/* ACCT_TOKEN_FIND's columns before the owner's USER_COLS. */
enum { TOKEN_FAMILY, TOKEN_EXPIRES, TOKEN_ROTATED, TOKEN_REVOKED, TOKEN_USER };

static const char *const acct_sql[ACCT_STMT_COUNT] = {
    [ACCT_USER_BY_EMAIL] = "SELECT " USER_COLS("") " FROM users WHERE email_lower = $1",
    [ACCT_USER_BY_ID] = "SELECT " USER_COLS("") " FROM users WHERE id = $1",
    [ACCT_USER_INSERT] = "INSERT INTO users (email, email_lower, password_hash, nickname, "
                         "created_at) VALUES ($1, $2, $3, $4, $5) RETURNING " USER_COLS(""),
    [ACCT_USER_UPDATE] = "UPDATE users SET nickname = COALESCE($2, nickname), "
                         "job = CASE WHEN $3 = 1 THEN $4 ELSE job END, "
                         "career = CASE WHEN $5 = 1 THEN $6 ELSE career END, "
                         "bio = CASE WHEN $7 = 1 THEN $8 ELSE bio END "
                         "WHERE id = $1 RETURNING " USER_COLS(""),
    [ACCT_USER_SET_PASSWORD] = "UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING id",
    [ACCT_USER_DELETE] = "DELETE FROM users WHERE id = $1 RETURNING id",
    [ACCT_REVOKE_OTHER_FAMILIES] = "UPDATE refresh_tokens SET revoked_at = $2 "
                                   "WHERE user_id = $1 AND revoked_at IS NULL "
                                   "AND ($3 IS NULL OR family <> $3)",
    [ACCT_TOKEN_INSERT] = "INSERT INTO refresh_tokens "
                          "(token_hash, family, user_id, created_at, expires_at) "
                          "VALUES ($1, $2, $3, $4, $5)",
    [ACCT_TOKEN_FIND] = "SELECT t.family, t.expires_at, t.rotated_at, t.revoked_at, " USER_COLS(
        "u.") " FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
    [ACCT_TOKEN_EXISTS] = "SELECT 1 FROM refresh_tokens WHERE token_hash = $1",
    [ACCT_TOKEN_MARK_ROTATED] = "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1",
    [ACCT_TOKEN_TAKE_GRACE] = "UPDATE refresh_tokens SET grace_count = grace_count + 1 "
                              "WHERE token_hash = $1 AND grace_count < $2 RETURNING token_hash",
    [ACCT_REVOKE_FAMILY_OF] = "UPDATE refresh_tokens SET revoked_at = $2 "
                              "WHERE revoked_at IS NULL AND family = "
                              "(SELECT family FROM refresh_tokens WHERE token_hash = $1)",
    [ACCT_REVOKE_USER] = "UPDATE refresh_tokens SET revoked_at = $2 "
                         "WHERE user_id = $1 AND revoked_at IS NULL",
};

struct sqlite_accounts {
    sqlite3_stmt *stmt[ACCT_STMT_COUNT];
};

/* A refresh token's state, as ACCT_TOKEN_FIND read it. */
typedef struct acct_token {
    int64_t expires_at, rotated_at;
    int rotated, revoked;
} acct_token;

/* ---- rows and steps ---- */

/* Copies text columns cols[0..n) of the current row into one block the job owns: *dst[i] is the
 * copy of column cols[i], NULL for SQL NULL. Returns an SQLite result code. */
static int acct_take_texts(store_job *job, sqlite3_stmt *st, const int *cols,
                           const char **const *dst, int n) {
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        sqlite3_column_text(st, cols[i]); /* converts first, so that _bytes counts the text */
        total += (size_t)sqlite3_column_bytes(st, cols[i]) + 1;
    }
    char *block = malloc(total), *p = block;
    if (!block)
        return SQLITE_NOMEM;
    for (int i = 0; i < n; i++) {
        const unsigned char *text = sqlite3_column_text(st, cols[i]);
        size_t len = (size_t)sqlite3_column_bytes(st, cols[i]);
        *dst[i] = text ? memcpy(p, text, len + 1) : NULL;
        p += len + 1;
    }
    free(job->owned);
    job->owned = block;
    return SQLITE_OK;
}

/* Reads the user whose USER_COLS start at column base into u; with family_col >= 0 the text of
 * that column goes to *family, in the same block. */
static int acct_user_take(store_job *job, sqlite3_stmt *st, int base, store_user *u, int family_col,
                          const char **family) {
    u->id = sqlite3_column_int64(st, base);
    u->created_at_ms = sqlite3_column_int64(st, base + 1);
    u->banned_until_ms = sqlite3_column_int64(st, base + 2); /* NULL reads 0: not banned */
    const char **const dst[USER_TEXTS + 1] = {
        family,  &u->email,  &u->password_hash, &u->google_sub, &u->nickname,
        &u->job, &u->career, &u->bio,           &u->ban_reason,
    };
    int cols[USER_TEXTS + 1] = {family_col};
    for (int i = 1; i <= USER_TEXTS; i++)
        cols[i] = base + USER_FIRST_TEXT + i - 1;
    int skip = family_col < 0;
    return acct_take_texts(job, st, cols + skip, dst + skip, USER_TEXTS + 1 - skip);
}

/* Steps a statement whose binding answered rc and which answers at most one user row, into
 * job->row.user: STORE_OK, or STORE_ERR_NOT_FOUND when there is no row. */
static int acct_user_step(store_job *job, sqlite3_stmt *st, int rc) {
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW;
    if (found && (rc = acct_user_take(job, st, 0, &job->row.user, -1, NULL)) == SQLITE_OK)
        job->has_row = 1;
    int status = sqlite_finish(st, rc);
    return status == STORE_OK && !found ? STORE_ERR_NOT_FOUND : status;
}

/* ---- accounts ---- */

static int acct_user_by_email(sqlite_accounts *a, store_job *job) {
    sqlite3_stmt *st = a->stmt[ACCT_USER_BY_EMAIL];
    return acct_user_step(job, st, sqlite_bind_text(st, 1, job->acct.email_lower));
}

static int acct_user_by_id(sqlite_accounts *a, store_job *job) {
    sqlite3_stmt *st = a->stmt[ACCT_USER_BY_ID];
    return acct_user_step(job, st, sqlite_bind_i64(st, 1, job->acct.id));
}

/* An existing email (any letter case) answers STORE_ERR_CONFLICT with that account as the row. */
static int acct_user_create(sqlite_accounts *a, store_job *job) {
    int status = acct_user_by_email(a, job);
    if (status != STORE_ERR_NOT_FOUND)
        return status == STORE_OK ? STORE_ERR_CONFLICT : status;
    const store_account_args *in = &job->acct;
    sqlite3_stmt *st = a->stmt[ACCT_USER_INSERT];
    int rc = sqlite_bind_text(st, 1, in->email);
    rc = rc ? rc : sqlite_bind_text(st, 2, in->email_lower);
    rc = rc ? rc : sqlite_bind_text(st, 3, in->password_hash);
    rc = rc ? rc : sqlite_bind_text(st, 4, in->nickname);
    rc = rc ? rc : sqlite_bind_i64(st, 5, store_now_ms());
    return acct_user_step(job, st, rc);
}

static int acct_user_update(sqlite_accounts *a, store_job *job) {
    const struct store_profile_update *u = &job->acct.profile;
    sqlite3_stmt *st = a->stmt[ACCT_USER_UPDATE];
    int rc = sqlite_bind_i64(st, 1, job->acct.id);
    rc = rc ? rc : sqlite_bind_text(st, 2, u->nickname);
    rc = rc ? rc : sqlite_bind_i64(st, 3, u->set_job);
    rc = rc ? rc : sqlite_bind_text(st, 4, u->job);
    rc = rc ? rc : sqlite_bind_i64(st, 5, u->set_career);
    rc = rc ? rc : sqlite_bind_text(st, 6, u->career);
    rc = rc ? rc : sqlite_bind_i64(st, 7, u->set_bio);
    rc = rc ? rc : sqlite_bind_text(st, 8, u->bio);
    return acct_user_step(job, st, rc);
}

/* Replaces the hash, then revokes every family of the user but acct.family (NULL: all). */
static int acct_user_set_password(sqlite_accounts *a, store_job *job) {
    sqlite3_stmt *st = a->stmt[ACCT_USER_SET_PASSWORD];
    int rc = sqlite_bind_i64(st, 1, job->acct.id);
    rc = rc ? rc : sqlite_bind_text(st, 2, job->acct.password_hash);
    int status = sqlite_step_row(st, rc);
    if (status != STORE_OK)
        return status;
    st = a->stmt[ACCT_REVOKE_OTHER_FAMILIES];
    rc = sqlite_bind_i64(st, 1, job->acct.id);
    rc = rc ? rc : sqlite_bind_i64(st, 2, store_now_ms());
    rc = rc ? rc : sqlite_bind_text(st, 3, job->acct.family);
    return sqlite_step_done(st, rc);
}

/* The user's refresh tokens go with it: ON DELETE CASCADE (foreign_keys is on, see sqlite.c). */
static int acct_user_delete(sqlite_accounts *a, store_job *job) {
    sqlite3_stmt *st = a->stmt[ACCT_USER_DELETE];
    return sqlite_step_row(st, sqlite_bind_i64(st, 1, job->acct.id));
}

/* ---- refresh tokens ---- */

/* Stores a token. A known hash breaks the primary key (STORE_ERR_CONFLICT); an unknown user
 * breaks the foreign key (STORE_ERR_NOT_FOUND). */
static int acct_token_insert(sqlite_accounts *a, const char *hash, const char *family,
                             int64_t user_id, int64_t now, int64_t expires_at) {
    sqlite3_stmt *st = a->stmt[ACCT_TOKEN_INSERT];
    int rc = sqlite_bind_text(st, 1, hash);
    rc = rc ? rc : sqlite_bind_text(st, 2, family);
    rc = rc ? rc : sqlite_bind_i64(st, 3, user_id);
    rc = rc ? rc : sqlite_bind_i64(st, 4, now);
    rc = rc ? rc : sqlite_bind_i64(st, 5, expires_at);
    return sqlite_step_done(st, rc);
}

static int acct_refresh_issue(sqlite_accounts *a, store_job *job) {
    const store_account_args *in = &job->acct;
    return acct_token_insert(a, in->token_hash, in->family, in->id, store_now_ms(),
                             in->expires_at_ms);
}

/* Revokes every token not yet revoked in the family of hash. */
static int acct_revoke_family_of(sqlite_accounts *a, const char *hash, int64_t now) {
    sqlite3_stmt *st = a->stmt[ACCT_REVOKE_FAMILY_OF];
    int rc = sqlite_bind_text(st, 1, hash);
    rc = rc ? rc : sqlite_bind_i64(st, 2, now);
    return sqlite_step_done(st, rc);
}

static int acct_refresh_revoke_family(sqlite_accounts *a, store_job *job) {
    sqlite3_stmt *st = a->stmt[ACCT_TOKEN_EXISTS];
    int status = sqlite_step_row(st, sqlite_bind_text(st, 1, job->acct.token_hash));
    return status == STORE_OK ? acct_revoke_family_of(a, job->acct.token_hash, store_now_ms())
                              : status;
}

static int acct_refresh_revoke_user(sqlite_accounts *a, store_job *job) {
    sqlite3_stmt *st = a->stmt[ACCT_REVOKE_USER];
    int rc = sqlite_bind_i64(st, 1, job->acct.id);
    rc = rc ? rc : sqlite_bind_i64(st, 2, store_now_ms());
    return sqlite_step_done(st, rc);
}

static void acct_token_read(sqlite3_stmt *st, acct_token *t) {
    t->expires_at = sqlite3_column_int64(st, TOKEN_EXPIRES);
    t->rotated = sqlite3_column_type(st, TOKEN_ROTATED) != SQLITE_NULL;
    t->rotated_at = sqlite3_column_int64(st, TOKEN_ROTATED);
    t->revoked = sqlite3_column_type(st, TOKEN_REVOKED) != SQLITE_NULL;
}

/* Looks the old token up with its owner (a token whose owner is gone is not found): its state
 * into t, its family and owner into job->row.refresh. */
static int acct_token_find(sqlite_accounts *a, store_job *job, acct_token *t) {
    store_refresh_result *r = &job->row.refresh;
    sqlite3_stmt *st = a->stmt[ACCT_TOKEN_FIND];
    int rc = sqlite_bind_text(st, 1, job->acct.token_hash);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW;
    if (found) {
        acct_token_read(st, t);
        rc = acct_user_take(job, st, TOKEN_USER, &r->user, TOKEN_FAMILY, &r->family);
    }
    int status = sqlite_finish(st, rc);
    if (status == STORE_OK && found)
        job->has_row = 1;
    return status == STORE_OK && !found ? STORE_ERR_NOT_FOUND : status;
}

static int acct_mark_rotated(sqlite_accounts *a, const char *hash, int64_t now) {
    sqlite3_stmt *st = a->stmt[ACCT_TOKEN_MARK_ROTATED];
    int rc = sqlite_bind_text(st, 1, hash);
    rc = rc ? rc : sqlite_bind_i64(st, 2, now);
    return sqlite_step_done(st, rc);
}

/* Counts one grace sibling for hash: STORE_OK, or STORE_ERR_NOT_FOUND when it already had its
 * STORE_REFRESH_GRACE_MAX. */
static int acct_take_grace(sqlite_accounts *a, const char *hash) {
    sqlite3_stmt *st = a->stmt[ACCT_TOKEN_TAKE_GRACE];
    int rc = sqlite_bind_text(st, 1, hash);
    rc = rc ? rc : sqlite_bind_i64(st, 2, STORE_REFRESH_GRACE_MAX);
    return sqlite_step_row(st, rc);
}

/* now + ttl, saturating instead of overflowing. */
static int64_t acct_expiry(int64_t now, int64_t ttl_ms) {
    return ttl_ms > INT64_MAX - now ? INT64_MAX : now + ttl_ms;
}

/* The old token was rotated grace_ms or longer ago: someone replays it. Revokes its family and
 * answers STORE_ERR_REFRESH_REUSED, which sqlite.c commits rather than rolls back. */
static int acct_refresh_reused(sqlite_accounts *a, store_job *job, int64_t now) {
    int status = acct_revoke_family_of(a, job->acct.token_hash, now);
    return status == STORE_OK ? STORE_ERR_REFRESH_REUSED : status;
}

/* See store_refresh_rotate. A clock that stepped back counts as no time elapsed. */
static int acct_refresh_rotate(sqlite_accounts *a, store_job *job) {
    const store_account_args *in = &job->acct;
    store_refresh_result *r = &job->row.refresh;
    int64_t now = store_now_ms();
    acct_token t = {0};
    int status = acct_token_find(a, job, &t);
    if (status == STORE_OK && (t.revoked || t.expires_at <= now))
        status = STORE_ERR_NOT_FOUND;
    if (status != STORE_OK)
        return status;
    int64_t elapsed = now > t.rotated_at ? now - t.rotated_at : 0;
    if (t.rotated && elapsed >= in->grace_ms)
        return acct_refresh_reused(a, job, now);
    if (t.rotated && (status = acct_take_grace(a, in->token_hash)) != STORE_OK)
        return status == STORE_ERR_NOT_FOUND ? acct_refresh_reused(a, job, now) : status;
    r->outcome = t.rotated ? STORE_REFRESH_GRACE : STORE_REFRESH_ROTATED;
    if (!t.rotated && (status = acct_mark_rotated(a, in->token_hash, now)) != STORE_OK)
        return status;
    return acct_token_insert(a, in->new_hash, r->family, r->user.id, now,
                             acct_expiry(now, in->ttl_ms));
}

/* ---- module ---- */

int sqlite_accounts_run(sqlite_accounts *a, store_job *job) {
    switch (job->kind) {
        case STORE_JOB_USER_CREATE:
            return acct_user_create(a, job);
        case STORE_JOB_USER_BY_EMAIL:
            return acct_user_by_email(a, job);
        case STORE_JOB_USER_BY_ID:
            return acct_user_by_id(a, job);
        case STORE_JOB_USER_UPDATE_PROFILE:
            return acct_user_update(a, job);
        case STORE_JOB_USER_SET_PASSWORD:
            return acct_user_set_password(a, job);
        case STORE_JOB_USER_DELETE:
            return acct_user_delete(a, job);
        case STORE_JOB_REFRESH_ISSUE:
            return acct_refresh_issue(a, job);
        case STORE_JOB_REFRESH_ROTATE:
            return acct_refresh_rotate(a, job);
        case STORE_JOB_REFRESH_REVOKE_FAMILY:
            return acct_refresh_revoke_family(a, job);
        case STORE_JOB_REFRESH_REVOKE_USER:
            return acct_refresh_revoke_user(a, job);
        default:
            return STORE_ERR_INVALID;
    }
}

int sqlite_accounts_open(sqlite3 *db, sqlite_accounts **out, char *err, size_t errlen) {
    *out = NULL;
    sqlite_accounts *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "sqlite: out of memory");
        return STORE_ERR_NOMEM;
    }
    int rc = sqlite_prepare_list(db, acct_sql, a->stmt, ACCT_STMT_COUNT, err, errlen);
    if (rc != 0) {
        sqlite_accounts_close(a);
        return rc;
    }
    *out = a;
    return 0;
}

void sqlite_accounts_close(sqlite_accounts *a) {
    if (!a)
        return;
    for (int i = 0; i < ACCT_STMT_COUNT; i++)
        sqlite3_finalize(a->stmt[i]);
    free(a);
}
