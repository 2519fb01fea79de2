/* sqlite_paced.c — the "convo-paced" VFS (sqlite_paced.h says why): a shim over the default VFS
 * whose files count the bytes written to them and sync themselves every SQLITE_PACED_BYTES; each
 * sync earns the thread a rest, taken when it has let go of the write lock — unless the store is
 * in a hurry, when there are neither syncs nor rests.
 * Everything else is passed through to the default VFS and its files unchanged.
 *
 * A paced file is this struct followed by the default VFS's own file object, which it owns.
 */
#include "store/sqlite_paced.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "util/log.h"

typedef struct paced_file {
    sqlite3_file base; /* base.pMethods: paced_methods, or NULL when the open failed */
    sqlite3_file *real;
    int paced;         /* a database or WAL file: its writes are counted */
    uint64_t unsynced; /* bytes written since its last sync */
} paced_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs paced_vfs;
static sqlite3_io_methods paced_methods[4]; /* by the real file's methods version, 1 to 3 */
static atomic_uint_fast64_t paced_sync_count;
static atomic_uint_fast64_t paced_rest_total_ns;
static _Thread_local uint64_t paced_owed_ns; /* rests this thread's syncs earned, not yet taken */
static atomic_uint paced_hurry_mask; /* SQLITE_PACED_HURRY_* bits: no rests while any is set */
static pthread_once_t paced_once = PTHREAD_ONCE_INIT;
static int paced_register_rc = SQLITE_ERROR;

static sqlite3_file *real_of(sqlite3_file *f) {
    return ((paced_file *)f)->real;
}

/* ---- files ---- */

static int paced_close(sqlite3_file *f) {
    sqlite3_file *real = real_of(f);
    return real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
}

static int paced_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off) {
    return real_of(f)->pMethods->xRead(real_of(f), buf, amt, off);
}

static int paced_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off) {
    paced_file *p = (paced_file *)f;
    int rc = p->real->pMethods->xWrite(p->real, buf, amt, off);
    if (rc != SQLITE_OK || !p->paced)
        return rc;
    p->unsynced += (uint64_t)amt;
    if (p->unsynced < SQLITE_PACED_BYTES)
        return SQLITE_OK;
    p->unsynced = 0;
    if (atomic_load(&paced_hurry_mask) != 0) /* behind: throughput first, as without this VFS */
        return SQLITE_OK;
    atomic_fetch_add(&paced_sync_count, 1);
    uint64_t start = uv_hrtime();
    rc = p->real->pMethods->xSync(p->real, SQLITE_SYNC_NORMAL);
    if (rc == SQLITE_OK) /* taken later, outside the write lock: sqlite_paced_take_rest */
        paced_owed_ns += (uv_hrtime() - start) * SQLITE_PACED_REST;
    return rc;
}

