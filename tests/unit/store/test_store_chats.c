/* test_store_chats.c — the store's chats, history and safety calls on the SQLite backend: a
 * user's context at connect, active chats after a restart, ending chats, read marks, history
 * pages with their partner and last message, reports, blocks and bans.
 *
 * Each test runs the real libuv loop against a real SQLite file in its own mkdtemp directory and
 * ends with uv_loop_close() == 0. Direct sqlite3 reads only check what the store wrote, after it
 * is shut down. List results are copied in the callback (they are valid only during it).
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

#define ROWS_MAX  STORE_PAGE_MAX
#define MSGS_MAX  (STORE_PAGE_MAX * 10)
#define IDS_MAX   64
#define GRACE_MS  10000
#define TTL_MS    (14LL * 24 * 3600 * 1000)
#define DAY_MS    (24LL * 3600 * 1000)
#define SHORT_MAX 80

/* ---- records: what a callback saw, copied; NULL strings read SF_NUL_TEXT ---- */

typedef struct msg_rec {
    int64_t id, chat_id, seq, sender_id, sent_at_ms;
    int duplicate;
    size_t text_len;
    char text[SHORT_MAX], client_msg_id[SHORT_MAX];
} msg_rec;

typedef struct partner_rec {
    int64_t id;
    char nickname[SHORT_MAX], job[SHORT_MAX], career[SHORT_MAX];
} partner_rec;

typedef struct summary_rec {
    int64_t id, viewer_id, started_at_ms, ended_at_ms, last_seq, my_read_seq, partner_read_seq;
    char category[SHORT_MAX];
    partner_rec partner;
    int has_last;
    msg_rec last;
} summary_rec;

typedef struct chats_rec {
    int fired, status;
    size_t count;
    summary_rec rows[ROWS_MAX];
} chats_rec;

typedef struct msgs_rec {
    int fired, status;
    size_t count;
    msg_rec rows[MSGS_MAX];
} msgs_rec;

typedef struct report_rec {
    int64_t id, chat_id, reporter_id, reported_id, created_at_ms;
    char reason[SHORT_MAX], detail[SHORT_MAX];
} report_rec;

typedef struct reports_rec {
    int fired, status;
    size_t count;
    report_rec rows[ROWS_MAX];
} reports_rec;

typedef struct partners_rec {
    int fired, status;
    size_t count;
    partner_rec rows[IDS_MAX];
} partners_rec;

typedef struct context_rec {
    int fired, status, has_ctx, has_active;
    summary_rec active;
    int64_t previous_partner, banned_until_ms;
    size_t blocked_count;
    int64_t blocked[IDS_MAX];
} context_rec;

typedef struct user_rec {
    int fired, status;
    int64_t id, banned_until_ms;
    char ban_reason[SHORT_MAX];
} user_rec;

typedef struct one_rec {
    int fired, status;
    int64_t id, seq;
} one_rec;

/* ---- fixture ---- */

static int setup(void **state) {
    return sf_setup(state, "/tmp/convo-chats-XXXXXX");
}

/* ---- copying results ---- */

static void msg_copy(msg_rec *r, const store_message *m) {
    r->id = m->id;
    r->chat_id = m->chat_id;
    r->seq = m->seq;
    r->sender_id = m->sender_id;
    r->sent_at_ms = m->sent_at_ms;
    r->duplicate = m->duplicate;
    r->text_len = m->text ? strlen(m->text) : 0;
    sf_keep(r->text, sizeof r->text, m->text);
    sf_keep(r->client_msg_id, sizeof r->client_msg_id, m->client_msg_id);
}

static void partner_copy(partner_rec *r, const store_partner *p) {
    r->id = p->id;
    sf_keep(r->nickname, sizeof r->nickname, p->nickname);
    sf_keep(r->job, sizeof r->job, p->job);
    sf_keep(r->career, sizeof r->career, p->career);
}

static void summary_copy(summary_rec *r, const store_chat_summary *c) {
    r->id = c->id;
    r->viewer_id = c->viewer_id;
    r->started_at_ms = c->started_at_ms;
    r->ended_at_ms = c->ended_at_ms;
    r->last_seq = c->last_seq;
    r->my_read_seq = c->my_read_seq;
    r->partner_read_seq = c->partner_read_seq;
    sf_keep(r->category, sizeof r->category, c->category);
    partner_copy(&r->partner, &c->partner);
    r->has_last = c->last_message != NULL;
    if (c->last_message)
        msg_copy(&r->last, c->last_message);
}

/* Checks what every list callback must hold; records the call. */
static void list_seen(int *fired, int *status, size_t *count, int st, const void *items, size_t n,
                      size_t cap) {
    sf_assert_loop_thread();
    *fired += 1;
    *status = st;
    *count = n;
    if (st != STORE_OK) {
        assert_null(items);
        assert_int_equal(n, 0);
    }
    if (n > 0)
        assert_non_null(items);
    assert_true(n <= cap);
}

static void on_chats(int status, const store_chat_summary *chats, size_t count, void *arg) {
    chats_rec *r = arg;
    list_seen(&r->fired, &r->status, &r->count, status, chats, count, ROWS_MAX);
    for (size_t i = 0; i < count; i++)
        summary_copy(&r->rows[i], &chats[i]);
}

static void on_msgs(int status, const store_message *msgs, size_t count, void *arg) {
    msgs_rec *r = arg;
    list_seen(&r->fired, &r->status, &r->count, status, msgs, count, MSGS_MAX);
    for (size_t i = 0; i < count; i++)
        msg_copy(&r->rows[i], &msgs[i]);
}

static void on_reports(int status, const store_report *reports, size_t count, void *arg) {
    reports_rec *r = arg;
    list_seen(&r->fired, &r->status, &r->count, status, reports, count, ROWS_MAX);
    for (size_t i = 0; i < count; i++) {
        const store_report *p = &reports[i];
        r->rows[i] = (report_rec){.id = p->id,
                                  .chat_id = p->chat_id,
                                  .reporter_id = p->reporter_id,
                                  .reported_id = p->reported_id,
                                  .created_at_ms = p->created_at_ms};
        sf_keep(r->rows[i].reason, sizeof r->rows[i].reason, p->reason);
        sf_keep(r->rows[i].detail, sizeof r->rows[i].detail, p->detail);
    }
}

