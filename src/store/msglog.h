/* msglog.h — the message log: append-only files of message records. A batch of appended messages
 * is written to the active file and fdatasync'd before its msg.acks go out; the SQLite backend
 * folds the records into the messages table later, in large groups (sqlite_fold.c), and removes a
 * file once everything in it is durably in the table.
 *
 * File "<database>-msglog.<generation>": 8 bytes of magic and the generation (u64), then records.
 * A record is a u32 payload length, a u32 CRC-32C of the generation and the payload, and the
 * payload: id, chat id, seq, sender id and sent-at time (i64 each), the client message id's
 * length (u16) and the text's (u32), then their bytes. Little-endian throughout. Reading stops at
 * the first record that is cut short or fails its checksum: a write torn by a crash (never
 * acknowledged), zeros, or a record of an older generation.
 *
 * Files are zero-filled when created and reused once folded (renamed to a new generation): an
 * fdatasync then only writes the new data, never the file's size, which halves its time here
 * and its outliers under other I/O (docs/benchmarks.md). The generation in every checksum is what
 * makes the old records of a reused file unreadable.
 *
 * Not thread-safe: one owner per msglog (the store thread).
 */
#ifndef CONVO_STORE_MSGLOG_H
#define CONVO_STORE_MSGLOG_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"

/* Bytes of a record's payload besides its two strings, and the most a payload may hold. */
#define MSGLOG_FIXED_BYTES 46
#define MSGLOG_PAYLOAD_MAX (MSGLOG_FIXED_BYTES + STORE_CLIENT_MSG_ID_MAX + STORE_TEXT_MAX)

typedef struct msglog {
    int fd;        /* -1 when closed */
    uint64_t gen;  /* the file's generation: higher is newer */
    uint32_t seed; /* the CRC-32C of the generation: each record's checksum starts from it */
    uint64_t size; /* bytes written and synced: the next record goes here */
    uint64_t rows; /* records written through this handle */
    char *path;
} msglog;

/* The file name of generation gen of the database at db_path (malloc'd; NULL: out of memory). */
char *msglog_path(const char *db_path, uint64_t gen);

/* The generations of db_path's log files that exist, ascending, in a malloc'd array (NULL when
 * there are none). 0, or a negative errno when the directory cannot be read. */
int msglog_list(const char *db_path, uint64_t **gens, size_t *count);

/* Creates generation gen (it must not exist) with prealloc bytes of zeros, writes the header,
 * then syncs the file and its directory so that the file outlives a crash. 0 or a negative
 * errno; log->fd is -1 on failure. */
int msglog_create(msglog *log, const char *db_path, uint64_t gen, uint64_t prealloc);

/* Makes the file of old (open; its records no longer needed) generation gen: renamed, its header
 * rewritten, file and directory synced. old is then closed and log holds the file. 0 or a
 * negative errno: when the rename fails old is unchanged; when a later step fails old names the
 * new file (its records still unreadable there) and can be reused or removed. */
int msglog_reuse(msglog *log, msglog *old, const char *db_path, uint64_t gen);

/* Closes the file; with remove, deletes it first. A closed msglog does nothing. */
void msglog_close(msglog *log, int remove);

/* Appends the record of m for the log (client_msg_id and text within the STORE_*_MAX limits)
 * to out. */
void msglog_encode(const msglog *log, buf *out, const store_message *m);

/* Writes len bytes at the end of the log and fdatasyncs. 0, or a negative errno: the log's size
 * is then unchanged and the file may hold part of the bytes past it (msglog_cut removes them). */
int msglog_write(msglog *log, const void *data, size_t len, uint64_t rows);

/* Cuts the file back to its size (after a failed write) and syncs. 0 or a negative errno. */
int msglog_cut(msglog *log);

/* Reads the file at path (generation gen) and calls fn with each whole record in order (strings
 * NUL-terminated, valid during the call). Stops at the end, at the first torn record, or when fn
 * returns non-zero (returned). *records counts the records fn accepted (returned 0 for). 0, fn's
 * value, or a negative errno. */
typedef int (*msglog_record_fn)(void *ctx, const store_message *m);
int msglog_replay(const char *path, uint64_t gen, msglog_record_fn fn, void *ctx,
                  uint64_t *records);

#endif
