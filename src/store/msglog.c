/* msglog.c — the message log's files (see msglog.h): naming and listing generations, creating a
 * zero-filled file durably or reusing a folded one, appending a batch with one pwrite +
 * fdatasync, cutting back a failed write, and reading records back after a restart.
 */
#include "store/msglog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/crc32c.h"

static const char msglog_magic[8] = {'C', 'V', 'M', 'S', 'G', 'L', 'G', '2'};
#define MSGLOG_FILE_HEADER  16           /* the magic and the generation */
#define MSGLOG_HEADER_BYTES 8            /* length and checksum before each payload */
#define MSGLOG_ZERO_CHUNK   (1 << 20)    /* zeros written at once when a file is created */
#define MSGLOG_FILE_MAX     (1ull << 32) /* a file longer than this is refused at replay */

char *msglog_path(const char *db_path, uint64_t gen) {
    size_t n = strlen(db_path) + 32;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s-msglog.%" PRIu64, db_path, gen);
    return p;
}

/* ---- listing ---- */

/* The directory part of path ("." when there is none), malloc'd. */
static char *msglog_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* The generation named by a directory entry, or 0 when name is not "<base>-msglog.<digits>". */
static uint64_t msglog_gen_of(const char *name, const char *base) {
    size_t blen = strlen(base);
    static const char tag[] = "-msglog.";
    if (strncmp(name, base, blen) != 0 || strncmp(name + blen, tag, sizeof tag - 1) != 0)
        return 0;
    const char *d = name + blen + sizeof tag - 1;
    uint64_t gen = 0;
    for (; *d >= '0' && *d <= '9'; d++) {
        if (gen > (UINT64_MAX - 9) / 10)
            return 0;
        gen = gen * 10 + (uint64_t)(*d - '0');
    }
    return *d == '\0' ? gen : 0;
}

static int msglog_cmp_gen(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Adds gen to the growing array; -ENOMEM when it cannot grow. */
static int msglog_push_gen(uint64_t **gens, size_t *count, size_t *cap, uint64_t gen) {
    if (*count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        uint64_t *g = realloc(*gens, ncap * sizeof *g);
        if (!g)
            return -ENOMEM;
        *gens = g;
        *cap = ncap;
    }
    (*gens)[(*count)++] = gen;
    return 0;
}

int msglog_list(const char *db_path, uint64_t **gens, size_t *count) {
    *gens = NULL;
    *count = 0;
    char *dir = msglog_dir(db_path);
    if (!dir)
        return -ENOMEM;
    const char *slash = strrchr(db_path, '/');
    const char *base = slash ? slash + 1 : db_path;
    DIR *d = opendir(dir);
    free(dir);
    if (!d)
        return -errno;
    size_t cap = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        uint64_t gen = msglog_gen_of(e->d_name, base);
        if (gen)
            rc = msglog_push_gen(gens, count, &cap, gen);
    }
    closedir(d);
    if (rc != 0) {
        free(*gens);
        *gens = NULL;
        *count = 0;
        return rc;
    }
    if (*count > 1)
        qsort(*gens, *count, sizeof **gens, msglog_cmp_gen);
    return 0;
}

/* ---- writing ---- */

