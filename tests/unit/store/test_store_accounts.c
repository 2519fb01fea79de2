/* test_store_accounts.c — the store's accounts and refresh tokens on the SQLite backend: sign-up
 * with case-insensitive emails, look-ups, profile and password changes, deletion, and refresh
 * token rotation with its grace window, reuse detection and revocation.
 *
 * Each test runs the real libuv loop against a real SQLite file in its own mkdtemp directory and
 * ends with uv_loop_close() == 0. Direct sqlite3 reads only check what the store wrote, after it
 * is shut down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "store_fixture.h"

#define TTL_MS   (14LL * 24 * 3600 * 1000) /* refresh token lifetime, as SPEC §3.2 */
#define GRACE_MS 10000                     /* tabs racing, as SPEC §3.2 */

/* What a user callback saw. Strings are copied; NULL ones read SF_NUL_TEXT. */
typedef struct user_rec {
    int fired, status, has_user;
    int64_t id, created_at_ms, banned_until_ms;
    char email[STORE_EMAIL_MAX + 1], password_hash[STORE_HASH_MAX + 1];
    char google_sub[64], nickname[STORE_NICKNAME_MAX + 1], job[80], career[80];
    char bio[STORE_BIO_MAX + 1], ban_reason[64];
} user_rec;

/* What a rotate callback saw. */
typedef struct refresh_rec {
    int fired, status, has_result, outcome;
    char family[STORE_FAMILY_MAX + 1];
    user_rec owner;
} refresh_rec;

/* ---- fixture ---- */

static int setup(void **state) {
    return sf_setup(state, "/tmp/convo-accounts-XXXXXX");
}

/* ---- callbacks ---- */

static void user_copy(user_rec *r, const store_user *u) {
    r->has_user = 1;
    r->id = u->id;
    r->created_at_ms = u->created_at_ms;
    r->banned_until_ms = u->banned_until_ms;
    sf_keep(r->email, sizeof r->email, u->email);
    sf_keep(r->password_hash, sizeof r->password_hash, u->password_hash);
    sf_keep(r->google_sub, sizeof r->google_sub, u->google_sub);
    sf_keep(r->nickname, sizeof r->nickname, u->nickname);
    sf_keep(r->job, sizeof r->job, u->job);
    sf_keep(r->career, sizeof r->career, u->career);
    sf_keep(r->bio, sizeof r->bio, u->bio);
    sf_keep(r->ban_reason, sizeof r->ban_reason, u->ban_reason);
}

static void on_user(int status, const store_user *u, void *arg) {
    user_rec *r = arg;
    sf_assert_loop_thread();
    r->fired++;
    r->status = status;
    if (status == STORE_OK)
        assert_non_null(u);
    if (u)
        user_copy(r, u);
}

static void on_refresh(int status, const store_refresh_result *res, void *arg) {
    refresh_rec *r = arg;
    sf_assert_loop_thread();
    r->fired++;
    r->status = status;
    assert_true(status == STORE_OK || status == STORE_ERR_REFRESH_REUSED ? res != NULL
                                                                         : res == NULL);
    if (!res)
        return;
    r->has_result = 1;
    r->outcome = res->outcome;
    sf_keep(r->family, sizeof r->family, res->family);
    user_copy(&r->owner, &res->user);
}

static void on_never_user(int status, const store_user *u, void *arg) {
    (void)status, (void)u, (void)arg;
    fail_msg("a call that returned an error fired its callback");
}

static void on_never_refresh(int status, const store_refresh_result *r, void *arg) {
    (void)status, (void)r, (void)arg;
    fail_msg("a call that returned an error fired its callback");
}

/* ---- one call, run to its callback ---- */

static user_rec create_user(sf_fixture *fx, store *s, const char *email, const char *nickname) {
    user_rec r = {0};
    assert_int_equal(store_user_create(s, email, "$argon2id$v=19$hash", nickname, on_user, &r), 0);
    sf_run(fx);
    assert_int_equal(r.fired, 1);
    return r;
}

static int64_t new_user(sf_fixture *fx, store *s, const char *email) {
    user_rec r = create_user(fx, s, email, "nick");
    assert_int_equal(r.status, STORE_OK);
    return r.id;
}

