/* store.c — the backend-independent half of the store: checks each call, queues it as a job, runs
 * the store thread that hands whole batches to the backend (group commit), and brings results back
 * to the loop thread through a uv_async_t.
 *
 * Owns: the job queue (mutex + condition), the store thread, the async handle, every job's memory.
 * Must not: run backend code on the loop thread after store_open, fire a callback off the loop
 * thread, or fire the callback of a call that returned an error.
 */
#include "store/store.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_backend.h"
#include "util/log.h"
#include "util/thread.h"

struct store {
    uv_loop_t *loop;
    uv_async_t async;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    const store_backend_ops *ops;
    void *ctx;
    /* Shared with the store thread, under mu. */
    store_job *pending_head, *pending_tail;
    store_job *done_head, *done_tail;
    int stopping;      /* no more jobs will come: the thread exits once pending is empty */
    int thread_exited; /* the thread has closed the backend and sent its last wake-up */
    /* Loop thread only. */
    size_t in_flight; /* submitted, callback not yet fired */
    int closing;
    int overflow_logged;
    store_status_cb shutdown_cb;
    void *shutdown_arg;
    /* Written by the store thread, read from anywhere. */
    _Atomic uint64_t commits;
    _Atomic uint64_t jobs;
    _Atomic uint64_t unfolded; /* the backend's, as of its last batch or background step */
    uint64_t migrations_applied;
};

int64_t store_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- result memory (store thread, while the backend runs the job) ---- */

#define STORE_CHUNK_SIZE 16384 /* bytes of a result chunk; a larger request gets its own */

struct store_chunk {
    store_chunk *next;
    size_t used, cap;
    max_align_t data[]; /* cap bytes */
};

/* Requests of half a chunk or more get a chunk of their own, linked behind the current one so
 * that its free space stays in use. */
void *store_job_alloc(store_job *job, size_t n) {
    const size_t align = alignof(max_align_t);
    if (n > SIZE_MAX / 2)
        return NULL;
    n = n ? (n + align - 1) / align * align : align;
    store_chunk *head = job->chunks;
    if (head && head->cap - head->used >= n) {
        void *p = (char *)head->data + head->used;
        head->used += n;
        return p;
    }
    int own = n >= STORE_CHUNK_SIZE / 2;
    store_chunk *c = malloc(sizeof *c + (own ? n : STORE_CHUNK_SIZE));
    if (!c)
        return NULL;
    c->used = n;
    c->cap = own ? n : STORE_CHUNK_SIZE;
    if (own && head) {
        c->next = head->next;
        head->next = c;
    } else {
        c->next = head;
        job->chunks = c;
    }
    return c->data;
}

void *store_list_push(store_job *job, size_t size) {
    store_list *l = &job->list;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *items = cap <= SIZE_MAX / size ? realloc(l->items, cap * size) : NULL;
        if (!items)
            return NULL;
        l->items = items;
        l->cap = cap;
    }
    void *item = (char *)l->items + l->count++ * size;
    memset(item, 0, size);
    return item;
}

static void store_set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- store thread ---- */

/* Detaches up to STORE_BATCH_MAX jobs from the head of the pending list. Called under mu. */
static store_job *store_take_batch(store *s, size_t *count) {
    store_job *head = s->pending_head, *last = head;
    size_t n = 1;
    while (last->next && n < STORE_BATCH_MAX) {
        last = last->next;
        n++;
    }
    s->pending_head = last->next;
    if (!s->pending_head)
        s->pending_tail = NULL;
    last->next = NULL;
    *count = n;
    return head;
}

static void store_run_batch(store *s, store_job *batch) {
    if (s->ops->run_batch(s->ctx, batch) == 0) {
        atomic_fetch_add(&s->commits, 1);
    } else {
        for (store_job *job = batch; job; job = job->next) {
            job->status = STORE_ERR_UNAVAILABLE;
            job->has_row = 0; /* rolled back: the row was never committed */
        }
    }
}

/* Appends a finished list of jobs to the done list and wakes the loop. */
static void store_hand_back(store *s, store_job *batch) {
    store_job *last = batch;
    while (last->next)
        last = last->next;
    uv_mutex_lock(&s->mu);
    if (s->done_tail)
        s->done_tail->next = batch;
    else
        s->done_head = batch;
    s->done_tail = last;
    uv_mutex_unlock(&s->mu);
    uv_async_send(&s->async);
}

/* Whether a job's answer depends on the messages stored so far (a chat's history, summaries,
 * a user's context), or an append may depend on it (a chat's creation): an append queued after
 * such a job must not run before it. */
static int store_job_orders_appends(const store_job *job) {
    switch (job->kind) {
        case STORE_JOB_CHAT_CREATE:
        case STORE_JOB_MESSAGES_AFTER:
        case STORE_JOB_CHATS_FOR_USER:
        case STORE_JOB_CHATS_ACTIVE:
        case STORE_JOB_USER_CONTEXT_LOAD:
            return 1;
        default:
            return 0;
    }
}

