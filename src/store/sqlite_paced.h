/* sqlite_paced.h — a SQLite VFS for the background connections (the folder and the checkpointer):
 * the default VFS, except that every SQLITE_PACED_BYTES written to a database or WAL file are
 * fdatasync'd at once, so that the disk takes background writes in small pieces, and that the
 * writing thread then owes a rest SQLITE_PACED_REST times as long as that sync took, which it
 * takes once it holds no lock (sqlite_paced_take_rest) — roughly, background writes get a third
 * of the disk's time. While the store has said it is in a hurry (SQLITE_PACED_HURRY_*) there are
 * neither the extra syncs nor the rests: the files behave as the default VFS's, for throughput.
 *
 * Why: a disk's cache flush (what the message log's fdatasync asks for before each msg.ack) makes
 * durable everything written before it, not just the log's own page. A checkpoint copies
 * megabytes of pages into the database and syncs once at the end; the log's flushes that fall
 * in that window each wait for all of it (measured here: the log's fdatasync p99 4.4 ms under
 * bursts of 4 MiB, 0.7 ms when the same writes are synced 128 KiB at a time; docs/realtime.md).
 * Extra syncs never weaken SQLite's own guarantees; they only cost the background thread time.
 */
#ifndef CONVO_STORE_SQLITE_PACED_H
#define CONVO_STORE_SQLITE_PACED_H

#include <stdint.h>

#define SQLITE_PACED_VFS         "convo-paced"
#define SQLITE_PACED_BYTES       (128 << 10) /* written to a file between two of its syncs, at most */
#define SQLITE_PACED_REST        2  /* a rest after a sync: this many times its length … */
#define SQLITE_PACED_REST_MAX_MS 20 /* … and at most this long */

/* Why the store wants background writes done without rests (bits; any one set is enough). */
#define SQLITE_PACED_HURRY_FOLD 1u /* a big fold, one behind or failed, or a shutdown */
#define SQLITE_PACED_HURRY_WAL  2u /* the WAL has grown long */

/* Registers the VFS (not as the default) once per process; safe to call from any thread.
 * 0, or a SQLite error code. */
int sqlite_paced_register(void);

/* The name to open a background connection with: the paced VFS, or NULL (the default VFS, after
 * a warning in the log) if it could not be registered. */
const char *sqlite_paced_vfs(void);

/* Sleeps ns, at most SQLITE_PACED_REST_MAX_MS: a background thread's rest. */
void sqlite_paced_rest(uint64_t ns);

/* Takes the rest the calling thread's syncs have earned, plus extra_ns (the folder's after its
 * transaction), unless the store is in a hurry (then the debt is dropped). Call it holding no
 * lock a writer could wait for. */
void sqlite_paced_take_rest(uint64_t extra_ns);

/* Syncs the VFS has added so far (all files), and the time all rests took: for the tests. */
uint64_t sqlite_paced_syncs(void);
uint64_t sqlite_paced_rest_ns(void);

/* Sets (on != 0) or clears a reason to hurry, and the reasons set now. Process-wide: any
 * thread. */
void sqlite_paced_hurry(unsigned reason, int on);
unsigned sqlite_paced_hurrying(void);

#endif