static user_rec by_id(sf_fixture *fx, store *s, int64_t id) {
    user_rec r = {0};
    assert_int_equal(store_user_by_id(s, id, on_user, &r), 0);
    sf_run(fx);
    assert_int_equal(r.fired, 1);
    return r;
}

static user_rec by_email(sf_fixture *fx, store *s, const char *email) {
    user_rec r = {0};
    assert_int_equal(store_user_by_email(s, email, on_user, &r), 0);
    sf_run(fx);
    assert_int_equal(r.fired, 1);
    return r;
}

static user_rec update(sf_fixture *fx, store *s, int64_t id, const struct store_profile_update *u) {
    user_rec r = {0};
    assert_int_equal(store_user_update_profile(s, id, u, on_user, &r), 0);
    sf_run(fx);
    assert_int_equal(r.fired, 1);
    return r;
}

static int issue_at(sf_fixture *fx, store *s, int64_t user, const char *family, unsigned n,
                    int64_t expires_at_ms) {
    char h[STORE_TOKEN_HASH_LEN + 1];
    sf_status_rec r = {0};
    assert_int_equal(
        store_refresh_issue(s, user, family, sf_tok(h, n), expires_at_ms, sf_on_status, &r), 0);
    sf_run(fx);
    assert_int_equal(r.fired, 1);
    return r.status;
}

static void issue(sf_fixture *fx, store *s, int64_t user, const char *family, unsigned n) {
    int64_t in_a_day = (int64_t)time(NULL) * 1000 + 24 * 3600 * 1000LL;
    assert_int_equal(issue_at(fx, s, user, family, n, in_a_day), STORE_OK);
}

static refresh_rec rotate(sf_fixture *fx, store *s, unsigned old_n, unsigned new_n, int64_t grace) {
    char o[STORE_TOKEN_HASH_LEN + 1], n[STORE_TOKEN_HASH_LEN + 1];
    refresh_rec r = {0};
    assert_int_equal(
        store_refresh_rotate(s, sf_tok(o, old_n), sf_tok(n, new_n), TTL_MS, grace, on_refresh, &r),
        0);
    sf_run(fx);
    assert_int_equal(r.fired, 1);
    return r;
}

static int set_password(sf_fixture *fx, store *s, int64_t id, const char *hash, const char *keep) {
    sf_status_rec r = {0};
    return sf_status_call(fx, store_user_set_password(s, id, hash, keep, sf_on_status, &r), &r);
}

static int revoke_family(sf_fixture *fx, store *s, unsigned n) {
    char h[STORE_TOKEN_HASH_LEN + 1];
    sf_status_rec r = {0};
    return sf_status_call(fx, store_refresh_revoke_family(s, sf_tok(h, n), sf_on_status, &r), &r);
}

static int revoke_user(sf_fixture *fx, store *s, int64_t id) {
    sf_status_rec r = {0};
    return sf_status_call(fx, store_refresh_revoke_user(s, id, sf_on_status, &r), &r);
}

/* ---- accounts ---- */

static void test_migration_creates_tables(void **state) {
    sf_fixture *fx = *state;
    sf_close_store(fx, sf_open_store(fx));
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM schema_migrations "
                                      "WHERE version = 2 AND name = '002_accounts.sql'"),
                     1);
    assert_int_equal(sf_query_i64(fx,
                                  "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' "
                                  "AND name IN ('refresh_tokens_family', 'refresh_tokens_user')"),
                     2);
}

static void test_user_create(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    user_rec r = create_user(fx, s, "Mina.Kim@Example.com", "미나");
    assert_int_equal(r.status, STORE_OK);
    assert_true(r.id > 0);
    assert_string_equal(r.email, "Mina.Kim@Example.com"); /* as typed */
    assert_string_equal(r.password_hash, "$argon2id$v=19$hash");
    assert_string_equal(r.nickname, "미나");
    assert_string_equal(r.google_sub, SF_NUL_TEXT);
    assert_string_equal(r.job, SF_NUL_TEXT);
    assert_string_equal(r.career, SF_NUL_TEXT);
    assert_string_equal(r.bio, SF_NUL_TEXT);
    assert_string_equal(r.ban_reason, SF_NUL_TEXT);
    assert_int_equal(r.banned_until_ms, 0);
    assert_true(r.created_at_ms > 1600000000000LL);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM users "
                                      "WHERE email_lower = 'mina.kim@example.com'"),
                     1);
}