static int msglog_sync_dir(const char *path) {
    char *dir = msglog_dir(path);
    if (!dir)
        return -ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* Writes all of data at offset (pwrite may write less than asked). */
static int msglog_pwrite_all(int fd, const void *data, size_t len, uint64_t offset) {
    const char *p = data;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t msglog_seed(uint64_t gen) {
    unsigned char g[8];
    put_u64(g, gen);
    return crc32c(g, sizeof g);
}

/* Writes the magic and the generation at the start of the file. */
static int msglog_write_header(int fd, uint64_t gen) {
    unsigned char h[MSGLOG_FILE_HEADER];
    memcpy(h, msglog_magic, sizeof msglog_magic);
    put_u64(h + sizeof msglog_magic, gen);
    return msglog_pwrite_all(fd, h, sizeof h, 0);
}

/* Fills the file with prealloc bytes of zeros. */
static int msglog_zero_fill(int fd, uint64_t prealloc) {
    char *zeros = calloc(1, MSGLOG_ZERO_CHUNK);
    if (!zeros)
        return -ENOMEM;
    int rc = 0;
    for (uint64_t at = 0; rc == 0 && at < prealloc; at += MSGLOG_ZERO_CHUNK) {
        uint64_t n = prealloc - at < MSGLOG_ZERO_CHUNK ? prealloc - at : MSGLOG_ZERO_CHUNK;
        rc = msglog_pwrite_all(fd, zeros, (size_t)n, at);
    }
    free(zeros);
    return rc;
}

/* Sets up a handle for an open file of generation gen, its header synced. */
static void msglog_opened(msglog *log, int fd, uint64_t gen) {
    log->fd = fd;
    log->gen = gen;
    log->seed = msglog_seed(gen);
    log->size = MSGLOG_FILE_HEADER;
    log->rows = 0;
}

int msglog_create(msglog *log, const char *db_path, uint64_t gen, uint64_t prealloc) {
    memset(log, 0, sizeof *log);
    log->fd = -1;
    log->path = msglog_path(db_path, gen);
    if (!log->path)
        return -ENOMEM;
    int fd = open(log->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int rc = -errno;
        msglog_close(log, 0);
        return rc;
    }
    log->fd = fd;
    int rc = msglog_zero_fill(fd, prealloc);
    rc = rc ? rc : msglog_write_header(fd, gen);
    if (rc == 0 && fdatasync(fd) != 0)
        rc = -errno;
    rc = rc ? rc : msglog_sync_dir(log->path);
    if (rc != 0) {
        msglog_close(log, 1);
        return rc;
    }
    msglog_opened(log, fd, gen);
    return 0;
}

int msglog_reuse(msglog *log, msglog *old, const char *db_path, uint64_t gen) {
    char *path = msglog_path(db_path, gen);
    if (!path)
        return -ENOMEM;
    int rc = rename(old->path, path) == 0 ? 0 : -errno;
    if (rc != 0) {
        free(path);
        return rc;
    }
    free(old->path);
    old->path = path; /* from here on the old handle names the new file, whatever happens */
    rc = msglog_write_header(old->fd, gen);
    if (rc == 0 && fdatasync(old->fd) != 0)
        rc = -errno;
    rc = rc ? rc : msglog_sync_dir(path);
    if (rc != 0)
        return rc;
    *log = *old;
    msglog_opened(log, old->fd, gen);
    old->fd = -1;
    old->path = NULL;
    return 0;
}

void msglog_close(msglog *log, int remove) {
    if (log->fd >= 0)
        close(log->fd);
    if (remove && log->path)
        unlink(log->path);
    free(log->path);
    log->path = NULL;
    log->fd = -1;
}

int msglog_write(msglog *log, const void *data, size_t len, uint64_t rows) {
    int rc = msglog_pwrite_all(log->fd, data, len, log->size);
    if (rc == 0 && fdatasync(log->fd) != 0)
        rc = -errno;
    if (rc == 0) {
        log->size += len;
        log->rows += rows;
    }
    return rc;
}

int msglog_cut(msglog *log) {
    if (ftruncate(log->fd, (off_t)log->size) != 0 || fdatasync(log->fd) != 0)
        return -errno;
    return 0;
}

/* ---- records ---- */

static void put_u16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_i64(unsigned char *p, int64_t v) {
    put_u64(p, (uint64_t)v);
}

static uint16_t get_u16(const unsigned char *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int64_t get_i64(const unsigned char *p) {
    return (int64_t)get_u64(p);
}

void msglog_encode(const msglog *log, buf *out, const store_message *m) {
    size_t cid = strlen(m->client_msg_id), text = strlen(m->text);
    size_t payload = MSGLOG_FIXED_BYTES + cid + text;
    if (cid > STORE_CLIENT_MSG_ID_MAX || text > STORE_TEXT_MAX) {
        out->failed = 1; /* the store checked both: never expected */
        return;
    }
    if (buf_reserve(out, MSGLOG_HEADER_BYTES + payload) != 0)
        return;
    unsigned char *h = (unsigned char *)out->data + out->len;
    unsigned char *p = h + MSGLOG_HEADER_BYTES;
    put_i64(p, m->id);
    put_i64(p + 8, m->chat_id);
    put_i64(p + 16, m->seq);
    put_i64(p + 24, m->sender_id);
    put_i64(p + 32, m->sent_at_ms);
    put_u16(p + 40, (uint16_t)cid);
    put_u32(p + 42, (uint32_t)text);
    memcpy(p + MSGLOG_FIXED_BYTES, m->client_msg_id, cid);
    memcpy(p + MSGLOG_FIXED_BYTES + cid, m->text, text);
    put_u32(h, (uint32_t)payload);
    put_u32(h + 4, crc32c_extend(log->seed, p, payload));
    out->len += MSGLOG_HEADER_BYTES + payload;
    out->data[out->len] = '\0';
}

/* Decodes one payload of len bytes into m, its strings copied NUL-terminated into scratch.
 * 0, or -1 when the lengths inside do not add up or a field is out of range. */
static int msglog_decode(const unsigned char *p, size_t len, store_message *m, char *scratch) {
    size_t cid = get_u16(p + 40), text = get_u32(p + 42);
    if (MSGLOG_FIXED_BYTES + cid + text != len || cid > STORE_CLIENT_MSG_ID_MAX ||
        text > STORE_TEXT_MAX)
        return -1;
    memset(m, 0, sizeof *m);
    m->id = get_i64(p);
    m->chat_id = get_i64(p + 8);
    m->seq = get_i64(p + 16);
    m->sender_id = get_i64(p + 24);
    m->sent_at_ms = get_i64(p + 32);
    if (m->id <= 0 || m->chat_id <= 0 || m->seq <= 0 || m->sender_id <= 0)
        return -1;
    memcpy(scratch, p + MSGLOG_FIXED_BYTES, cid);
    scratch[cid] = '\0';
    memcpy(scratch + cid + 1, p + MSGLOG_FIXED_BYTES + cid, text);
    scratch[cid + 1 + text] = '\0';
    m->client_msg_id = scratch;
    m->text = scratch + cid + 1;
    return 0;
}

/* Reads the whole file (at most MSGLOG_FILE_MAX bytes) into a malloc'd buffer. */
static int msglog_read_file(const char *path, unsigned char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? 0 : -errno;
    if (rc == 0 && (uint64_t)st.st_size > MSGLOG_FILE_MAX)
        rc = -EFBIG;
    unsigned char *d = rc == 0 ? malloc((size_t)st.st_size + 1) : NULL;
    if (rc == 0 && !d)
        rc = -ENOMEM;
    size_t got = 0;
    while (rc == 0 && got < (size_t)st.st_size) {
        ssize_t n = read(fd, d + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* shorter than fstat said: read what is there */
        got += (size_t)n;
    }
    close(fd);
    if (rc != 0) {
        free(d);
        return rc;
    }
    *data = d;
    *len = got;
    return 0;
}

/* Hands each whole record of data[0..len) to fn; stops at the first torn one. */
static int msglog_each(const unsigned char *data, size_t len, uint64_t gen, msglog_record_fn fn,
                       void *ctx, uint64_t *records, char *scratch) {
    size_t at = MSGLOG_FILE_HEADER;
    if (len < at || memcmp(data, msglog_magic, sizeof msglog_magic) != 0 ||
        get_u64(data + sizeof msglog_magic) != gen)
        return 0; /* empty, or cut before its header was synced: nothing was acknowledged */
    uint32_t seed = msglog_seed(gen);
    while (len - at >= MSGLOG_HEADER_BYTES) {
        size_t payload = get_u32(data + at);
        if (payload < MSGLOG_FIXED_BYTES || payload > MSGLOG_PAYLOAD_MAX ||
            len - at - MSGLOG_HEADER_BYTES < payload)
            break;
        const unsigned char *p = data + at + MSGLOG_HEADER_BYTES;
        store_message m;
        if (crc32c_extend(seed, p, payload) != get_u32(data + at + 4) ||
            msglog_decode(p, payload, &m, scratch))
            break;
        int rc = fn(ctx, &m);
        if (rc != 0)
            return rc;
        (*records)++;
        at += MSGLOG_HEADER_BYTES + payload;
    }
    return 0;
}

int msglog_replay(const char *path, uint64_t gen, msglog_record_fn fn, void *ctx,
                  uint64_t *records) {
    *records = 0;
    unsigned char *data;
    size_t len;
    int rc = msglog_read_file(path, &data, &len);
    if (rc != 0)
        return rc;
    char *scratch = malloc(MSGLOG_PAYLOAD_MAX + 2);
    rc = scratch ? msglog_each(data, len, gen, fn, ctx, records, scratch) : -ENOMEM;
    free(scratch);
    free(data);
    return rc;
}
