/* msglog.h — the message log: append-only files of message records. A batch of appended messages
 * is written to the active file and fdatasync'd before its msg.acks go out; the SQLite backend
 * folds the records into the messages table later, in large groups (sqlite_fold.c), and removes a
 * file once everything in it is durably in the table.
 *
 * File "<database>-msglog.<generation>": 8 bytes of magic, then records. A record is a u32
 * payload length, the u32 CRC-32C of the payload, and the payload: id, chat id, seq, sender id and
 * sent-at time (i64 each), the client message id's length (u16) and the text's (u32), then their
 * bytes. Little-endian throughout. Reading stops at the first record that is cut short or fails
 * its checksum: a write torn by a crash, never acknowledged.
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
    uint64_t size; /* bytes written and synced: the next record goes here */
    uint64_t rows; /* records written through this handle */
    char *path;
} msglog;

/* The file name of generation gen of the database at db_path (malloc'd; NULL: out of memory). */
char *msglog_path(const char *db_path, uint64_t gen);

/* The generations of db_path's log files that exist, ascending, in a malloc'd array (NULL when
 * there are none). 0, or a negative errno when the directory cannot be read. */
int msglog_list(const char *db_path, uint64_t **gens, size_t *count);

/* Creates generation gen (it must not exist), writes the magic, then syncs the file and its
 * directory so that the file outlives a crash. 0 or a negative errno; log->fd is -1 on failure. */
int msglog_create(msglog *log, const char *db_path, uint64_t gen);

/* Closes the file; with remove, deletes it first. A closed msglog does nothing. */
void msglog_close(msglog *log, int remove);

/* Appends the record of m (client_msg_id and text within the STORE_*_MAX limits) to out. */
void msglog_encode(buf *out, const store_message *m);

/* Writes len bytes at the end of the log and fdatasyncs. 0, or a negative errno: the log's size
 * is then unchanged and the file may hold part of the bytes past it (msglog_cut removes them). */
int msglog_write(msglog *log, const void *data, size_t len, uint64_t rows);

/* Cuts the file back to its size (after a failed write) and syncs. 0 or a negative errno. */
int msglog_cut(msglog *log);

/* Reads the file at path and calls fn with each whole record in order (strings NUL-terminated,
 * valid during the call). Stops at the end, at the first torn record, or when fn returns non-zero
 * (returned). *records counts the records fn accepted (returned 0 for). 0, fn's value, or a
 * negative errno. */
typedef int (*msglog_record_fn)(void *ctx, const store_message *m);
int msglog_replay(const char *path, msglog_record_fn fn, void *ctx, uint64_t *records);

#endif