static void test_duplicate_email_other_case_conflicts(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    user_rec first = create_user(fx, s, "Alice@Example.COM", "alice");
    user_rec again = create_user(fx, s, "aLICE@example.com", "impostor");
    assert_int_equal(again.status, STORE_ERR_CONFLICT);
    assert_int_equal(again.has_user, 1); /* the EXISTING account */
    assert_int_equal(again.id, first.id);
    assert_string_equal(again.email, "Alice@Example.COM");
    assert_string_equal(again.nickname, "alice");
    assert_string_equal(again.password_hash, "$argon2id$v=19$hash");
    /* Non-ASCII bytes are not folded: this is another address. */
    assert_int_equal(create_user(fx, s, "ÄLICE@example.com", "a2").status, STORE_OK);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM users"), 2);
}

static void test_lookups(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t id = new_user(fx, s, "Bob@Mail.example");
    user_rec r = by_email(fx, s, "bob@mail.EXAMPLE");
    assert_int_equal(r.status, STORE_OK);
    assert_int_equal(r.id, id);
    assert_string_equal(r.email, "Bob@Mail.example");
    r = by_id(fx, s, id);
    assert_int_equal(r.status, STORE_OK);
    assert_string_equal(r.email, "Bob@Mail.example");
    r = by_email(fx, s, "nobody@mail.example");
    assert_int_equal(r.status, STORE_ERR_NOT_FOUND);
    assert_int_equal(r.has_user, 0);
    r = by_id(fx, s, id + 100);
    assert_int_equal(r.status, STORE_ERR_NOT_FOUND);
    assert_int_equal(r.has_user, 0);
    sf_close_store(fx, s);
}

static void test_update_profile(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t id = new_user(fx, s, "c@example.com");
    struct store_profile_update set = {.set_job = 1,
                                       .set_career = 1,
                                       .set_bio = 1,
                                       .job = "backend",
                                       .career = "junior",
                                       .bio = "hello"};
    user_rec r = update(fx, s, id, &set);
    assert_int_equal(r.status, STORE_OK);
    assert_string_equal(r.nickname, "nick");
    assert_string_equal(r.job, "backend");
    assert_string_equal(r.career, "junior");
    assert_string_equal(r.bio, "hello");
    /* Keep: only the nickname changes; the other values are ignored when set_* is 0. */
    struct store_profile_update nick = {.nickname = "새이름", .job = "ignored"};
    r = update(fx, s, id, &nick);
    assert_string_equal(r.nickname, "새이름");
    assert_string_equal(r.job, "backend");
    assert_string_equal(r.career, "junior");
    assert_string_equal(r.bio, "hello");
    /* Clear: set with NULL. */
    struct store_profile_update clear = {.set_bio = 1, .set_career = 1};
    r = update(fx, s, id, &clear);
    assert_string_equal(r.nickname, "새이름");
    assert_string_equal(r.job, "backend");
    assert_string_equal(r.career, SF_NUL_TEXT);
    assert_string_equal(r.bio, SF_NUL_TEXT);
    assert_string_equal(by_id(fx, s, id).bio, SF_NUL_TEXT);        /* stored, not only answered */
    struct store_profile_update blank = {.set_bio = 1, .bio = ""}; /* a value, not a clear */
    assert_string_equal(update(fx, s, id, &blank).bio, "");
    r = update(fx, s, id + 1, &nick);
    assert_int_equal(r.status, STORE_ERR_NOT_FOUND);
    assert_int_equal(r.has_user, 0);
    sf_close_store(fx, s);
}

static void test_set_password_revokes_other_families(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t id = new_user(fx, s, "d@example.com");
    issue(fx, s, id, "fam-a", 1);
    issue(fx, s, id, "fam-b", 2);
    issue(fx, s, id, "fam-c", 3);
    assert_int_equal(set_password(fx, s, id, "$argon2id$new", "fam-b"), STORE_OK);
    assert_string_equal(by_id(fx, s, id).password_hash, "$argon2id$new");
    assert_int_equal(rotate(fx, s, 1, 11, GRACE_MS).status, STORE_ERR_NOT_FOUND);
    assert_int_equal(rotate(fx, s, 3, 13, GRACE_MS).status, STORE_ERR_NOT_FOUND);
    refresh_rec kept = rotate(fx, s, 2, 12, GRACE_MS);
    assert_int_equal(kept.status, STORE_OK);
    assert_int_equal(kept.outcome, STORE_REFRESH_ROTATED);
    /* NULL keeps none. */
    assert_int_equal(set_password(fx, s, id, "$argon2id$newer", NULL), STORE_OK);
    assert_int_equal(rotate(fx, s, 12, 22, GRACE_MS).status, STORE_ERR_NOT_FOUND);
    assert_int_equal(set_password(fx, s, id + 1, "$argon2id$x", NULL), STORE_ERR_NOT_FOUND);
    sf_close_store(fx, s);
}

