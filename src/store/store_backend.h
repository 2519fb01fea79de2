/* store_backend.h — the seam between store.c (queue, store thread, hand-back to the loop) and a
 * backend (sqlite.c, later pg.c). Private to src/store/: nothing outside it includes this.
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
    } cb;
    void *arg;
    /* Inputs, and the result handed to the callback: string fields point into the job's own
     * trailing bytes, or at `owned` when the backend read a different string from storage. */
    union {
        store_chat chat;
        store_message message;
        store_user user;              /* account jobs: the result, strings in `owned` */
        store_refresh_result refresh; /* rotate: the result, strings in `owned` */
    } row;
    /* Account and rotate jobs: 1 when the backend filled row.user or row.refresh. The callback
     * gets it with STORE_OK, and also with STORE_ERR_CONFLICT (create: the existing account) and
     * STORE_ERR_REFRESH_REUSED (the revoked family and its owner). */
    int has_row;
    store_account_args acct;
    char *owned; /* malloc'd by the backend, freed with the job; NULL when unused */
} store_job;

typedef struct store_backend_ops {
    const char *name;
    /* Runs jobs (a list linked by next) in one transaction, each isolated so that one failing
     * job leaves the others intact; a job answering STORE_ERR_REFRESH_REUSED keeps its writes
     * (the family's revocation) like a job answering STORE_OK. Returns 0 when the transaction
     * committed, a negative store_status when it did not (store.c then fails every job of the
     * batch). */
    int (*run_batch)(void *ctx, store_job *jobs);
    /* Closes the connection and frees ctx; called once, on the store thread, after the last batch
     * (or by store_open on its own thread when the store thread never started). */
    void (*close)(void *ctx);
} store_backend_ops;

/* Wall-clock time in Unix epoch milliseconds: the time a backend stamps on rows it creates. */
int64_t store_now_ms(void);

/* Opens the SQLite file at path (blocking), applies pending migrations and counts them in
 * *migrations_applied. On failure writes a reason into err and returns a negative store_status. */
int sqlite_backend_open(const char *path, const store_backend_ops **ops, void **ctx,
                        uint64_t *migrations_applied, char *err, size_t errlen);

#endif