int store_jobs_read_only(const store_job *jobs) {
    for (const store_job *job = jobs; job; job = job->next) {
        switch (job->kind) {
            case STORE_JOB_PING:
            case STORE_JOB_USER_BY_EMAIL:
            case STORE_JOB_USER_BY_ID:
            case STORE_JOB_USER_CONTEXT_LOAD:
            case STORE_JOB_CHATS_ACTIVE:
            case STORE_JOB_CHATS_FOR_USER:
            case STORE_JOB_MESSAGES_AFTER:
            case STORE_JOB_REPORTS_LIST:
            case STORE_JOB_BLOCKS_LIST:
                break;
            default:
                return 0;
        }
    }
    return 1;
}

/* Takes from batch its longest head in which no append follows a job that orders appends, and
 * runs it: the head's appends first, handed back as soon as they are durable, then the rest in
 * one transaction — an ack waits for nothing else, and a job that reads messages still sees the
 * appends queued before it and none queued after. (A read mark may be clamped to a seq appended
 * after it: rt/ only sends marks up to a seq it has acked, so the clamp never lowers one.)
 * Returns the jobs not taken. */
static store_job *store_run_head(store *s, store_job *batch) {
    store_job *appends = NULL, *rest = NULL, **a = &appends, **r = &rest, *job = batch, *next;
    int ordered = 0;
    for (; job; job = next) {
        next = job->next;
        if (job->kind == STORE_JOB_MESSAGE_APPEND) {
            if (ordered)
                break;
            *a = job;
            a = &job->next;
        } else {
            ordered |= store_job_orders_appends(job);
            *r = job;
            r = &job->next;
        }
    }
    *a = NULL;
    *r = NULL;
    if (appends) {
        s->ops->append_batch(s->ctx, appends);
        atomic_fetch_add(&s->commits, 1);
        store_hand_back(s, appends);
    }
    if (rest) {
        store_run_batch(s, rest);
        store_hand_back(s, rest);
    }
    return job;
}

/* Runs a batch head by head. (An append queued after its chat's end cannot be in the batch: rt/
 * refuses a send to a chat it has ended.) */
static void store_run_jobs(store *s, store_job *batch, size_t count) {
    while (batch)
        batch = store_run_head(s, batch);
    atomic_fetch_add(&s->jobs, count);
}

/* Waits under mu for a job, for stopping, or until the backend's next step is due (wait_ms: 0
 * due now, -1 nothing due). Returns the wait still left: 0 when it is due. */
static int store_wait(store *s, int wait_ms) {
    while (!s->pending_head && !s->stopping && wait_ms != 0) {
        if (wait_ms < 0)
            uv_cond_wait(&s->cond, &s->mu);
        else if (uv_cond_timedwait(&s->cond, &s->mu, (uint64_t)wait_ms * 1000000) == UV_ETIMEDOUT)
            wait_ms = 0;
    }
    return wait_ms;
}

static void store_thread_main(void *arg) {
    thread_set_name("convo-store");
    store *s = arg;
    int wait_ms = -1;
    for (;;) {
        size_t count = 0;
        uv_mutex_lock(&s->mu);
        wait_ms = store_wait(s, wait_ms);
        store_job *batch = s->pending_head ? store_take_batch(s, &count) : NULL;
        int stop = !batch && s->stopping;
        uv_mutex_unlock(&s->mu);
        if (stop)
            break;
        if (batch)
            store_run_jobs(s, batch, count);
        wait_ms = s->ops->background ? s->ops->background(s->ctx) : -1;
        if (s->ops->unfolded)
            atomic_store(&s->unfolded, s->ops->unfolded(s->ctx));
    }
    s->ops->close(s->ctx);
    s->ctx = NULL;
    uv_mutex_lock(&s->mu);
    s->thread_exited = 1;
    uv_mutex_unlock(&s->mu);
    uv_async_send(&s->async);
}

/* ---- loop thread: completions and shutdown ---- */

/* The async handle keeps the loop alive only while there is something to wait for. */
static void store_update_ref(store *s) {
    if (s->closing || s->in_flight > 0)
        uv_ref((uv_handle_t *)&s->async);
    else
        uv_unref((uv_handle_t *)&s->async);
}

/* The account or rotate result handed to the callback, or NULL: given with STORE_OK, with
 * STORE_ERR_CONFLICT from a create (the existing account) and with STORE_ERR_REFRESH_REUSED (the
 * revoked family and its owner); never for a batch that did not commit. */
static const void *store_account_row(const store_job *job) {
    int given = job->status == STORE_OK ||
                (job->status == STORE_ERR_CONFLICT && job->kind == STORE_JOB_USER_CREATE) ||
                (job->status == STORE_ERR_REFRESH_REUSED && job->kind == STORE_JOB_REFRESH_ROTATE);
    return job->has_row && given ? &job->row : NULL;
}

