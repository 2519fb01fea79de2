/* password.c — argon2id on the libuv thread pool (see password.h). The loop thread only queues
 * jobs and runs their callbacks; libsodium's crypto_pwhash runs on a pool thread. */
#include "auth/password.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct password_job {
    uv_work_t work;
    char *password; /* owned copy, wiped and freed when the job ends */
    size_t password_len;
    char stored[PASSWORD_HASH_MAX];
    int has_stored;
    char result[crypto_pwhash_STRBYTES];
    int ok;
    int failed; /* the work itself failed (no memory for the hash, cancelled) */
    password_hash_cb hash_cb;
    password_verify_cb verify_cb;
    void *arg;
};

static int pending;

int password_pending(void) {
    return pending;
}

static struct password_job *job_new(const char *password) {
    if (pending >= PASSWORD_MAX_PENDING || sodium_init() < 0)
        return NULL;
    struct password_job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->password_len = strlen(password);
    job->password = malloc(job->password_len + 1);
    if (!job->password) {
        free(job);
        return NULL;
    }
    memcpy(job->password, password, job->password_len + 1);
    job->work.data = job;
    return job;
}

static void job_free(struct password_job *job) {
    sodium_memzero(job->password, job->password_len);
    free(job->password);
    sodium_memzero(job, sizeof *job);
    free(job);
}

/* Pool threads that hash run at a lower priority than the loop thread, so a log-in storm that
 * fills every core still leaves the loop its share: latency of everything else holds. */
static void lower_thread_priority(void) {
    static _Thread_local int lowered;
    if (!lowered) {
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), PASSWORD_THREAD_NICE);
        lowered = 1;
    }
}

static void run_hash(uv_work_t *w) {
    struct password_job *job = w->data;
    lower_thread_priority();
    job->ok =
        crypto_pwhash_str_alg(job->result, job->password, job->password_len, PASSWORD_OPSLIMIT,
                              (size_t)PASSWORD_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) == 0;
}

static void run_verify(uv_work_t *w) {
    struct password_job *job = w->data;
    lower_thread_priority();
    if (!job->has_stored) {
        run_hash(w); /* same cost as a real check, so timing does not tell */
        job->failed = !job->ok;
        job->ok = 0;
        return;
    }
    job->ok = crypto_pwhash_str_verify(job->stored, job->password, job->password_len) == 0;
}

static void after_job(uv_work_t *w, int status) {
    struct password_job *job = w->data;
    pending--;
    int ok = status == 0 && job->ok;
    if (job->hash_cb)
        job->hash_cb(ok ? job->result : NULL, job->arg);
    else
        job->verify_cb(status != 0 || job->failed ? PASSWORD_ERROR : ok, job->arg);
    job_free(job);
}

static int job_queue(uv_loop_t *loop, struct password_job *job, uv_work_cb run) {
    if (uv_queue_work(loop, &job->work, run, after_job) != 0) {
        job_free(job);
        return -1;
    }
    pending++;
    return 0;
}

int password_hash_async(uv_loop_t *loop, const char *password, password_hash_cb cb, void *arg) {
    struct password_job *job = job_new(password);
    if (!job)
        return -1;
    job->hash_cb = cb;
    job->arg = arg;
    return job_queue(loop, job, run_hash);
}

int password_verify_async(uv_loop_t *loop, const char *stored_hash, const char *password,
                          password_verify_cb cb, void *arg) {
    if (stored_hash && strlen(stored_hash) >= PASSWORD_HASH_MAX)
        stored_hash = NULL; /* not a hash this server wrote: treat as no account */
    struct password_job *job = job_new(password);
    if (!job)
        return -1;
    if (stored_hash) {
        strcpy(job->stored, stored_hash);
        job->has_stored = 1;
    }
    job->verify_cb = cb;
    job->arg = arg;
    return job_queue(loop, job, run_verify);
}