static void on_partners(int status, const store_partner *users, size_t count, void *arg) {
    partners_rec *r = arg;
    list_seen(&r->fired, &r->status, &r->count, status, users, count, IDS_MAX);
    for (size_t i = 0; i < count; i++)
        partner_copy(&r->rows[i], &users[i]);
}

static void on_context(int status, const store_user_context *ctx, void *arg) {
    context_rec *r = arg;
    sf_assert_loop_thread();
    r->fired++;
    r->status = status;
    assert_true(status == STORE_OK ? ctx != NULL : ctx == NULL);
    if (!ctx)
        return;
    r->has_ctx = 1;
    r->has_active = ctx->active_chat != NULL;
    if (ctx->active_chat)
        summary_copy(&r->active, ctx->active_chat);
    r->previous_partner = ctx->previous_partner;
    r->banned_until_ms = ctx->banned_until_ms;
    r->blocked_count = ctx->blocked_count;
    assert_true(ctx->blocked_count <= IDS_MAX);
    if (ctx->blocked_count > 0)
        memcpy(r->blocked, ctx->blocked, ctx->blocked_count * sizeof *ctx->blocked);
}

static void on_user(int status, const store_user *u, void *arg) {
    user_rec *r = arg;
    r->fired++;
    r->status = status;
    if (!u)
        return;
    r->id = u->id;
    r->banned_until_ms = u->banned_until_ms;
    sf_keep(r->ban_reason, sizeof r->ban_reason, u->ban_reason);
}

static void on_chat(int status, const store_chat *chat, void *arg) {
    one_rec *r = arg;
    r->fired++;
    r->status = status;
    r->id = chat ? chat->id : 0;
}

static void on_message(int status, const store_message *m, void *arg) {
    one_rec *r = arg;
    r->fired++;
    r->status = status;
    r->id = m ? m->id : 0;
    r->seq = m ? m->seq : 0;
}

static void on_refresh(int status, const store_refresh_result *res, void *arg) {
    (void)res;
    sf_on_status(status, arg);
}

static void on_never_context(int status, const store_user_context *c, void *arg) {
    (void)c;
    sf_on_never(status, arg);
}

static void on_never_chats(int status, const store_chat_summary *c, size_t n, void *arg) {
    (void)c, (void)n;
    sf_on_never(status, arg);
}

static void on_never_msgs(int status, const store_message *m, size_t n, void *arg) {
    (void)m, (void)n;
    sf_on_never(status, arg);
}

static void on_never_reports(int status, const store_report *r, size_t n, void *arg) {
    (void)r, (void)n;
    sf_on_never(status, arg);
}

static void on_never_partners(int status, const store_partner *p, size_t n, void *arg) {
    (void)p, (void)n;
    sf_on_never(status, arg);
}

/* ---- one call, run to its callback ---- */

static int64_t new_user(sf_fixture *fx, store *s, const char *nickname) {
    static unsigned n;
    char email[64];
    snprintf(email, sizeof email, "user%u@example.com", ++n);
    user_rec r = {0};
    assert_int_equal(store_user_create(s, email, "$argon2id$hash", nickname, on_user, &r), 0);
    sf_run(fx);
    assert_int_equal(r.status, STORE_OK);
    return r.id;
}

static void set_profile(sf_fixture *fx, store *s, int64_t id, const char *job, const char *career) {
    struct store_profile_update u = {.set_job = 1, .set_career = 1, .job = job, .career = career};
    user_rec r = {0};
    assert_int_equal(store_user_update_profile(s, id, &u, on_user, &r), 0);
    sf_run(fx);
    assert_int_equal(r.status, STORE_OK);
}

static int64_t new_chat(sf_fixture *fx, store *s, const char *category, int64_t a, int64_t b) {
    one_rec r = {0};
    assert_int_equal(store_chat_create(s, category, a, b, on_chat, &r), 0);
    sf_run(fx);
    assert_int_equal(r.status, STORE_OK);
    return r.id;
}

static int64_t say(sf_fixture *fx, store *s, int64_t chat, int64_t sender, const char *text) {
    static unsigned n;
    char cmid[32];
    snprintf(cmid, sizeof cmid, "c-%u", ++n);
    one_rec r = {0};
    assert_int_equal(store_message_append(s, chat, sender, cmid, text, on_message, &r), 0);
    sf_run(fx);
    assert_int_equal(r.status, STORE_OK);
    return r.seq;
}

static context_rec *context(sf_fixture *fx, store *s, int64_t user) {
    context_rec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(store_user_context_load(s, user, on_context, r), 0);
    sf_run(fx);
    assert_int_equal(r->fired, 1);
    return r;
}

static chats_rec *for_user(sf_fixture *fx, store *s, int64_t user, int64_t before, size_t limit) {
    chats_rec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(store_chats_for_user(s, user, before, limit, on_chats, r), 0);
    sf_run(fx);
    assert_int_equal(r->fired, 1);
    return r;
}

static chats_rec *all_active(sf_fixture *fx, store *s) {
    chats_rec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(store_chats_active(s, on_chats, r), 0);
    sf_run(fx);
    assert_int_equal(r->fired, 1);
    return r;
}

static msgs_rec *after(sf_fixture *fx, store *s, int64_t chat, int64_t user, int64_t seq,
                       size_t limit) {
    msgs_rec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(store_messages_after(s, chat, user, seq, limit, on_msgs, r), 0);
    sf_run(fx);
    assert_int_equal(r->fired, 1);
    return r;
}

static reports_rec *reports(sf_fixture *fx, store *s, int64_t before, size_t limit) {
    reports_rec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(store_reports_list(s, before, limit, on_reports, r), 0);
    sf_run(fx);
    assert_int_equal(r->fired, 1);
    return r;
}

static partners_rec *blocks(sf_fixture *fx, store *s, int64_t blocker) {
    partners_rec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(store_blocks_list(s, blocker, on_partners, r), 0);
    sf_run(fx);
    assert_int_equal(r->fired, 1);
    return r;
}