/* A list call's callback: the items and their count with STORE_OK, NULL and 0 otherwise. */
static void store_deliver_list(store_job *job) {
    int ok = job->status == STORE_OK;
    const void *items = ok ? job->list.items : NULL;
    size_t count = ok ? job->list.count : 0;
    switch (job->kind) {
        case STORE_JOB_CHATS_ACTIVE:
        case STORE_JOB_CHATS_FOR_USER:
            if (job->cb.chat_list)
                job->cb.chat_list(job->status, items, count, job->arg);
            break;
        case STORE_JOB_MESSAGES_AFTER:
            if (job->cb.message_list)
                job->cb.message_list(job->status, items, count, job->arg);
            break;
        case STORE_JOB_REPORTS_LIST:
            if (job->cb.report_list)
                job->cb.report_list(job->status, items, count, job->arg);
            break;
        case STORE_JOB_BLOCKS_LIST:
            if (job->cb.partner_list)
                job->cb.partner_list(job->status, items, count, job->arg);
            break;
        default:
            break;
    }
}

static void store_deliver(store_job *job) {
    int ok = job->status == STORE_OK;
    switch (job->kind) {
        case STORE_JOB_CHAT_CREATE:
            if (job->cb.chat)
                job->cb.chat(job->status, ok ? &job->row.chat : NULL, job->arg);
            break;
        case STORE_JOB_MESSAGE_APPEND:
            if (job->cb.message)
                job->cb.message(job->status, ok ? &job->row.message : NULL, job->arg);
            break;
        case STORE_JOB_USER_CREATE:
        case STORE_JOB_USER_BY_EMAIL:
        case STORE_JOB_USER_BY_ID:
        case STORE_JOB_USER_UPDATE_PROFILE:
            if (job->cb.user)
                job->cb.user(job->status, store_account_row(job), job->arg);
            break;
        case STORE_JOB_REFRESH_ROTATE:
            if (job->cb.refresh)
                job->cb.refresh(job->status, store_account_row(job), job->arg);
            break;
        case STORE_JOB_USER_CONTEXT_LOAD:
            if (job->cb.context)
                job->cb.context(job->status, ok ? &job->row.context : NULL, job->arg);
            break;
        case STORE_JOB_CHATS_ACTIVE:
        case STORE_JOB_CHATS_FOR_USER:
        case STORE_JOB_MESSAGES_AFTER:
        case STORE_JOB_REPORTS_LIST:
        case STORE_JOB_BLOCKS_LIST:
            store_deliver_list(job);
            break;
        case STORE_JOB_PING:
        case STORE_JOB_USER_SET_PASSWORD:
        case STORE_JOB_USER_DELETE:
        case STORE_JOB_REFRESH_ISSUE:
        case STORE_JOB_REFRESH_REVOKE_FAMILY:
        case STORE_JOB_REFRESH_REVOKE_USER:
        case STORE_JOB_CHAT_END:
        case STORE_JOB_CHAT_MARK_READ:
        case STORE_JOB_REPORT_CREATE:
        case STORE_JOB_BLOCK_PUT:
        case STORE_JOB_BLOCK_DELETE:
        case STORE_JOB_USER_BAN:
            if (job->cb.status)
                job->cb.status(job->status, job->arg);
            break;
    }
}

static void store_job_free(store_job *job) {
    while (job->chunks) {
        store_chunk *next = job->chunks->next;
        free(job->chunks);
        job->chunks = next;
    }
    free(job->list.items);
    free(job->owned);
    free(job);
}

static void store_on_closed(uv_handle_t *handle) {
    store *s = handle->data;
    if (s->shutdown_cb)
        s->shutdown_cb(STORE_OK, s->shutdown_arg);
}

static void store_on_async(uv_async_t *handle) {
    store *s = handle->data;
    uv_mutex_lock(&s->mu);
    store_job *job = s->done_head;
    s->done_head = s->done_tail = NULL;
    int exited = s->thread_exited;
    uv_mutex_unlock(&s->mu);
    while (job) {
        store_job *next = job->next;
        store_deliver(job);
        store_job_free(job);
        s->in_flight--;
        job = next;
    }
    if (s->in_flight == 0)
        s->overflow_logged = 0;
    store_update_ref(s);
    if (exited && !uv_is_closing((uv_handle_t *)&s->async)) {
        uv_thread_join(&s->thread); /* the thread has finished: this does not block */
        uv_close((uv_handle_t *)&s->async, store_on_closed);
    }
}

void store_shutdown(store *s, store_status_cb done, void *arg) {
    if (!s || s->closing)
        return;
    s->closing = 1;
    s->shutdown_cb = done;
    s->shutdown_arg = arg;
    store_update_ref(s);
    uv_mutex_lock(&s->mu);
    s->stopping = 1;
    uv_cond_signal(&s->cond);
    uv_mutex_unlock(&s->mu);
}

