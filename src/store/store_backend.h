/* store_backend.h — the seam between store.c (queue, store thread, hand-back to the loop) and a
 * backend (sqlite.c, later pg.c). Private to src/store/: nothing outside it (but the store's unit
 * tests) includes this.
 *
 * A backend runs a batch of jobs on the store thread in one transaction and fills in each job's
 * status and result. It never touches the loop, the queue or a callback.
 */
#ifndef CONVO_STORE_BACKEND_H
#define CONVO_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum store_job_kind {
    STORE_JOB_PING,
    STORE_JOB_CHAT_CREATE,
    STORE_JOB_MESSAGE_APPEND,
    /* accounts: callback cb.user */
    STORE_JOB_USER_CREATE,
    STORE_JOB_USER_BY_EMAIL,
    STORE_JOB_USER_BY_ID,
    STORE_JOB_USER_UPDATE_PROFILE,
    /* accounts and refresh tokens: callback cb.status, except ROTATE (cb.refresh) */
    STORE_JOB_USER_SET_PASSWORD,
    STORE_JOB_USER_DELETE,
    STORE_JOB_REFRESH_ISSUE,
    STORE_JOB_REFRESH_ROTATE,
    STORE_JOB_REFRESH_REVOKE_FAMILY,
    STORE_JOB_REFRESH_REVOKE_USER,
    /* chats, history, safety (sqlite_chats.c): callbacks as named after each */
    STORE_JOB_USER_CONTEXT_LOAD, /* cb.context */
    STORE_JOB_CHATS_ACTIVE,      /* cb.chat_list */
    STORE_JOB_CHATS_FOR_USER,    /* cb.chat_list */
    STORE_JOB_MESSAGES_AFTER,    /* cb.message_list */
    STORE_JOB_REPORTS_LIST,      /* cb.report_list */
    STORE_JOB_BLOCKS_LIST,       /* cb.partner_list */
    STORE_JOB_CHAT_END,          /* cb.status from here on */
    STORE_JOB_CHAT_MARK_READ,
    STORE_JOB_REPORT_CREATE,
    STORE_JOB_BLOCK_PUT,
    STORE_JOB_BLOCK_DELETE,
    STORE_JOB_USER_BAN,
};

/* Inputs of the account and refresh-token jobs; strings point into the job's trailing bytes. */
typedef struct store_account_args {
    int64_t id;                /* the user */
    const char *email;         /* create: as typed */
    const char *email_lower;   /* create, by_email: ASCII letters folded */
    const char *password_hash; /* create, set_password */
    const char *nickname;      /* create */
    const char *family;        /* issue: the family; set_password: the one kept (NULL = none) */
    const char *token_hash;    /* issue, revoke_family; rotate: the old token */
    const char *new_hash;      /* rotate */
    int64_t expires_at_ms;     /* issue */
    int64_t ttl_ms, grace_ms;  /* rotate */
    struct store_profile_update profile; /* update_profile (set_* are 0 or 1) */
} store_account_args;

/* Inputs of the chat, history and safety jobs; strings point into the job's trailing bytes. */
typedef struct store_chat_args {
    int64_t chat_id;    /* end, mark_read, messages_after, report_create */
    int64_t user_id;    /* the acting user: context, mark_read, for_user, messages_after, report
                         * (reporter), block (blocker), ban; end: ended_by (0 = none, stored NULL) */
    int64_t other_id;   /* block put and delete: the blocked user */
    int64_t bound;      /* for_user, reports_list: id bound (INT64_MAX for "from the newest");
                         * mark_read: up_to_seq; messages_after: after_seq; ban: until_ms */
    int64_t limit;      /* lists with a limit */
    const char *reason; /* end, report, ban */
    const char *detail; /* report: NULL when none */
} store_chat_args;

/* A list result: a malloc'd array of count items (store_chat_summary, store_message,
 * store_report, store_partner, or int64_t for the context's blocked ids), freed with the job.
 * Items may be reallocated while the backend fills the list: nothing may point into it. */
typedef struct store_list {
    void *items;
    size_t count, cap;
} store_list;

/* Memory for a result's strings and nested rows (store_chunk blocks chained through their first
 * field), freed with the job. What it hands out never moves. */
typedef struct store_chunk store_chunk;