static int end_chat(sf_fixture *fx, store *s, int64_t chat, int64_t by, const char *reason) {
    sf_status_rec r = {0};
    return sf_status_call(fx, store_chat_end(s, chat, by, reason, sf_on_status, &r), &r);
}

static int mark_read(sf_fixture *fx, store *s, int64_t chat, int64_t user, int64_t seq) {
    sf_status_rec r = {0};
    return sf_status_call(fx, store_chat_mark_read(s, chat, user, seq, sf_on_status, &r), &r);
}

static int report(sf_fixture *fx, store *s, int64_t chat, int64_t by, const char *reason,
                  const char *detail) {
    sf_status_rec r = {0};
    return sf_status_call(fx, store_report_create(s, chat, by, reason, detail, sf_on_status, &r),
                          &r);
}

static int block(sf_fixture *fx, store *s, int64_t blocker, int64_t blocked) {
    sf_status_rec r = {0};
    return sf_status_call(fx, store_block_put(s, blocker, blocked, sf_on_status, &r), &r);
}

static int unblock(sf_fixture *fx, store *s, int64_t blocker, int64_t blocked) {
    sf_status_rec r = {0};
    return sf_status_call(fx, store_block_delete(s, blocker, blocked, sf_on_status, &r), &r);
}

static int ban(sf_fixture *fx, store *s, int64_t user, int64_t until, const char *reason) {
    sf_status_rec r = {0};
    return sf_status_call(fx, store_user_ban(s, user, until, reason, sf_on_status, &r), &r);
}

static void issue(sf_fixture *fx, store *s, int64_t user, unsigned n) {
    char h[STORE_TOKEN_HASH_LEN + 1], fam[16];
    snprintf(fam, sizeof fam, "fam-%u", n);
    int64_t later = (int64_t)time(NULL) * 1000 + DAY_MS;
    sf_status_rec r = {0};
    assert_int_equal(
        sf_status_call(fx, store_refresh_issue(s, user, fam, sf_tok(h, n), later, sf_on_status, &r),
                       &r),
        STORE_OK);
}

static int rotate(sf_fixture *fx, store *s, unsigned old_n, unsigned new_n) {
    char o[STORE_TOKEN_HASH_LEN + 1], n[STORE_TOKEN_HASH_LEN + 1];
    sf_status_rec r = {0};
    return sf_status_call(fx,
                          store_refresh_rotate(s, sf_tok(o, old_n), sf_tok(n, new_n), TTL_MS,
                                               GRACE_MS, on_refresh, &r),
                          &r);
}

static int64_t now_ms(void) {
    return (int64_t)time(NULL) * 1000;
}

/* ---- schema ---- */

static void test_migration_adds_columns_and_tables(void **state) {
    sf_fixture *fx = *state;
    sf_close_store(fx, sf_open_store(fx));
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM schema_migrations "
                                      "WHERE version = 3 AND name = '003_chats.sql'"),
                     1);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM pragma_table_info('chats') "
                                      "WHERE name IN ('ended_by', 'read_seq_a', 'read_seq_b')"),
                     3);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
                                      "AND name IN ('reports', 'blocks')"),
                     2);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' "
                                      "AND name IN ('chats_active_a', 'chats_active_b', "
                                      "'chats_active', 'blocks_blocked')"),
                     4);
}

/* ---- context ---- */

static void test_context_unknown_and_fresh_user(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "alone");
    context_rec *r = context(fx, s, a + 10);
    assert_int_equal(r->status, STORE_ERR_NOT_FOUND);
    assert_int_equal(r->has_ctx, 0);
    free(r);
    r = context(fx, s, a);
    assert_int_equal(r->status, STORE_OK);
    assert_int_equal(r->has_active, 0);
    assert_int_equal(r->previous_partner, 0);
    assert_int_equal(r->blocked_count, 0);
    assert_int_equal(r->banned_until_ms, 0);
    free(r);
    sf_close_store(fx, s);
}

static void assert_active(const summary_rec *c, int64_t id, int64_t partner, const char *nick) {
    assert_int_equal(c->id, id);
    assert_int_equal(c->partner.id, partner);
    assert_string_equal(c->partner.nickname, nick);
    assert_int_equal(c->ended_at_ms, 0);
}

/* a ended a chat with b, then started one with c (a is user_a, c is user_b). */
static void test_context_active_chat_and_previous_partner(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "에이"), b = new_user(fx, s, "bee"), c = new_user(fx, s, "sea");
    set_profile(fx, s, c, "backend", "junior");
    int64_t old = new_chat(fx, s, "frontend", a, b);
    assert_int_equal(end_chat(fx, s, old, a, "left"), STORE_OK);
    int64_t cur = new_chat(fx, s, "backend", a, c);
    say(fx, s, cur, a, "hi");
    say(fx, s, cur, c, "hello there");
    assert_int_equal(mark_read(fx, s, cur, c, 2), STORE_OK);
    assert_int_equal(mark_read(fx, s, cur, a, 1), STORE_OK);
    context_rec *r = context(fx, s, a);
    assert_int_equal(r->status, STORE_OK);
    assert_int_equal(r->has_active, 1);
    assert_active(&r->active, cur, c, "sea");
    assert_int_equal(r->active.viewer_id, a);
    assert_string_equal(r->active.category, "backend");
    assert_string_equal(r->active.partner.job, "backend");
    assert_string_equal(r->active.partner.career, "junior");
    assert_int_equal(r->active.last_seq, 2);
    assert_int_equal(r->active.my_read_seq, 1);
    assert_int_equal(r->active.partner_read_seq, 2);
    assert_int_equal(r->active.has_last, 1);
    assert_string_equal(r->active.last.text, "hello there");
    assert_int_equal(r->active.last.sender_id, c);
    assert_int_equal(r->active.last.seq, 2);
    assert_int_equal(r->active.last.chat_id, cur);
    assert_int_equal(r->previous_partner, c); /* the most recent chat, active included */
    free(r);
    r = context(fx, s, c); /* the other side: user_b */
    assert_active(&r->active, cur, a, "에이");
    assert_int_equal(r->active.viewer_id, c);
    assert_int_equal(r->active.my_read_seq, 2);
    assert_int_equal(r->active.partner_read_seq, 1);
    assert_int_equal(r->previous_partner, a);
    free(r);
    r = context(fx, s, b); /* only an ended chat */
    assert_int_equal(r->has_active, 0);
    assert_int_equal(r->previous_partner, a);
    free(r);
    sf_close_store(fx, s);
}