void store_free(store *s) {
    if (!s)
        return;
    uv_cond_destroy(&s->cond);
    uv_mutex_destroy(&s->mu);
    free(s);
}

/* ---- loop thread: submitting jobs ---- */

/* Whether a new job may be queued now: 0, or the status the call returns. */
static int store_admit(store *s) {
    if (!s)
        return STORE_ERR_INVALID;
    if (s->closing)
        return STORE_ERR_CLOSED;
    if (s->in_flight >= STORE_QUEUE_MAX) {
        if (!s->overflow_logged)
            log_warn("store queue full", "limit", "STORE_QUEUE_MAX");
        s->overflow_logged = 1;
        return STORE_ERR_UNAVAILABLE;
    }
    return 0;
}

/* A zeroed job with `extra` bytes after it for copied input strings. */
static store_job *store_job_new(enum store_job_kind kind, void *arg, size_t extra) {
    store_job *job = calloc(1, sizeof *job + extra);
    if (job) {
        job->kind = kind;
        job->arg = arg;
    }
    return job;
}

/* Copies n bytes of src (plus a NUL) to *tail and advances it; returns the copy. */
static const char *store_job_copy(char **tail, const char *src, size_t n) {
    char *dst = *tail;
    memcpy(dst, src, n);
    dst[n] = '\0';
    *tail = dst + n + 1;
    return dst;
}

static int store_submit(store *s, store_job *job) {
    job->next = NULL;
    uv_mutex_lock(&s->mu);
    if (s->pending_tail)
        s->pending_tail->next = job;
    else
        s->pending_head = job;
    s->pending_tail = job;
    uv_cond_signal(&s->cond);
    uv_mutex_unlock(&s->mu);
    s->in_flight++;
    store_update_ref(s);
    return 0;
}

int store_ping(store *s, store_status_cb cb, void *arg) {
    int rc = store_admit(s);
    if (rc)
        return rc;
    store_job *job = store_job_new(STORE_JOB_PING, arg, 0);
    if (!job)
        return STORE_ERR_NOMEM;
    job->cb.status = cb;
    return store_submit(s, job);
}

int store_chat_create(store *s, const char *category, int64_t user_a, int64_t user_b,
                      store_chat_cb cb, void *arg) {
    int rc = store_admit(s);
    if (rc)
        return rc;
    size_t len = category ? strlen(category) : 0;
    if (len == 0 || len > STORE_CATEGORY_MAX || user_a == user_b)
        return STORE_ERR_INVALID;
    store_job *job = store_job_new(STORE_JOB_CHAT_CREATE, arg, len + 1);
    if (!job)
        return STORE_ERR_NOMEM;
    char *tail = (char *)(job + 1);
    job->cb.chat = cb;
    job->row.chat.category = store_job_copy(&tail, category, len);
    job->row.chat.user_a = user_a;
    job->row.chat.user_b = user_b;
    return store_submit(s, job);
}

int store_message_append(store *s, int64_t chat_id, int64_t sender_id, const char *client_msg_id,
                         const char *text, store_message_cb cb, void *arg) {
    int rc = store_admit(s);
    if (rc)
        return rc;
    size_t id_len = client_msg_id ? strlen(client_msg_id) : 0;
    size_t text_len = text ? strlen(text) : 0;
    if (id_len == 0 || id_len > STORE_CLIENT_MSG_ID_MAX || text_len == 0 ||
        text_len > STORE_TEXT_MAX)
        return STORE_ERR_INVALID;
    store_job *job = store_job_new(STORE_JOB_MESSAGE_APPEND, arg, id_len + text_len + 2);
    if (!job)
        return STORE_ERR_NOMEM;
    char *tail = (char *)(job + 1);
    job->cb.message = cb;
    job->row.message.chat_id = chat_id;
    job->row.message.sender_id = sender_id;
    job->row.message.client_msg_id = store_job_copy(&tail, client_msg_id, id_len);
    job->row.message.text = store_job_copy(&tail, text, text_len);
    return store_submit(s, job);
}

/* ---- loop thread: accounts and refresh tokens ---- */

/* Length of a string argument that must be 1..max bytes; 0 when it is NULL, empty or longer. */
static size_t store_arg_len(const char *str, size_t max) {
    size_t n = str ? strnlen(str, max + 1) : 0;
    return n <= max ? n : 0;
}

/* Checks an optional string argument (NULL, or 1..max bytes); adds its copy's size to *extra. */
static int store_opt_arg(const char *str, size_t max, size_t *extra) {
    if (!str)
        return 1;
    size_t n = store_arg_len(str, max);
    *extra += n + 1;
    return n > 0;
}