static int paced_truncate(sqlite3_file *f, sqlite3_int64 size) {
    return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int paced_sync(sqlite3_file *f, int flags) {
    paced_file *p = (paced_file *)f;
    p->unsynced = 0;
    return p->real->pMethods->xSync(p->real, flags);
}

static int paced_file_size(sqlite3_file *f, sqlite3_int64 *size) {
    return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int paced_lock(sqlite3_file *f, int level) {
    return real_of(f)->pMethods->xLock(real_of(f), level);
}

static int paced_unlock(sqlite3_file *f, int level) {
    return real_of(f)->pMethods->xUnlock(real_of(f), level);
}

static int paced_check_reserved(sqlite3_file *f, int *out) {
    return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int paced_file_control(sqlite3_file *f, int op, void *arg) {
    return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int paced_sector_size(sqlite3_file *f) {
    return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int paced_device_characteristics(sqlite3_file *f) {
    return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int paced_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **pp) {
    return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, pp);
}

static int paced_shm_lock(sqlite3_file *f, int offset, int n, int flags) {
    return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}

static void paced_shm_barrier(sqlite3_file *f) {
    real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int paced_shm_unmap(sqlite3_file *f, int delete_flag) {
    return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}

static int paced_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp) {
    return real_of(f)->pMethods->xFetch(real_of(f), off, amt, pp);
}

static int paced_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
    return real_of(f)->pMethods->xUnfetch(real_of(f), off, p);
}

/* ---- the VFS ---- */

static int paced_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
                      int *out_flags) {
    (void)vfs;
    paced_file *p = (paced_file *)f;
    memset(p, 0, sizeof *p);
    p->real = (sqlite3_file *)(p + 1);
    int rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out_flags);
    if (rc != SQLITE_OK) /* the real file is closed already; SQLite skips xClose */
        return rc;
    int version = p->real->pMethods->iVersion;
    p->paced = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0;
    p->base.pMethods = &paced_methods[version < 1 ? 1 : version > 3 ? 3 : version];
    return SQLITE_OK;
}

static int paced_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
    (void)vfs;
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int paced_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int paced_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
    (void)vfs;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static int paced_randomness(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int paced_sleep(sqlite3_vfs *vfs, int us) {
    (void)vfs;
    return real_vfs->xSleep(real_vfs, us);
}

static int paced_current_time(sqlite3_vfs *vfs, double *out) {
    (void)vfs;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int paced_last_error(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}

static void *paced_dl_open(sqlite3_vfs *vfs, const char *path) {
    (void)vfs;
    return real_vfs->xDlOpen(real_vfs, path);
}

static void paced_dl_error(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    real_vfs->xDlError(real_vfs, n, out);
}

static void (*paced_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return real_vfs->xDlSym(real_vfs, handle, symbol);
}

static void paced_dl_close(sqlite3_vfs *vfs, void *handle) {
    (void)vfs;
    real_vfs->xDlClose(real_vfs, handle);
}

static int paced_current_time_i64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

/* The file methods at each version a default VFS's file may have (a version 1 file has no
 * shared memory; SQLite then keeps no WAL index for it): a paced file has its real one's. */
static void paced_methods_init(int version) {
    sqlite3_io_methods m = {
        .iVersion = version,
        .xClose = paced_close,
        .xRead = paced_read,
        .xWrite = paced_write,
        .xTruncate = paced_truncate,
        .xSync = paced_sync,
        .xFileSize = paced_file_size,
        .xLock = paced_lock,
        .xUnlock = paced_unlock,
        .xCheckReservedLock = paced_check_reserved,
        .xFileControl = paced_file_control,
        .xSectorSize = paced_sector_size,
        .xDeviceCharacteristics = paced_device_characteristics,
        .xShmMap = version >= 2 ? paced_shm_map : NULL,
        .xShmLock = version >= 2 ? paced_shm_lock : NULL,
        .xShmBarrier = version >= 2 ? paced_shm_barrier : NULL,
        .xShmUnmap = version >= 2 ? paced_shm_unmap : NULL,
        .xFetch = version >= 3 ? paced_fetch : NULL,
        .xUnfetch = version >= 3 ? paced_unfetch : NULL,
    };
    paced_methods[version] = m;
}

static void paced_register_once(void) {
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs || real_vfs->iVersion < 2) {
        paced_register_rc = SQLITE_ERROR;
        return;
    }
    for (int version = 1; version <= 3; version++)
        paced_methods_init(version);
    sqlite3_vfs v = {
        .iVersion = 2,
        .szOsFile = (int)sizeof(paced_file) + real_vfs->szOsFile,
        .mxPathname = real_vfs->mxPathname,
        .zName = SQLITE_PACED_VFS,
        .xOpen = paced_open,
        .xDelete = paced_delete,
        .xAccess = paced_access,
        .xFullPathname = paced_full_pathname,
        .xDlOpen = real_vfs->xDlOpen ? paced_dl_open : NULL,
        .xDlError = real_vfs->xDlError ? paced_dl_error : NULL,
        .xDlSym = real_vfs->xDlSym ? paced_dl_sym : NULL,
        .xDlClose = real_vfs->xDlClose ? paced_dl_close : NULL,
        .xRandomness = paced_randomness,
        .xSleep = paced_sleep,
        .xCurrentTime = paced_current_time,
        .xGetLastError = paced_last_error,
        .xCurrentTimeInt64 = paced_current_time_i64,
    };
    paced_vfs = v;
    paced_register_rc = sqlite3_vfs_register(&paced_vfs, 0);
}

int sqlite_paced_register(void) {
    pthread_once(&paced_once, paced_register_once);
    return paced_register_rc;
}

const char *sqlite_paced_vfs(void) {
    static atomic_int warned;
    if (sqlite_paced_register() == SQLITE_OK)
        return SQLITE_PACED_VFS;
    if (!atomic_exchange(&warned, 1))
        log_warn("sqlite: the paced VFS is not available: background writes are not paced", "error",
                 sqlite3_errstr(paced_register_rc));
    return NULL;
}

uint64_t sqlite_paced_syncs(void) {
    return atomic_load(&paced_sync_count);
}

void sqlite_paced_rest(uint64_t ns) {
    uint64_t max = (uint64_t)SQLITE_PACED_REST_MAX_MS * 1000000u;
    if (ns > max)
        ns = max;
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    atomic_fetch_add(&paced_rest_total_ns, ns);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void sqlite_paced_take_rest(uint64_t extra_ns) {
    uint64_t ns = paced_owed_ns + extra_ns;
    paced_owed_ns = 0;
    if (ns > 0 && atomic_load(&paced_hurry_mask) == 0)
        sqlite_paced_rest(ns);
}

uint64_t sqlite_paced_rest_ns(void) {
    return atomic_load(&paced_rest_total_ns);
}

unsigned sqlite_paced_hurrying(void) {
    return atomic_load(&paced_hurry_mask);
}

void sqlite_paced_hurry(unsigned reason, int on) {
    if (on)
        atomic_fetch_or(&paced_hurry_mask, reason);
    else
        atomic_fetch_and(&paced_hurry_mask, ~reason);
}