static void test_context_blocks_and_ban(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "a"), b = new_user(fx, s, "b"), c = new_user(fx, s, "c");
    assert_int_equal(block(fx, s, a, c), STORE_OK);
    assert_int_equal(block(fx, s, a, b), STORE_OK);
    assert_int_equal(block(fx, s, b, a), STORE_OK); /* not a's list */
    int64_t until = now_ms() + 7 * DAY_MS;
    assert_int_equal(ban(fx, s, a, until, "spam"), STORE_OK);
    context_rec *r = context(fx, s, a);
    assert_int_equal(r->status, STORE_OK);
    assert_int_equal(r->blocked_count, 2);
    assert_int_equal(r->blocked[0], b); /* ascending */
    assert_int_equal(r->blocked[1], c);
    assert_int_equal(r->banned_until_ms, until);
    assert_int_equal(r->has_active, 0);
    free(r);
    assert_int_equal(ban(fx, s, c, 1000, "long ago"), STORE_OK); /* past: returned as stored */
    r = context(fx, s, c);
    assert_int_equal(r->banned_until_ms, 1000);
    assert_int_equal(r->blocked_count, 0);
    free(r);
    sf_close_store(fx, s);
}

/* ---- active chats, ending, read marks ---- */

static void test_chats_active_after_restart(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t u[6];
    for (int i = 0; i < 6; i++)
        u[i] = new_user(fx, s, "n");
    int64_t c1 = new_chat(fx, s, "backend", u[0], u[1]);
    int64_t c2 = new_chat(fx, s, "design", u[2], u[3]);
    int64_t c3 = new_chat(fx, s, "qa", u[4], u[5]);
    say(fx, s, c3, u[5], "last words");
    assert_int_equal(mark_read(fx, s, c3, u[4], 1), STORE_OK);
    assert_int_equal(end_chat(fx, s, c2, u[2], "left"), STORE_OK);
    sf_close_store(fx, s);
    s = sf_open_store(fx); /* a restart */
    chats_rec *r = all_active(fx, s);
    assert_int_equal(r->status, STORE_OK);
    assert_int_equal(r->count, 2);
    assert_int_equal(r->rows[0].id, c1); /* oldest first */
    assert_int_equal(r->rows[0].partner.id, u[1]);
    assert_int_equal(r->rows[0].has_last, 0);
    assert_int_equal(r->rows[1].id, c3);
    assert_int_equal(r->rows[1].partner.id, u[5]); /* user_a's side */
    assert_int_equal(r->rows[1].viewer_id, u[4]);
    assert_string_equal(r->rows[1].category, "qa");
    assert_int_equal(r->rows[1].my_read_seq, 1);
    assert_int_equal(r->rows[1].partner_read_seq, 0);
    assert_string_equal(r->rows[1].last.text, "last words");
    free(r);
    assert_int_equal(end_chat(fx, s, c1, 0, "server"), STORE_OK);
    assert_int_equal(end_chat(fx, s, c3, 0, "server"), STORE_OK);
    r = all_active(fx, s);
    assert_int_equal(r->status, STORE_OK);
    assert_int_equal(r->count, 0);
    free(r);
    sf_close_store(fx, s);
}

static void test_chat_end_once(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "a"), b = new_user(fx, s, "b");
    int64_t chat = new_chat(fx, s, "backend", a, b);
    int64_t before = now_ms() - 1000;
    assert_int_equal(end_chat(fx, s, chat, b, "partner_disconnected"), STORE_OK);
    assert_int_equal(end_chat(fx, s, chat, a, "left"), STORE_ERR_NOT_FOUND);
    assert_int_equal(end_chat(fx, s, chat + 1, a, "left"), STORE_ERR_NOT_FOUND);
    context_rec *ctx = context(fx, s, a);
    assert_int_equal(ctx->has_active, 0);
    free(ctx);
    chats_rec *r = for_user(fx, s, a, 0, 10);
    assert_int_equal(r->count, 1);
    assert_true(r->rows[0].ended_at_ms >= before);
    assert_true(r->rows[0].ended_at_ms >= r->rows[0].started_at_ms);
    free(r);
    int64_t other = new_chat(fx, s, "qa", a, b);
    assert_int_equal(end_chat(fx, s, other, 0, "server_shutdown"), STORE_OK);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM chats WHERE id = 1 AND ended_by = 2 "
                                      "AND end_reason = 'partner_disconnected'"),
                     1);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM chats WHERE id = 2 "
                                      "AND ended_by IS NULL AND end_reason = 'server_shutdown'"),
                     1);
}

static int64_t read_seqs(sf_fixture *fx, store *s, int64_t chat, int64_t user, int64_t *partner) {
    chats_rec *r = for_user(fx, s, user, chat + 1, 1);
    assert_int_equal(r->count, 1);
    assert_int_equal(r->rows[0].id, chat);
    int64_t mine = r->rows[0].my_read_seq;
    *partner = r->rows[0].partner_read_seq;
    free(r);
    return mine;
}