/* A refresh token hash: exactly STORE_TOKEN_HASH_LEN lowercase hex digits. */
static int store_token_hash_ok(const char *h) {
    if (!h)
        return 0;
    for (size_t i = 0; i < STORE_TOKEN_HASH_LEN; i++) {
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return 0;
    }
    return h[STORE_TOKEN_HASH_LEN] == '\0';
}

/* Copies an optional string (NULL stays NULL) whose length was checked already. */
static const char *store_job_copy_opt(char **tail, const char *src) {
    return src ? store_job_copy(tail, src, strlen(src)) : NULL;
}

/* Copies n bytes of an email with ASCII A-Z folded to a-z; other bytes (UTF-8) are unchanged. */
static const char *store_job_copy_folded(char **tail, const char *src, size_t n) {
    char *dst = *tail;
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] - 'A' + 'a') : src[i];
    dst[n] = '\0';
    *tail = dst + n + 1;
    return dst;
}

/* Admits a call whose arguments were checked and allocates its job; 0 or the call's error. */
static int store_job_begin(store *s, enum store_job_kind kind, void *arg, size_t extra,
                           store_job **out) {
    int rc = store_admit(s);
    if (rc)
        return rc;
    *out = store_job_new(kind, arg, extra);
    return *out ? 0 : STORE_ERR_NOMEM;
}

/* A job that names a user by id only. */
static int store_job_user_id(store *s, enum store_job_kind kind, int64_t id, void *arg,
                             store_job **out) {
    if (id <= 0)
        return STORE_ERR_INVALID;
    int rc = store_job_begin(s, kind, arg, 0, out);
    if (rc == 0)
        (*out)->acct.id = id;
    return rc;
}

int store_user_create(store *s, const char *email, const char *password_hash, const char *nickname,
                      store_user_cb cb, void *arg) {
    size_t el = store_arg_len(email, STORE_EMAIL_MAX);
    size_t hl = store_arg_len(password_hash, STORE_HASH_MAX);
    size_t nl = store_arg_len(nickname, STORE_NICKNAME_MAX);
    if (el == 0 || hl == 0 || nl == 0)
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_USER_CREATE, arg, 2 * el + hl + nl + 4, &job);
    if (rc)
        return rc;
    char *tail = (char *)(job + 1);
    job->cb.user = cb;
    job->acct.email = store_job_copy(&tail, email, el);
    job->acct.email_lower = store_job_copy_folded(&tail, email, el);
    job->acct.password_hash = store_job_copy(&tail, password_hash, hl);
    job->acct.nickname = store_job_copy(&tail, nickname, nl);
    return store_submit(s, job);
}

int store_user_by_email(store *s, const char *email, store_user_cb cb, void *arg) {
    size_t el = store_arg_len(email, STORE_EMAIL_MAX);
    if (el == 0)
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_USER_BY_EMAIL, arg, el + 1, &job);
    if (rc)
        return rc;
    char *tail = (char *)(job + 1);
    job->cb.user = cb;
    job->acct.email_lower = store_job_copy_folded(&tail, email, el);
    return store_submit(s, job);
}

int store_user_by_id(store *s, int64_t id, store_user_cb cb, void *arg) {
    store_job *job = NULL;
    int rc = store_job_user_id(s, STORE_JOB_USER_BY_ID, id, arg, &job);
    if (rc)
        return rc;
    job->cb.user = cb;
    return store_submit(s, job);
}

/* Checks a profile value to write when its set_* is 1: NULL (clear) or 0..max bytes (an empty
 * string is a value the API may accept, e.g. a blank bio); adds its copy's size to *extra. */
static int store_profile_value(int set, const char *str, size_t max, size_t *extra) {
    size_t n = set && str ? strnlen(str, max + 1) : 0;
    *extra += set && str ? n + 1 : 0;
    return n <= max;
}

/* Checks a profile update (job and career are short ids: STORE_CATEGORY_MAX bytes) and sums the
 * bytes its strings need. Fields whose set_* is 0 are ignored. */
static int store_profile_ok(const struct store_profile_update *u, size_t *extra) {
    return store_opt_arg(u->nickname, STORE_NICKNAME_MAX, extra) &&
           store_profile_value(u->set_job, u->job, STORE_CATEGORY_MAX, extra) &&
           store_profile_value(u->set_career, u->career, STORE_CATEGORY_MAX, extra) &&
           store_profile_value(u->set_bio, u->bio, STORE_BIO_MAX, extra);
}

static void store_profile_copy(struct store_profile_update *dst,
                               const struct store_profile_update *u, char **tail) {
    dst->nickname = store_job_copy_opt(tail, u->nickname);
    dst->set_job = u->set_job != 0;
    dst->set_career = u->set_career != 0;
    dst->set_bio = u->set_bio != 0;
    dst->job = dst->set_job ? store_job_copy_opt(tail, u->job) : NULL;
    dst->career = dst->set_career ? store_job_copy_opt(tail, u->career) : NULL;
    dst->bio = dst->set_bio ? store_job_copy_opt(tail, u->bio) : NULL;
}