/* One queued call. Inputs are copied into the job, so the caller's strings may go at once. */
typedef struct store_job {
    struct store_job *next;
    enum store_job_kind kind;
    int status; /* set by the backend: STORE_OK or a negative store_status */
    union {
        store_status_cb status;
        store_chat_cb chat;
        store_message_cb message;
        store_user_cb user;
        store_refresh_cb refresh;
        store_context_cb context;
        store_chat_list_cb chat_list;
        store_message_list_cb message_list;
        store_report_list_cb report_list;
        store_partner_list_cb partner_list;
    } cb;
    void *arg;
    /* Inputs, and the result handed to the callback: string fields point into the job's own
     * trailing bytes, or at `owned` when the backend read a different string from storage. */
    union {
        store_chat chat;
        store_message message;
        store_user user;              /* account jobs: the result, strings in `owned` */
        store_refresh_result refresh; /* rotate: the result, strings in `owned` */
        store_user_context context;   /* context_load: the result (blocked ids in `list`) */
    } row;
    /* Account and rotate jobs: 1 when the backend filled row.user or row.refresh. The callback
     * gets it with STORE_OK, and also with STORE_ERR_CONFLICT (create: the existing account) and
     * STORE_ERR_REFRESH_REUSED (the revoked family and its owner). */
    int has_row;
    store_account_args acct;
    char *owned;          /* malloc'd by the backend, freed with the job; NULL when unused */
    store_chat_args chat; /* inputs of the chat, history and safety jobs */
    store_list list;      /* list results, handed to the callback with STORE_OK only */
    store_chunk *chunks;  /* store_job_alloc's memory */
} store_job;

typedef struct store_backend_ops {
    const char *name;
    /* Runs jobs (a list linked by next) in one transaction, each isolated so that one failing
     * job leaves the others intact; a job answering STORE_ERR_REFRESH_REUSED keeps its writes
     * (the family's revocation) like a job answering STORE_OK. Returns 0 when the transaction
     * committed, a negative store_status when it did not (store.c then fails every job of the
     * batch). */
    int (*run_batch)(void *ctx, store_job *jobs);
    /* Appends messages (a list of STORE_JOB_MESSAGE_APPEND jobs; they never reach run_batch)
     * durably and sets each job's status. store.c hands them back before it runs the rest of
     * their batch, so an ack waits for nothing else. */
    void (*append_batch)(void *ctx, store_job *jobs);
    /* One bounded step of work between batches (the SQLite backend folds its message log into
     * the table). Returns the milliseconds until the next step is due: 0 at once (when no job
     * waits), -1 not before the next batch. */
    int (*background)(void *ctx);
    /* Optional: messages acknowledged but not yet in their table (the SQLite backend's rows
     * waiting for a fold); read on the store thread after each batch and background step. */
    uint64_t (*unfolded)(void *ctx);
    /* Closes the connection and frees ctx; called once, on the store thread, after the last batch
     * (or by store_open on its own thread when the store thread never started). */
    void (*close)(void *ctx);
} store_backend_ops;

/* Result memory for a job, for a backend on the store thread while it runs the job; both are
 * freed with the job. store_job_alloc answers n bytes aligned for any type that never move;
 * store_list_push appends one zeroed item of size bytes to job->list and answers it (valid until
 * the next push). NULL when out of memory. */
void *store_job_alloc(store_job *job, size_t n);
void *store_list_push(store_job *job, size_t size);

/* 1 when every job of the list only reads (look-ups, lists, history, ping): a backend may run
 * such a batch without taking the lock its writers share. */
int store_jobs_read_only(const store_job *jobs);

/* Wall-clock time in Unix epoch milliseconds: the time a backend stamps on rows it creates. */
int64_t store_now_ms(void);

/* Opens the SQLite file at path (blocking), applies pending migrations and counts them in
 * *migrations_applied. On failure writes a reason into err and returns a negative store_status. */
/* For tests: how old the first record of the active message log file gets before a fold starts
 * (4000 ms unless set; 0: after every batch; negative: back to the default). Set it before
 * store_open: the store thread reads it. */
void sqlite_fold_set_age_ms(int ms);

int sqlite_backend_open(const char *path, const store_backend_ops **ops, void **ctx,
                        uint64_t *migrations_applied, char *err, size_t errlen);

#endif