static void test_mark_read_keeps_maximum(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "a"), b = new_user(fx, s, "b"), x = new_user(fx, s, "x");
    int64_t chat = new_chat(fx, s, "backend", a, b);
    int64_t theirs = -1;
    assert_int_equal(mark_read(fx, s, chat, a, 5), STORE_OK); /* no message yet: stays 0 */
    assert_int_equal(read_seqs(fx, s, chat, a, &theirs), 0);
    for (int i = 0; i < 3; i++)
        say(fx, s, chat, b, "m");
    assert_int_equal(mark_read(fx, s, chat, a, 2), STORE_OK);
    assert_int_equal(read_seqs(fx, s, chat, a, &theirs), 2);
    assert_int_equal(theirs, 0);
    assert_int_equal(mark_read(fx, s, chat, a, 1), STORE_OK); /* lower: kept at 2 */
    assert_int_equal(read_seqs(fx, s, chat, a, &theirs), 2);
    assert_int_equal(mark_read(fx, s, chat, a, 99), STORE_OK); /* capped at last_seq */
    assert_int_equal(read_seqs(fx, s, chat, a, &theirs), 3);
    assert_int_equal(mark_read(fx, s, chat, b, 1), STORE_OK); /* the other side, independent */
    assert_int_equal(read_seqs(fx, s, chat, b, &theirs), 1);
    assert_int_equal(theirs, 3);
    assert_int_equal(mark_read(fx, s, chat, x, 1), STORE_ERR_NOT_FOUND);
    assert_int_equal(mark_read(fx, s, chat + 1, a, 1), STORE_ERR_NOT_FOUND);
    assert_int_equal(mark_read(fx, s, chat, a, 0), STORE_OK);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT read_seq_a * 10 + read_seq_b FROM chats"), 31);
}

/* ---- history ---- */

/* u is user_a of odd chats and user_b of even ones; others' chats are interleaved. */
static void test_chats_for_user_pages(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t u = new_user(fx, s, "me"), p = new_user(fx, s, "partner"), o = new_user(fx, s, "o");
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        ids[i] = i % 2 == 0 ? new_chat(fx, s, "backend", u, p) : new_chat(fx, s, "design", p, u);
        new_chat(fx, s, "qa", p, o); /* not u's */
        if (i < 4)
            assert_int_equal(end_chat(fx, s, ids[i], u, "left"), STORE_OK);
    }
    say(fx, s, ids[1], p, "from the partner");
    assert_int_equal(mark_read(fx, s, ids[1], u, 1), STORE_OK);
    chats_rec *r = for_user(fx, s, u, 0, 2);
    assert_int_equal(r->status, STORE_OK);
    assert_int_equal(r->count, 2);
    assert_int_equal(r->rows[0].id, ids[4]);
    assert_int_equal(r->rows[0].ended_at_ms, 0);
    assert_int_equal(r->rows[1].id, ids[3]);
    assert_int_equal(r->rows[1].partner.id, p);
    assert_string_equal(r->rows[1].partner.nickname, "partner");
    int64_t next = r->rows[1].id;
    free(r);
    r = for_user(fx, s, u, next, 2);
    assert_int_equal(r->count, 2);
    assert_int_equal(r->rows[0].id, ids[2]);
    assert_int_equal(r->rows[0].has_last, 0);
    assert_int_equal(r->rows[1].id, ids[1]);
    assert_string_equal(r->rows[1].category, "design");
    assert_int_equal(r->rows[1].partner.id, p); /* u is user_b here */
    assert_int_equal(r->rows[1].viewer_id, u);
    assert_int_equal(r->rows[0].viewer_id, u);
    assert_int_equal(r->rows[1].my_read_seq, 1);
    assert_int_equal(r->rows[1].has_last, 1);
    assert_string_equal(r->rows[1].last.text, "from the partner");
    assert_int_equal(r->rows[1].last.duplicate, 0);
    next = r->rows[1].id;
    free(r);
    r = for_user(fx, s, u, next, 2);
    assert_int_equal(r->count, 1);
    assert_int_equal(r->rows[0].id, ids[0]);
    free(r);
    r = for_user(fx, s, u, ids[0], 2);
    assert_int_equal(r->status, STORE_OK);
    assert_int_equal(r->count, 0);
    free(r);
    r = for_user(fx, s, o + 100, 0, 5); /* nobody's: empty */
    assert_int_equal(r->count, 0);
    free(r);
    sf_close_store(fx, s);
}

static void test_partner_deleted_renders_null(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "stays"), b = new_user(fx, s, "leaves");
    set_profile(fx, s, b, "qa", "senior");
    int64_t chat = new_chat(fx, s, "qa", a, b);
    say(fx, s, chat, b, "goodbye");
    assert_int_equal(end_chat(fx, s, chat, b, "left"), STORE_OK);
    assert_int_equal(sf_delete_user(fx, s, b), STORE_OK);
    chats_rec *r = for_user(fx, s, a, 0, 10);
    assert_int_equal(r->count, 1);
    assert_int_equal(r->rows[0].partner.id, b);
    assert_string_equal(r->rows[0].partner.nickname, SF_NUL_TEXT);
    assert_string_equal(r->rows[0].partner.job, SF_NUL_TEXT);
    assert_string_equal(r->rows[0].partner.career, SF_NUL_TEXT);
    assert_string_equal(r->rows[0].last.text, "goodbye");
    assert_int_equal(r->rows[0].last.sender_id, b);
    free(r);
    msgs_rec *m = after(fx, s, chat, a, 0, 10); /* history stays readable */
    assert_int_equal(m->count, 1);
    free(m);
    context_rec *ctx = context(fx, s, a);
    assert_int_equal(ctx->previous_partner, b);
    free(ctx);
    sf_close_store(fx, s);
}

static void test_messages_after(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "a"), b = new_user(fx, s, "b"), x = new_user(fx, s, "x");
    int64_t chat = new_chat(fx, s, "backend", a, b);
    const char *texts[] = {"one", "two", "three", "four", "five"};
    for (int i = 0; i < 5; i++)
        say(fx, s, chat, i % 2 ? b : a, texts[i]);
    msgs_rec *r = after(fx, s, chat, b, 0, 10);
    assert_int_equal(r->status, STORE_OK);
    assert_int_equal(r->count, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r->rows[i].seq, i + 1);
        assert_string_equal(r->rows[i].text, texts[i]);
        assert_int_equal(r->rows[i].chat_id, chat);
        assert_int_equal(r->rows[i].sender_id, i % 2 ? b : a);
        assert_true(r->rows[i].sent_at_ms > 1600000000000LL);
        assert_int_equal(strncmp(r->rows[i].client_msg_id, "c-", 2), 0);
    }
    free(r);
    r = after(fx, s, chat, a, 2, 2);
    assert_int_equal(r->count, 2);
    assert_int_equal(r->rows[0].seq, 3);
    assert_int_equal(r->rows[1].seq, 4);
    free(r);
    r = after(fx, s, chat, a, 5, 10);
    assert_int_equal(r->status, STORE_OK);
    assert_int_equal(r->count, 0);
    free(r);
    assert_int_equal(end_chat(fx, s, chat, a, "left"), STORE_OK);
    r = after(fx, s, chat, b, 4, 10); /* ended chats too */
    assert_int_equal(r->count, 1);
    free(r);
    r = after(fx, s, chat, x, 0, 10);
    assert_int_equal(r->status, STORE_ERR_NOT_FOUND);
    free(r);
    r = after(fx, s, chat + 1, a, 0, 10);
    assert_int_equal(r->status, STORE_ERR_NOT_FOUND);
    free(r);
    sf_close_store(fx, s);
}