static void test_user_delete(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t id = new_user(fx, s, "e@example.com");
    int64_t other = new_user(fx, s, "f@example.com");
    assert_int_equal(store_chat_create(s, "backend", id, other, NULL, NULL), 0);
    assert_int_equal(store_message_append(s, 1, id, "m1", "bye", NULL, NULL), 0);
    sf_run(fx);
    issue(fx, s, id, "fam-e", 1);
    issue(fx, s, other, "fam-f", 2);
    assert_int_equal(sf_delete_user(fx, s, id), STORE_OK);
    assert_int_equal(by_id(fx, s, id).status, STORE_ERR_NOT_FOUND);
    assert_int_equal(by_email(fx, s, "E@example.com").status, STORE_ERR_NOT_FOUND);
    refresh_rec r = rotate(fx, s, 1, 11, GRACE_MS);
    assert_int_equal(r.status, STORE_ERR_NOT_FOUND);
    assert_int_equal(r.has_result, 0);
    assert_int_equal(sf_delete_user(fx, s, id), STORE_ERR_NOT_FOUND);
    assert_int_equal(rotate(fx, s, 2, 12, GRACE_MS).status, STORE_OK); /* others untouched */
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM refresh_tokens WHERE family = 'fam-e'"),
                     0);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM chats"), 1);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM messages WHERE text = 'bye'"), 1);
}

/* ---- refresh tokens ---- */

static void test_rotate_then_grace(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t id = new_user(fx, s, "g@example.com");
    issue(fx, s, id, "fam-g", 1);
    refresh_rec r = rotate(fx, s, 1, 2, GRACE_MS);
    assert_int_equal(r.status, STORE_OK);
    assert_int_equal(r.outcome, STORE_REFRESH_ROTATED);
    assert_string_equal(r.family, "fam-g");
    assert_int_equal(r.owner.id, id);
    assert_string_equal(r.owner.email, "g@example.com");
    assert_string_equal(r.owner.nickname, "nick");
    /* The other tab presents the old token at once: a sibling in the same family. */
    r = rotate(fx, s, 1, 3, GRACE_MS);
    assert_int_equal(r.status, STORE_OK);
    assert_int_equal(r.outcome, STORE_REFRESH_GRACE);
    assert_string_equal(r.family, "fam-g");
    assert_int_equal(r.owner.id, id);
    r = rotate(fx, s, 3, 4, GRACE_MS); /* the sibling works */
    assert_int_equal(r.status, STORE_OK);
    assert_int_equal(r.outcome, STORE_REFRESH_ROTATED);
    r = rotate(fx, s, 2, 5, GRACE_MS); /* and so does the first new token */
    assert_int_equal(r.outcome, STORE_REFRESH_ROTATED);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM refresh_tokens WHERE family = 'fam-g' "
                                      "AND revoked_at IS NULL"),
                     5);
}

/* One grace sibling per rotated token: a second replay inside the window is reuse, so one
 * token cannot fork into many live sessions. */
static void test_second_grace_replay_is_reuse(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t id = new_user(fx, s, "g2@example.com");
    issue(fx, s, id, "fam-g2", 1);
    assert_int_equal(rotate(fx, s, 1, 2, GRACE_MS).outcome, STORE_REFRESH_ROTATED);
    assert_int_equal(rotate(fx, s, 1, 3, GRACE_MS).outcome, STORE_REFRESH_GRACE);
    assert_int_equal(rotate(fx, s, 1, 4, GRACE_MS).status, STORE_ERR_REFRESH_REUSED);
    assert_int_equal(rotate(fx, s, 2, 5, GRACE_MS).status, STORE_ERR_NOT_FOUND);
    assert_int_equal(rotate(fx, s, 3, 6, GRACE_MS).status, STORE_ERR_NOT_FOUND);
    sf_close_store(fx, s);
}