int store_user_update_profile(store *s, int64_t id, const struct store_profile_update *u,
                              store_user_cb cb, void *arg) {
    size_t extra = 0;
    if (id <= 0 || !u || !store_profile_ok(u, &extra))
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_USER_UPDATE_PROFILE, arg, extra, &job);
    if (rc)
        return rc;
    char *tail = (char *)(job + 1);
    job->cb.user = cb;
    job->acct.id = id;
    store_profile_copy(&job->acct.profile, u, &tail);
    return store_submit(s, job);
}

int store_user_set_password(store *s, int64_t id, const char *password_hash,
                            const char *keep_family, store_status_cb cb, void *arg) {
    size_t extra = store_arg_len(password_hash, STORE_HASH_MAX) + 1;
    if (id <= 0 || extra == 1 || !store_opt_arg(keep_family, STORE_FAMILY_MAX, &extra))
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_USER_SET_PASSWORD, arg, extra, &job);
    if (rc)
        return rc;
    char *tail = (char *)(job + 1);
    job->cb.status = cb;
    job->acct.id = id;
    job->acct.password_hash = store_job_copy_opt(&tail, password_hash);
    job->acct.family = store_job_copy_opt(&tail, keep_family);
    return store_submit(s, job);
}

int store_user_delete(store *s, int64_t id, store_status_cb cb, void *arg) {
    store_job *job = NULL;
    int rc = store_job_user_id(s, STORE_JOB_USER_DELETE, id, arg, &job);
    if (rc)
        return rc;
    job->cb.status = cb;
    return store_submit(s, job);
}

int store_refresh_issue(store *s, int64_t user_id, const char *family, const char *token_hash,
                        int64_t expires_at_ms, store_status_cb cb, void *arg) {
    size_t fl = store_arg_len(family, STORE_FAMILY_MAX);
    if (user_id <= 0 || fl == 0 || !store_token_hash_ok(token_hash))
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_REFRESH_ISSUE, arg, fl + STORE_TOKEN_HASH_LEN + 2, &job);
    if (rc)
        return rc;
    char *tail = (char *)(job + 1);
    job->cb.status = cb;
    job->acct.id = user_id;
    job->acct.family = store_job_copy(&tail, family, fl);
    job->acct.token_hash = store_job_copy(&tail, token_hash, STORE_TOKEN_HASH_LEN);
    job->acct.expires_at_ms = expires_at_ms;
    return store_submit(s, job);
}

int store_refresh_rotate(store *s, const char *old_hash, const char *new_hash, int64_t ttl_ms,
                         int64_t grace_ms, store_refresh_cb cb, void *arg) {
    if (!store_token_hash_ok(old_hash) || !store_token_hash_ok(new_hash) ||
        strcmp(old_hash, new_hash) == 0 || ttl_ms <= 0 || grace_ms < 0)
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_REFRESH_ROTATE, arg, 2 * STORE_TOKEN_HASH_LEN + 2, &job);
    if (rc)
        return rc;
    char *tail = (char *)(job + 1);
    job->cb.refresh = cb;
    job->acct.token_hash = store_job_copy(&tail, old_hash, STORE_TOKEN_HASH_LEN);
    job->acct.new_hash = store_job_copy(&tail, new_hash, STORE_TOKEN_HASH_LEN);
    job->acct.ttl_ms = ttl_ms;
    job->acct.grace_ms = grace_ms;
    return store_submit(s, job);
}

int store_refresh_revoke_family(store *s, const char *token_hash, store_status_cb cb, void *arg) {
    if (!store_token_hash_ok(token_hash))
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc =
        store_job_begin(s, STORE_JOB_REFRESH_REVOKE_FAMILY, arg, STORE_TOKEN_HASH_LEN + 1, &job);
    if (rc)
        return rc;
    char *tail = (char *)(job + 1);
    job->cb.status = cb;
    job->acct.token_hash = store_job_copy(&tail, token_hash, STORE_TOKEN_HASH_LEN);
    return store_submit(s, job);
}

int store_refresh_revoke_user(store *s, int64_t user_id, store_status_cb cb, void *arg) {
    store_job *job = NULL;
    int rc = store_job_user_id(s, STORE_JOB_REFRESH_REVOKE_USER, user_id, arg, &job);
    if (rc)
        return rc;
    job->cb.status = cb;
    return store_submit(s, job);
}

/* ---- loop thread: chats, history, safety ---- */

/* A list page's id bound: before_id (> 0), or INT64_MAX for 0 ("from the newest"). */
static int64_t store_page_bound(int64_t before_id) {
    return before_id == 0 ? INT64_MAX : before_id;
}