/* Texts of STORE_TEXT_MAX bytes come back whole in pages and in summaries. */
static void test_long_texts(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "a"), b = new_user(fx, s, "b");
    int64_t chat = new_chat(fx, s, "backend", a, b);
    char *big = malloc(STORE_TEXT_MAX + 1);
    assert_non_null(big);
    for (int i = 0; i < 4; i++) {
        memset(big, 'a' + i, STORE_TEXT_MAX);
        big[STORE_TEXT_MAX - i] = '\0';
        say(fx, s, chat, a, big);
    }
    free(big);
    msgs_rec *r = after(fx, s, chat, a, 0, 10);
    assert_int_equal(r->count, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r->rows[i].text_len, STORE_TEXT_MAX - i);
        assert_int_equal(r->rows[i].text[0], 'a' + i);
    }
    free(r);
    chats_rec *c = for_user(fx, s, b, 0, 1);
    assert_int_equal(c->rows[0].last.text_len, STORE_TEXT_MAX - 3);
    free(c);
    sf_close_store(fx, s);
}

/* Limits are inclusive: a full page of STORE_PAGE_MAX chats and of STORE_PAGE_MAX * 10 messages. */
static void test_page_limits(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "a"), b = new_user(fx, s, "b");
    for (int i = 0; i <= STORE_PAGE_MAX; i++)
        assert_int_equal(store_chat_create(s, "qa", a, b, NULL, NULL), 0);
    for (int i = 0; i <= MSGS_MAX; i++) {
        char cmid[16];
        snprintf(cmid, sizeof cmid, "m%d", i);
        assert_int_equal(store_message_append(s, 1, b, cmid, "x", NULL, NULL), 0);
    }
    sf_run(fx);
    chats_rec *c = for_user(fx, s, a, 0, STORE_PAGE_MAX);
    assert_int_equal(c->count, STORE_PAGE_MAX);
    assert_int_equal(c->rows[0].id, STORE_PAGE_MAX + 1);
    int64_t next = c->rows[STORE_PAGE_MAX - 1].id;
    free(c);
    c = for_user(fx, s, a, next, STORE_PAGE_MAX);
    assert_int_equal(c->count, 1);
    assert_int_equal(c->rows[0].id, 1);
    assert_int_equal(c->rows[0].last_seq, MSGS_MAX + 1);
    free(c);
    msgs_rec *m = after(fx, s, 1, a, 0, MSGS_MAX);
    assert_int_equal(m->count, MSGS_MAX);
    assert_int_equal(m->rows[MSGS_MAX - 1].seq, MSGS_MAX);
    free(m);
    sf_close_store(fx, s);
}

/* List jobs and a failing one in one batch: each gets its own result. */
static void test_lists_in_one_batch(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "a"), b = new_user(fx, s, "b");
    int64_t chat = new_chat(fx, s, "backend", a, b);
    say(fx, s, chat, a, "hey");
    assert_int_equal(block(fx, s, a, b), STORE_OK);
    context_rec *ctx = calloc(1, sizeof *ctx);
    chats_rec *mine = calloc(1, sizeof *mine);
    msgs_rec *missing = calloc(1, sizeof *missing), *msgs = calloc(1, sizeof *msgs);
    partners_rec *blocked = calloc(1, sizeof *blocked);
    assert_true(ctx && mine && missing && msgs && blocked);
    assert_int_equal(store_user_context_load(s, a, on_context, ctx), 0);
    assert_int_equal(store_chats_for_user(s, b, 0, 5, on_chats, mine), 0);
    assert_int_equal(store_messages_after(s, chat + 9, a, 0, 5, on_msgs, missing), 0);
    assert_int_equal(store_messages_after(s, chat, b, 0, 5, on_msgs, msgs), 0);
    assert_int_equal(store_blocks_list(s, a, on_partners, blocked), 0);
    sf_run(fx);
    assert_int_equal(ctx->status, STORE_OK);
    assert_int_equal(ctx->active.last.seq, 1);
    assert_int_equal(ctx->blocked_count, 1);
    assert_int_equal(mine->rows[0].partner.id, a);
    assert_int_equal(missing->status, STORE_ERR_NOT_FOUND);
    assert_string_equal(msgs->rows[0].text, "hey");
    assert_int_equal(blocked->rows[0].id, b);
    free(ctx), free(mine), free(missing), free(msgs), free(blocked);
    sf_close_store(fx, s);
}

/* ---- reports ---- */