static void test_reuse_revokes_family(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t id = new_user(fx, s, "h@example.com");
    issue(fx, s, id, "fam-h", 1);
    issue(fx, s, id, "fam-other", 100);
    assert_int_equal(rotate(fx, s, 1, 2, GRACE_MS).outcome, STORE_REFRESH_ROTATED);
    assert_int_equal(rotate(fx, s, 2, 3, GRACE_MS).outcome, STORE_REFRESH_ROTATED);
    refresh_rec r = rotate(fx, s, 1, 4, 0);
    assert_int_equal(r.status, STORE_ERR_REFRESH_REUSED);
    assert_int_equal(r.has_result, 1);
    assert_int_equal(r.outcome, 0);
    assert_string_equal(r.family, "fam-h");
    assert_int_equal(r.owner.id, id);
    for (unsigned n = 1; n <= 4; n++) /* the whole family, the newest (3) included */
        assert_int_equal(rotate(fx, s, n, 50 + n, GRACE_MS).status, STORE_ERR_NOT_FOUND);
    assert_int_equal(rotate(fx, s, 100, 101, GRACE_MS).status, STORE_OK);
    sf_close_store(fx, s);
    /* The revocation was committed although the call answered an error. */
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM refresh_tokens WHERE family = 'fam-h' "
                                      "AND revoked_at IS NOT NULL"),
                     3);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM refresh_tokens WHERE family = 'fam-h'"),
                     3);
}

/* A reuse in the middle of a batch: its revocation and its neighbours' writes all commit. */
static void test_reuse_in_a_batch_keeps_neighbours(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t id = new_user(fx, s, "i@example.com");
    issue(fx, s, id, "fam-i", 1);
    assert_int_equal(rotate(fx, s, 1, 2, GRACE_MS).status, STORE_OK);
    char a[STORE_TOKEN_HASH_LEN + 1], b[STORE_TOKEN_HASH_LEN + 1];
    refresh_rec reused = {0};
    sf_status_rec before = {0}, after = {0};
    int64_t later = (int64_t)time(NULL) * 1000 + 3600 * 1000LL;
    assert_int_equal(
        store_refresh_issue(s, id, "fam-j", sf_tok(a, 10), later, sf_on_status, &before), 0);
    assert_int_equal(
        store_refresh_rotate(s, sf_tok(a, 1), sf_tok(b, 3), TTL_MS, 0, on_refresh, &reused), 0);
    assert_int_equal(
        store_refresh_issue(s, id, "fam-k", sf_tok(a, 20), later, sf_on_status, &after), 0);
    sf_run(fx);
    assert_int_equal(before.status, STORE_OK);
    assert_int_equal(reused.status, STORE_ERR_REFRESH_REUSED);
    assert_int_equal(after.status, STORE_OK);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM refresh_tokens WHERE family = 'fam-i' "
                                      "AND revoked_at IS NULL"),
                     0);
    assert_int_equal(
        sf_query_i64(fx, "SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NULL"), 2);
}

static void test_expired_token_not_found(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t id = new_user(fx, s, "j@example.com");
    int64_t past = (int64_t)time(NULL) * 1000 - 1000;
    assert_int_equal(issue_at(fx, s, id, "fam-old", 1, past), STORE_OK);
    refresh_rec r = rotate(fx, s, 1, 2, GRACE_MS);
    assert_int_equal(r.status, STORE_ERR_NOT_FOUND);
    assert_int_equal(r.has_result, 0);
    assert_int_equal(rotate(fx, s, 999, 998, GRACE_MS).status, STORE_ERR_NOT_FOUND);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM refresh_tokens"), 1); /* none issued */
}

static void test_issue_conflict_and_unknown_user(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t id = new_user(fx, s, "k@example.com");
    issue(fx, s, id, "fam-k", 1);
    int64_t later = (int64_t)time(NULL) * 1000 + 1000;
    assert_int_equal(issue_at(fx, s, id, "fam-k2", 1, later), STORE_ERR_CONFLICT);
    assert_int_equal(issue_at(fx, s, id + 50, "fam-k3", 2, later), STORE_ERR_NOT_FOUND);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM refresh_tokens"), 1);
}