int store_user_context_load(store *s, int64_t user_id, store_context_cb cb, void *arg) {
    store_job *job = NULL;
    int rc = user_id > 0 ? store_job_begin(s, STORE_JOB_USER_CONTEXT_LOAD, arg, 0, &job)
                         : STORE_ERR_INVALID;
    if (rc)
        return rc;
    job->cb.context = cb;
    job->chat.user_id = user_id;
    return store_submit(s, job);
}

int store_chats_active(store *s, store_chat_list_cb cb, void *arg) {
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_CHATS_ACTIVE, arg, 0, &job);
    if (rc)
        return rc;
    job->cb.chat_list = cb;
    return store_submit(s, job);
}

int store_chat_end(store *s, int64_t chat_id, int64_t ended_by, const char *reason,
                   store_status_cb cb, void *arg) {
    size_t rl = store_arg_len(reason, STORE_END_REASON_MAX);
    if (chat_id <= 0 || ended_by < 0 || rl == 0)
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_CHAT_END, arg, rl + 1, &job);
    if (rc)
        return rc;
    char *tail = (char *)(job + 1);
    job->cb.status = cb;
    job->chat.chat_id = chat_id;
    job->chat.user_id = ended_by;
    job->chat.reason = store_job_copy(&tail, reason, rl);
    return store_submit(s, job);
}

int store_chat_mark_read(store *s, int64_t chat_id, int64_t user_id, int64_t up_to_seq,
                         store_status_cb cb, void *arg) {
    if (chat_id <= 0 || user_id <= 0 || up_to_seq < 0)
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_CHAT_MARK_READ, arg, 0, &job);
    if (rc)
        return rc;
    job->cb.status = cb;
    job->chat.chat_id = chat_id;
    job->chat.user_id = user_id;
    job->chat.bound = up_to_seq;
    return store_submit(s, job);
}

int store_chats_for_user(store *s, int64_t user_id, int64_t before_id, size_t limit,
                         store_chat_list_cb cb, void *arg) {
    if (user_id <= 0 || before_id < 0 || limit == 0 || limit > STORE_PAGE_MAX)
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_CHATS_FOR_USER, arg, 0, &job);
    if (rc)
        return rc;
    job->cb.chat_list = cb;
    job->chat.user_id = user_id;
    job->chat.bound = store_page_bound(before_id);
    job->chat.limit = (int64_t)limit;
    return store_submit(s, job);
}

int store_messages_after(store *s, int64_t chat_id, int64_t user_id, int64_t after_seq,
                         size_t limit, store_message_list_cb cb, void *arg) {
    if (chat_id <= 0 || user_id <= 0 || after_seq < 0 || limit == 0 || limit > STORE_PAGE_MAX * 10)
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_MESSAGES_AFTER, arg, 0, &job);
    if (rc)
        return rc;
    job->cb.message_list = cb;
    job->chat.chat_id = chat_id;
    job->chat.user_id = user_id;
    job->chat.bound = after_seq;
    job->chat.limit = (int64_t)limit;
    return store_submit(s, job);
}

/* A report's detail: NULL, or 0..STORE_REPORT_DETAIL_MAX bytes ("" is stored as given). */
static int store_detail_ok(const char *detail, size_t *extra) {
    size_t n = detail ? strnlen(detail, STORE_REPORT_DETAIL_MAX + 1) : 0;
    *extra += detail ? n + 1 : 0;
    return n <= STORE_REPORT_DETAIL_MAX;
}

int store_report_create(store *s, int64_t chat_id, int64_t reporter, const char *reason,
                        const char *detail, store_status_cb cb, void *arg) {
    size_t rl = store_arg_len(reason, STORE_END_REASON_MAX);
    size_t extra = rl + 1;
    if (chat_id <= 0 || reporter <= 0 || rl == 0 || !store_detail_ok(detail, &extra))
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_REPORT_CREATE, arg, extra, &job);
    if (rc)
        return rc;
    char *tail = (char *)(job + 1);
    job->cb.status = cb;
    job->chat.chat_id = chat_id;
    job->chat.user_id = reporter;
    job->chat.reason = store_job_copy(&tail, reason, rl);
    job->chat.detail = store_job_copy_opt(&tail, detail);
    return store_submit(s, job);
}

int store_reports_list(store *s, int64_t before_id, size_t limit, store_report_list_cb cb,
                       void *arg) {
    if (before_id < 0 || limit == 0 || limit > STORE_PAGE_MAX)
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_REPORTS_LIST, arg, 0, &job);
    if (rc)
        return rc;
    job->cb.report_list = cb;
    job->chat.bound = store_page_bound(before_id);
    job->chat.limit = (int64_t)limit;
    return store_submit(s, job);
}

/* A block put or delete: two different users. */
static int store_block_job(store *s, enum store_job_kind kind, int64_t blocker, int64_t blocked,
                           store_status_cb cb, void *arg) {
    if (blocker <= 0 || blocked <= 0 || blocker == blocked)
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, kind, arg, 0, &job);
    if (rc)
        return rc;
    job->cb.status = cb;
    job->chat.user_id = blocker;
    job->chat.other_id = blocked;
    return store_submit(s, job);
}