static void test_reports(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "a"), b = new_user(fx, s, "b"), x = new_user(fx, s, "x");
    int64_t chat = new_chat(fx, s, "backend", a, b);
    int64_t before = now_ms() - 1000;
    assert_int_equal(report(fx, s, chat, a, "spam", NULL), STORE_OK);
    assert_int_equal(report(fx, s, chat, b, "abuse", "said rude things"), STORE_OK);
    assert_int_equal(report(fx, s, chat, x, "other", NULL), STORE_ERR_NOT_FOUND);
    assert_int_equal(report(fx, s, chat + 1, a, "other", NULL), STORE_ERR_NOT_FOUND);
    assert_int_equal(end_chat(fx, s, chat, a, "reported"), STORE_OK);
    assert_int_equal(report(fx, s, chat, a, "scam", ""), STORE_OK); /* ended chats too */
    reports_rec *r = reports(fx, s, 0, 2);
    assert_int_equal(r->status, STORE_OK);
    assert_int_equal(r->count, 2);
    assert_string_equal(r->rows[0].reason, "scam");
    assert_string_equal(r->rows[0].detail, "");
    assert_int_equal(r->rows[0].reporter_id, a);
    assert_int_equal(r->rows[0].reported_id, b);
    assert_string_equal(r->rows[1].reason, "abuse");
    assert_string_equal(r->rows[1].detail, "said rude things");
    assert_int_equal(r->rows[1].reporter_id, b);
    assert_int_equal(r->rows[1].reported_id, a);
    assert_int_equal(r->rows[1].chat_id, chat);
    assert_true(r->rows[1].created_at_ms >= before);
    int64_t next = r->rows[1].id;
    free(r);
    r = reports(fx, s, next, 2);
    assert_int_equal(r->count, 1);
    assert_string_equal(r->rows[0].reason, "spam");
    assert_string_equal(r->rows[0].detail, SF_NUL_TEXT);
    free(r);
    assert_int_equal(sf_delete_user(fx, s, b), STORE_OK); /* reports keep the ids they name */
    r = reports(fx, s, 0, STORE_PAGE_MAX);
    assert_int_equal(r->count, 3);
    assert_int_equal(r->rows[0].reported_id, b);
    free(r);
    sf_close_store(fx, s);
}

/* ---- blocks ---- */

static void test_blocks(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "a"), b = new_user(fx, s, "bee"), c = new_user(fx, s, "sea");
    set_profile(fx, s, c, "design", "mid");
    assert_int_equal(block(fx, s, a, b), STORE_OK);
    assert_int_equal(block(fx, s, a, c), STORE_OK);
    assert_int_equal(block(fx, s, a, b), STORE_OK); /* idempotent */
    assert_int_equal(block(fx, s, a, c + 50), STORE_ERR_NOT_FOUND);
    assert_int_equal(block(fx, s, c + 60, a), STORE_ERR_NOT_FOUND); /* blocker gone */
    partners_rec *r = blocks(fx, s, a);
    assert_int_equal(r->status, STORE_OK);
    assert_int_equal(r->count, 2);
    assert_int_equal(r->rows[0].id, c); /* newest first */
    assert_string_equal(r->rows[0].nickname, "sea");
    assert_string_equal(r->rows[0].job, "design");
    assert_string_equal(r->rows[0].career, "mid");
    assert_int_equal(r->rows[1].id, b);
    assert_string_equal(r->rows[1].job, SF_NUL_TEXT);
    free(r);
    assert_int_equal(unblock(fx, s, a, b), STORE_OK);
    assert_int_equal(unblock(fx, s, a, b), STORE_OK); /* none: still OK */
    assert_int_equal(unblock(fx, s, a, c + 70), STORE_OK);
    r = blocks(fx, s, a);
    assert_int_equal(r->count, 1);
    assert_int_equal(r->rows[0].id, c);
    free(r);
    r = blocks(fx, s, c + 80);
    assert_int_equal(r->status, STORE_OK);
    assert_int_equal(r->count, 0);
    free(r);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM blocks"), 1);
}

/* A deleted account's blocks go, in both directions; others stay. */
static void test_user_delete_removes_blocks(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "a"), b = new_user(fx, s, "b"), c = new_user(fx, s, "c");
    assert_int_equal(block(fx, s, a, b), STORE_OK);
    assert_int_equal(block(fx, s, b, c), STORE_OK);
    assert_int_equal(block(fx, s, c, a), STORE_OK);
    assert_int_equal(sf_delete_user(fx, s, b), STORE_OK);
    partners_rec *r = blocks(fx, s, a);
    assert_int_equal(r->count, 0);
    free(r);
    context_rec *ctx = context(fx, s, c);
    assert_int_equal(ctx->blocked_count, 1);
    assert_int_equal(ctx->blocked[0], a);
    free(ctx);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM blocks"), 1);
}

/* ---- bans ---- */

/* A ban is recorded on the user; refresh tokens stay (the API answers BANNED on refresh). */
static void test_ban_keeps_tokens(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "a"), b = new_user(fx, s, "b");
    issue(fx, s, a, 1);
    issue(fx, s, a, 2);
    issue(fx, s, b, 3);
    int64_t until = now_ms() + 3 * DAY_MS;
    assert_int_equal(ban(fx, s, a, until, "abuse: repeated"), STORE_OK);
    assert_int_equal(rotate(fx, s, 1, 11), STORE_OK);
    assert_int_equal(rotate(fx, s, 3, 13), STORE_OK);
    user_rec u = {0};
    assert_int_equal(store_user_by_id(s, a, on_user, &u), 0);
    sf_run(fx);
    assert_int_equal(u.banned_until_ms, until);
    assert_string_equal(u.ban_reason, "abuse: repeated");
    assert_int_equal(ban(fx, s, a, until + DAY_MS, "again"), STORE_OK); /* replaces */
    context_rec *ctx = context(fx, s, a);
    assert_int_equal(ctx->banned_until_ms, until + DAY_MS);
    free(ctx);
    assert_int_equal(ban(fx, s, b + 10, until, "nobody"), STORE_ERR_NOT_FOUND);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT COUNT(*) FROM refresh_tokens "
                                      "WHERE user_id = 1 AND revoked_at IS NULL"),
                     3);
}

/* ---- arguments ---- */