static void test_revoke_family(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t id = new_user(fx, s, "l@example.com");
    issue(fx, s, id, "fam-l", 1);
    issue(fx, s, id, "fam-l", 2);
    issue(fx, s, id, "fam-m", 3);
    assert_int_equal(revoke_family(fx, s, 1), STORE_OK);
    assert_int_equal(rotate(fx, s, 1, 11, GRACE_MS).status, STORE_ERR_NOT_FOUND);
    assert_int_equal(rotate(fx, s, 2, 12, GRACE_MS).status, STORE_ERR_NOT_FOUND);
    assert_int_equal(rotate(fx, s, 3, 13, GRACE_MS).status, STORE_OK);
    assert_int_equal(revoke_family(fx, s, 1), STORE_OK); /* known, already revoked */
    assert_int_equal(revoke_family(fx, s, 777), STORE_ERR_NOT_FOUND);
    sf_close_store(fx, s);
}

static void test_revoke_user(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t id = new_user(fx, s, "m@example.com");
    int64_t other = new_user(fx, s, "n@example.com");
    issue(fx, s, id, "fam-n1", 1);
    issue(fx, s, id, "fam-n2", 2);
    issue(fx, s, other, "fam-o", 3);
    assert_int_equal(revoke_user(fx, s, id), STORE_OK);
    assert_int_equal(rotate(fx, s, 1, 11, GRACE_MS).status, STORE_ERR_NOT_FOUND);
    assert_int_equal(rotate(fx, s, 2, 12, GRACE_MS).status, STORE_ERR_NOT_FOUND);
    assert_int_equal(rotate(fx, s, 3, 13, GRACE_MS).status, STORE_OK);
    assert_int_equal(revoke_user(fx, s, other + 100), STORE_OK); /* none: still OK */
    sf_close_store(fx, s);
}

/* ---- arguments ---- */