int store_block_put(store *s, int64_t blocker, int64_t blocked, store_status_cb cb, void *arg) {
    return store_block_job(s, STORE_JOB_BLOCK_PUT, blocker, blocked, cb, arg);
}

int store_block_delete(store *s, int64_t blocker, int64_t blocked, store_status_cb cb, void *arg) {
    return store_block_job(s, STORE_JOB_BLOCK_DELETE, blocker, blocked, cb, arg);
}

int store_blocks_list(store *s, int64_t blocker, store_partner_list_cb cb, void *arg) {
    store_job *job = NULL;
    int rc =
        blocker > 0 ? store_job_begin(s, STORE_JOB_BLOCKS_LIST, arg, 0, &job) : STORE_ERR_INVALID;
    if (rc)
        return rc;
    job->cb.partner_list = cb;
    job->chat.user_id = blocker;
    return store_submit(s, job);
}

int store_user_ban(store *s, int64_t user_id, int64_t until_ms, const char *reason,
                   store_status_cb cb, void *arg) {
    size_t rl = store_arg_len(reason, STORE_REPORT_DETAIL_MAX);
    if (user_id <= 0 || until_ms <= 0 || rl == 0)
        return STORE_ERR_INVALID;
    store_job *job = NULL;
    int rc = store_job_begin(s, STORE_JOB_USER_BAN, arg, rl + 1, &job);
    if (rc)
        return rc;
    char *tail = (char *)(job + 1);
    job->cb.status = cb;
    job->chat.user_id = user_id;
    job->chat.bound = until_ms;
    job->chat.reason = store_job_copy(&tail, reason, rl);
    return store_submit(s, job);
}

uint64_t store_commits(const store *s) {
    return atomic_load(&((store *)s)->commits);
}

uint64_t store_jobs(const store *s) {
    return atomic_load(&((store *)s)->jobs);
}

uint64_t store_unfolded(const store *s) {
    return atomic_load(&((store *)s)->unfolded);
}

uint64_t store_migrations_applied(const store *s) {
    return s->migrations_applied;
}

/* ---- opening ---- */

static int store_open_backend(store *s, const char *url, char *err, size_t errlen) {
    if (strncmp(url, "sqlite:", 7) == 0)
        return sqlite_backend_open(url + 7, &s->ops, &s->ctx, &s->migrations_applied, err, errlen);
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        store_set_err(err, errlen, "store: the PostgreSQL backend is not in this build");
        return STORE_ERR_INVALID;
    }
    store_set_err(err, errlen, "store: unknown database URL scheme (want sqlite:PATH)");
    return STORE_ERR_INVALID;
}

static void store_on_failed_close(uv_handle_t *handle) {
    store_free(handle->data);
}

/* Creates the lock, the async handle and the thread. On failure closes the backend here (still
 * before the loop runs) and frees s, at once or from the async handle's close callback. */
static int store_start(store *s, uv_loop_t *loop, char *err, size_t errlen) {
    int rc = uv_mutex_init(&s->mu);
    if (rc == 0 && (rc = uv_cond_init(&s->cond)) != 0)
        uv_mutex_destroy(&s->mu);
    if (rc == 0 && (rc = uv_async_init(loop, &s->async, store_on_async)) != 0) {
        uv_cond_destroy(&s->cond);
        uv_mutex_destroy(&s->mu);
    }
    if (rc != 0) {
        s->ops->close(s->ctx);
        free(s);
    } else {
        s->async.data = s;
        uv_unref((uv_handle_t *)&s->async);
        rc = uv_thread_create(&s->thread, store_thread_main, s);
        if (rc != 0) {
            s->ops->close(s->ctx);
            uv_close((uv_handle_t *)&s->async, store_on_failed_close);
        }
    }
    if (rc != 0)
        store_set_err(err, errlen, "store: cannot start the store thread: %s", uv_strerror(rc));
    return rc == 0 ? 0 : STORE_ERR_UNAVAILABLE;
}

int store_open(uv_loop_t *loop, const char *url, store **out, char *err, size_t errlen) {
    if (out)
        *out = NULL;
    if (!loop || !url || !out) {
        store_set_err(err, errlen, "store: missing loop, URL or result pointer");
        return STORE_ERR_INVALID;
    }
    store *s = calloc(1, sizeof *s);
    if (!s) {
        store_set_err(err, errlen, "store: out of memory");
        return STORE_ERR_NOMEM;
    }
    s->loop = loop;
    int rc = store_open_backend(s, url, err, errlen);
    if (rc) {
        free(s);
        return rc;
    }
    rc = store_start(s, loop, err, errlen);
    if (rc)
        return rc;
    *out = s;
    return 0;
}