static void expect_invalid_chat_calls(store *s) {
    char big[STORE_REPORT_DETAIL_MAX + 2];
    memset(big, 'r', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *reason_33 = big + sizeof big - 1 - (STORE_END_REASON_MAX + 1);
    assert_int_equal(store_user_context_load(s, 0, on_never_context, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_context_load(NULL, 1, on_never_context, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_chats_active(NULL, on_never_chats, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_chat_end(s, 0, 1, "left", sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_chat_end(s, 1, -1, "left", sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_chat_end(s, 1, 1, NULL, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_chat_end(s, 1, 1, "", sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_chat_end(s, 1, 1, reason_33, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_chat_mark_read(s, 0, 1, 1, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_chat_mark_read(s, 1, 0, 1, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_chat_mark_read(s, 1, 1, -1, sf_on_never, NULL), STORE_ERR_INVALID);
}

static void expect_invalid_lists(store *s) {
    assert_int_equal(store_chats_for_user(s, 0, 0, 1, on_never_chats, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_chats_for_user(s, 1, -1, 1, on_never_chats, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_chats_for_user(s, 1, 0, 0, on_never_chats, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_chats_for_user(s, 1, 0, STORE_PAGE_MAX + 1, on_never_chats, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_messages_after(s, 0, 1, 0, 1, on_never_msgs, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_messages_after(s, 1, 0, 0, 1, on_never_msgs, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_messages_after(s, 1, 1, -1, 1, on_never_msgs, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_messages_after(s, 1, 1, 0, 0, on_never_msgs, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_messages_after(s, 1, 1, 0, MSGS_MAX + 1, on_never_msgs, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_reports_list(s, -1, 1, on_never_reports, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_reports_list(s, 0, 0, on_never_reports, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_reports_list(s, 0, STORE_PAGE_MAX + 1, on_never_reports, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_blocks_list(s, 0, on_never_partners, NULL), STORE_ERR_INVALID);
}

static void expect_invalid_safety(store *s) {
    char big[STORE_REPORT_DETAIL_MAX + 2];
    memset(big, 'd', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *reason_33 = big + sizeof big - 1 - (STORE_END_REASON_MAX + 1);
    assert_int_equal(store_report_create(s, 0, 1, "spam", NULL, sf_on_never, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_report_create(s, 1, 0, "spam", NULL, sf_on_never, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_report_create(s, 1, 1, "", NULL, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_report_create(s, 1, 1, NULL, NULL, sf_on_never, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_report_create(s, 1, 1, reason_33, NULL, sf_on_never, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_report_create(s, 1, 1, "spam", big, sf_on_never, NULL),
                     STORE_ERR_INVALID);
    assert_int_equal(store_block_put(s, 0, 2, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_block_put(s, 2, 0, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_block_put(s, 2, 2, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_block_delete(s, 3, 3, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_block_delete(s, -1, 3, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_ban(s, 0, 1, "r", sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_ban(s, 1, 0, "r", sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_ban(s, 1, 1, "", sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_ban(s, 1, 1, NULL, sf_on_never, NULL), STORE_ERR_INVALID);
    assert_int_equal(store_user_ban(s, 1, 1, big, sf_on_never, NULL), STORE_ERR_INVALID);
}

static void test_invalid_arguments(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    uint64_t jobs = store_jobs(s);
    expect_invalid_chat_calls(s);
    expect_invalid_lists(s);
    expect_invalid_safety(s);
    sf_run(fx);
    assert_int_equal(store_jobs(s), jobs); /* nothing was queued */
    sf_close_store(fx, s);
}

/* The longest accepted strings are stored whole. */
static void test_string_limits_are_inclusive(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int64_t a = new_user(fx, s, "a"), b = new_user(fx, s, "b");
    int64_t chat = new_chat(fx, s, "qa", a, b);
    char detail[STORE_REPORT_DETAIL_MAX + 1], reason[STORE_END_REASON_MAX + 1];
    memset(detail, 'd', sizeof detail - 1);
    detail[sizeof detail - 1] = '\0';
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    assert_int_equal(report(fx, s, chat, a, reason, detail), STORE_OK);
    assert_int_equal(end_chat(fx, s, chat, a, reason), STORE_OK);
    assert_int_equal(ban(fx, s, b, INT64_MAX, detail), STORE_OK);
    sf_close_store(fx, s);
    assert_int_equal(sf_query_i64(fx, "SELECT length(detail) * 100 + length(reason) FROM reports"),
                     STORE_REPORT_DETAIL_MAX * 100 + STORE_END_REASON_MAX);
    assert_int_equal(sf_query_i64(fx, "SELECT length(end_reason) FROM chats"),
                     STORE_END_REASON_MAX);
    assert_int_equal(sf_query_i64(fx, "SELECT length(ban_reason) FROM users WHERE id = 2"),
                     STORE_REPORT_DETAIL_MAX);
}

static void test_calls_after_shutdown_are_closed(void **state) {
    sf_fixture *fx = *state;
    store *s = sf_open_store(fx);
    int done = 0;
    store_shutdown(s, sf_on_shutdown, &done);
    assert_int_equal(store_user_context_load(s, 1, on_never_context, NULL), STORE_ERR_CLOSED);
    assert_int_equal(store_chats_active(s, on_never_chats, NULL), STORE_ERR_CLOSED);
    assert_int_equal(store_chat_end(s, 1, 1, "left", sf_on_never, NULL), STORE_ERR_CLOSED);
    assert_int_equal(store_messages_after(s, 1, 1, 0, 1, on_never_msgs, NULL), STORE_ERR_CLOSED);
    assert_int_equal(store_reports_list(s, 0, 1, on_never_reports, NULL), STORE_ERR_CLOSED);
    assert_int_equal(store_blocks_list(s, 1, on_never_partners, NULL), STORE_ERR_CLOSED);
    assert_int_equal(store_user_ban(s, 1, 1, "r", sf_on_never, NULL), STORE_ERR_CLOSED);
    sf_run(fx);
    assert_int_equal(done, 1);
    store_free(s);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, sf_teardown)
    const struct CMUnitTest tests[] = {
        T(test_migration_adds_columns_and_tables),
        T(test_context_unknown_and_fresh_user),
        T(test_context_active_chat_and_previous_partner),
        T(test_context_blocks_and_ban),
        T(test_chats_active_after_restart),
        T(test_chat_end_once),
        T(test_mark_read_keeps_maximum),
        T(test_chats_for_user_pages),
        T(test_partner_deleted_renders_null),
        T(test_messages_after),
        T(test_long_texts),
        T(test_page_limits),
        T(test_lists_in_one_batch),
        T(test_reports),
        T(test_blocks),
        T(test_user_delete_removes_blocks),
        T(test_ban_keeps_tokens),
        T(test_invalid_arguments),
        T(test_string_limits_are_inclusive),
        T(test_calls_after_shutdown_are_closed),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