static void expect_invalid_accounts(store *s) {
    char big[STORE_BIO_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *email_255 = big + sizeof big - 1 - (STORE_EMAIL_MAX + 1);
    const char *nick_129 = big + sizeof big - 1 - (STORE_NICKNAME_MAX + 1);
    const char *h = "ok$hash";
    assert_int_equal(store_user_create(s, NULL, h, "n", on_never_user, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_create(s, "", h, "n", on_never_user, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_create(s, email_255, h, "n", on_never_user, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_user_create(s, "a@b", NULL, "n", on_never_user, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_user_create(s, "a@b", big, "n", on_never_user, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_create(s, "a@b", h, nick_129, on_never_user, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_user_create(s, "a@b", h, "", on_never_user, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_by_email(s, "", on_never_user, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_by_email(s, NULL, on_never_user, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_by_id(s, 0, on_never_user, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_by_id(s, -3, on_never_user, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_by_id(NULL, 1, on_never_user, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_delete(s, 0, sf_on_never, NULL), STORE_ERR_INVALID);
}

static void expect_invalid_profiles(store *s) {
    char bio[STORE_BIO_MAX + 2];
    memset(bio, 'b', sizeof bio - 1);
    bio[sizeof bio - 1] = '\0';
    struct store_profile_update u[] = {
        {.nickname = ""},
        {.set_job = 1, .job = bio + sizeof bio - 1 - (STORE_CATEGORY_MAX + 1)},
        {.set_career = 1, .career = bio + sizeof bio - 1 - (STORE_CATEGORY_MAX + 1)},
        {.set_bio = 1, .bio = bio},
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        assert_int_equal(store_user_update_profile(s, 1, &u[i], on_never_user, NULL),
                         STORE_ERR_INVALID);
    assert_int_equal(store_user_update_profile(s, 1, NULL, on_never_user, NULL), STORE_ERR_INVALID);
    assert_int_equal(
        store_user_update_profile(s, 0, &(struct store_profile_update){0}, on_never_user, NULL),
        STORE_ERR_INVALID);
    assert_int_equal(store_user_set_password(s, 0, "h", NULL, sf_on_never, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_user_set_password(s, 1, NULL, NULL, sf_on_never, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_user_set_password(s, 1, "h", "", sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_set_password(s, 1, "h", bio, sf_on_never, NULL), STORE_ERR_INVALID);
}

static void expect_invalid_tokens(store *s) {
    char good[STORE_TOKEN_HASH_LEN + 1], other[STORE_TOKEN_HASH_LEN + 1];
    sf_tok(good, 1);
    sf_tok(other, 2);
    char upper[STORE_TOKEN_HASH_LEN + 1], longer[STORE_TOKEN_HASH_LEN + 2];
    char nonhex[STORE_TOKEN_HASH_LEN + 1];
    snprintf(upper, sizeof upper, "%064X", 0xabcU);
    snprintf(longer, sizeof longer, "%065x", 1U);
    memset(nonhex, 'g', STORE_TOKEN_HASH_LEN);
    nonhex[STORE_TOKEN_HASH_LEN] = '\0';
    const char *bad[] = {NULL, "", "abc", upper, longer, nonhex};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(store_refresh_issue(s, 1, "f", bad[i], 1, sf_on_never, NULL),
                         STORE_ERR_INVALID);
        assert_int_equal(store_refresh_rotate(s, bad[i], good, 1, 0, on_never_refresh, NULL),
                         STORE_ERR_INVALID);
        assert_int_equal(store_refresh_rotate(s, good, bad[i], 1, 0, on_never_refresh, NULL),
                         STORE_ERR_INVALID);
        assert_int_equal(store_refresh_revoke_family(s, bad[i], sf_on_never, NULL),
                         STORE_ERR_INVALID);
    }
    assert_int_equal(store_refresh_issue(s, 0, "f", good, 1, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_refresh_issue(s, 1, "", good, 1, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_refresh_issue(s, 1, NULL, good, 1, sf_on_never, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_refresh_rotate(s, good, good, 1, 0, on_never_refresh, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_refresh_rotate(s, good, other, 0, 0, on_never_refresh, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_refresh_rotate(s, good, other, 1, -1, on_never_refresh, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_refresh_revoke_user(s, 0, sf_on_never, NULL), STORE_ERR_INVALID);
}

static void test_invalid_arguments(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    uint64_t jobs = store_jobs(s);
    expect_invalid_accounts(s);
    expect_invalid_profiles(s);
    expect_invalid_tokens(s);
    sf_run(fx);
    assert_int_equal(store_jobs(s), jobs); /* nothing was queued */
    sf_close_store(fx, s);
}

static void test_limits_are_inclusive(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    char email[STORE_EMAIL_MAX + 1], nick[STORE_NICKNAME_MAX + 1];
    memset(email, 'E', sizeof email - 1);
    email[sizeof email - 1] = '\0';
    memset(nick, 'n', sizeof nick - 1);
    nick[sizeof nick - 1] = '\0';
    user_rec r = create_user(fx, s, email, nick);
    assert_int_equal(r.status, STORE_OK);
    assert_string_equal(r.email, email);
    email[0] = 'e';
    assert_int_equal(by_email(fx, s, email).id, r.id);
    sf_close_store(fx, s);
}

static void test_calls_after_shutdown_are_closed(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int done = 0;
    char h[STORE_TOKEN_HASH_LEN + 1], h2[STORE_TOKEN_HASH_LEN + 1];
    store_shutdown(s, sf_on_shutdown, &done);
    assert_int_equal(store_user_by_id(s, 1, on_never_user, NULL), STORE_ERR_CLOSED);
    assert_int_equal(store_user_create(s, "a@b", "h", "n", on_never_user, NULL), STORE_ERR_CLOSED);
    assert_int_equal(
        store_refresh_rotate(s, sf_tok(h, 1), sf_tok(h2, 2), 1, 0, on_never_refresh, NULL),
        STORE_ERR_CLOSED);
    assert_int_equal(store_refresh_revoke_user(s, 1, sf_on_never, NULL), STORE_ERR_CLOSED);
    sf_run(fx);
    assert_int_equal(done, 1);
    store_free(s);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, sf_teardown)
    const struct CMUnitTest tests[] = {
        T(test_migration_creates_tables),
        T(test_user_create),
        T(test_duplicate_email_other_case_conflicts),
        T(test_lookups),
        T(test_update_profile),
        T(test_set_password_revokes_other_families),
        T(test_user_delete),
        T(test_rotate_then_grace),
        T(test_second_grace_replay_is_reuse),
        T(test_reuse_revokes_family),
        T(test_reuse_in_a_batch_keeps_neighbours),
        T(test_expired_token_not_found),
        T(test_issue_conflict_and_unknown_user),
        T(test_revoke_family),
        T(test_revoke_user),
        T(test_invalid_arguments),
        T(test_limits_are_inclusive),
        T(test_calls_after_shutdown_are_closed),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
