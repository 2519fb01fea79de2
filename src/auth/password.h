/* password.h — argon2id hashing and verification on the libuv thread pool, never on the loop.
 *
 * Parameters (OWASP's argon2id baseline): 2 passes over 19 MiB, one lane. About 25–40 ms of one
 * core each here; at most PASSWORD_MAX_PENDING jobs queued or running, so a log-in storm costs
 * bounded memory (4 pool threads × 19 MiB) and further calls are refused (the caller answers 503)
 * instead of queueing without end. A pool thread that has hashed once stays at nice
 * PASSWORD_THREAD_NICE: nothing latency-critical may run on the libuv pool. Verifying with no
 * stored hash runs a full hash anyway, so an unknown email takes as long as a wrong password. Plain
 * passwords are wiped after use.
 */
#ifndef CONVO_PASSWORD_H
#define CONVO_PASSWORD_H

#include <stddef.h>
#include <uv.h>

#define PASSWORD_OPSLIMIT    2ULL
#define PASSWORD_MEMLIMIT    (19ULL * 1024 * 1024)
#define PASSWORD_MAX_PENDING 64
#define PASSWORD_HASH_MAX    128 /* bytes of an encoded argon2id string, with its NUL */
#define PASSWORD_THREAD_NICE 10  /* nice value of pool threads while they hash */

/* hash: the encoded string on success (valid during the call), NULL when hashing failed. */
typedef void (*password_hash_cb)(const char *hash, void *arg);
/* result: 1 when the password matches the stored hash, 0 when it does not, PASSWORD_ERROR when
 * the check could not run (the caller answers 503, and must not count it as a wrong password). */
#define PASSWORD_ERROR (-1)
typedef void (*password_verify_cb)(int result, void *arg);

/* Both return 0 when the job is queued (the callback fires later on the loop), or -1 when
 * PASSWORD_MAX_PENDING jobs are already pending or memory ran out (the callback never fires). */
int password_hash_async(uv_loop_t *loop, const char *password, password_hash_cb cb, void *arg);
/* stored_hash NULL: no account; a dummy hash is computed and the answer is 0. */
int password_verify_async(uv_loop_t *loop, const char *stored_hash, const char *password,
                          password_verify_cb cb, void *arg);

/* Jobs pending now (for tests and metrics). */
int password_pending(void);

#endif
