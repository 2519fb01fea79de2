/* test_msglog.c — the message log's files (store/msglog.h): records written and replayed with
 * every field intact (1-byte client id, a text of STORE_TEXT_MAX bytes, Korean UTF-8), the
 * documented little-endian layout (a 16-byte header of magic and generation; each record's CRC-32C
 * seeded with the generation), a torn tail cut at every byte and a flipped byte anywhere (replay
 * stops before the damaged record, no error), empty, header-only, wrong-magic and
 * wrong-generation files (records of another generation never verify), zero-filled
 * (preallocated) files, reusing a file as a new generation (its old records no longer read),
 * listing generations among decoy files, O_EXCL creation and removal on close, cutting back bytes
 * past the log's size after a failed write, a callback stopping replay, and rows/size accounting.
 *
 * Each test works in its own mkdtemp directory under /tmp, removed afterwards. Replayed records
 * are copied in the callback (their strings are valid only during it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/msglog.h"
#include "store_fixture.h"
#include "util/buf.h"
#include "util/crc32c.h"

#define MAGIC_BYTES       8          /* the file's magic */
#define FILE_HEADER_BYTES 16         /* the magic and the generation (u64) */
#define HEADER_BYTES      8          /* length and CRC before each payload */
#define SEEN_MAX          16         /* records one replay may copy */
#define PREALLOC          (64 << 10) /* zeros a preallocated file starts with */

/* ---- fixture ---- */

/* The store tests' fixture: a mkdtemp directory, removed with every file in it; the log files
 * are named after fx->path ("<dir>/convo.db"). */
static int setup(void **state) {
    return sf_setup(state, "/tmp/convo-msglog-XXXXXX");
}

/* ---- messages ---- */

static char big_text[STORE_TEXT_MAX + 1];
static char long_cid[STORE_CLIENT_MSG_ID_MAX + 1];

/* A text of exactly STORE_TEXT_MAX bytes and a client id of STORE_CLIENT_MSG_ID_MAX, both varied
 * so that a byte out of place is seen. */
static void fill_big_strings(void) {
    for (size_t i = 0; i < STORE_TEXT_MAX; i++)
        big_text[i] = (char)(' ' + (i * 7 + i / 95) % 95);
    big_text[STORE_TEXT_MAX] = '\0';
    for (size_t i = 0; i < STORE_CLIENT_MSG_ID_MAX; i++)
        long_cid[i] = (char)('a' + (i * 5) % 26);
    long_cid[STORE_CLIENT_MSG_ID_MAX] = '\0';
}

/* Every field distinct from the others and from the other messages'. */
static store_message msg_short(void) {
    return (store_message){.id = 101,
                           .chat_id = 7,
                           .seq = 1,
                           .sender_id = 42,
                           .client_msg_id = "a", /* 1 byte */
                           .text = "hi there",
                           .sent_at_ms = 1700000000123};
}

/* All eight bytes of every integer set, the longest client id and text: a payload of exactly
 * MSGLOG_PAYLOAD_MAX bytes. */
static store_message msg_big(void) {
    return (store_message){.id = INT64_MAX,
                           .chat_id = 0x0102030405060708,
                           .seq = 0x1112131415161718,
                           .sender_id = 0x2122232425262728,
                           .client_msg_id = long_cid,
                           .text = big_text,
                           .sent_at_ms = 0x3132333435363738};
}

static store_message msg_korean(void) {
    return (store_message){.id = 103,
                           .chat_id = 7,
                           .seq = 2,
                           .sender_id = 43,
                           .client_msg_id = "c-3f2a9e",
                           .text = "안녕하세요! 오늘 날씨가 정말 좋네요 😀 대화 서버",
                           .sent_at_ms = 1700000000456};
}

static store_message msg_last(void) {
    return (store_message){.id = 104,
                           .chat_id = 9,
                           .seq = 3,
                           .sender_id = 44,
                           .client_msg_id = "zz",
                           .text = "x",
                           .sent_at_ms = 1700000000789};
}

/* ---- replay into copies ---- */

typedef struct seen {
    size_t n;       /* records copied */
    size_t calls;   /* calls of the callback */
    size_t stop_at; /* 1-based call that returns stop_rc; 0: never */
    int stop_rc;
    store_message m[SEEN_MAX];
} seen;

static int on_record(void *ctx, const store_message *m) {
    seen *s = ctx;
    s->calls++;
    if (s->stop_at && s->calls == s->stop_at)
        return s->stop_rc;
    assert_true(s->n < SEEN_MAX);
    assert_non_null(m->client_msg_id);
    assert_non_null(m->text);
    store_message *c = &s->m[s->n++];
    *c = *m;
    c->client_msg_id = strdup(m->client_msg_id);
    c->text = strdup(m->text);
    assert_non_null(c->client_msg_id);
    assert_non_null(c->text);
    return 0;
}

static int on_record_never(void *ctx, const store_message *m) {
    (void)ctx;
    (void)m;
    fail_msg("a record was replayed from a file that holds none");
    return 0;
}

static void seen_free(seen *s) {
    for (size_t i = 0; i < s->n; i++) {
        free((char *)s->m[i].client_msg_id);
        free((char *)s->m[i].text);
    }
    memset(s, 0, sizeof *s);
}

/* Replays path as generation gen into a fresh s (freeing what it held); returns msglog_replay's
 * value and checks that *records matches the records copied. */
static int replay(const char *path, uint64_t gen, seen *s) {
    seen_free(s);
    uint64_t records = 12345;
    int rc = msglog_replay(path, gen, on_record, s, &records);
    if (rc == 0)
        assert_int_equal(records, s->n);
    return rc;
}

static void assert_msg_equal(const store_message *got, const store_message *want) {
    assert_int_equal(got->id, want->id);
    assert_int_equal(got->chat_id, want->chat_id);
    assert_int_equal(got->seq, want->seq);
    assert_int_equal(got->sender_id, want->sender_id);
    assert_int_equal(got->sent_at_ms, want->sent_at_ms);
    assert_int_equal(strlen(got->client_msg_id), strlen(want->client_msg_id));
    assert_string_equal(got->client_msg_id, want->client_msg_id);
    assert_int_equal(strlen(got->text), strlen(want->text));
    assert_string_equal(got->text, want->text);
}

/* Checks that s holds exactly want[0..n) in order. */
static void assert_seen(const seen *s, const store_message *want, size_t n) {
    assert_int_equal(s->n, n);
    for (size_t i = 0; i < n; i++)
        assert_msg_equal(&s->m[i], &want[i]);
}

/* ---- files ---- */

static uint64_t file_size(const char *path) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Replaces path's content with data[0..len). */
static void write_file(const char *path, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void append_file(const char *path, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* The whole file, malloc'd. */
static unsigned char *read_file(const char *path, size_t *len) {
    *len = (size_t)file_size(path);
    unsigned char *d = malloc(*len + 1);
    assert_non_null(d);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, d, *len), (ssize_t)*len);
    assert_int_equal(close(fd), 0);
    return d;
}

static void make_file(const sf_fixture *fx, const char *name) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", fx->dir, name);
    write_file(p, "x", 1);
}

/* Encodes msgs[0..n) for log into b (reset first); ends[i] gets the offset in b just past
 * record i. */
static void encode_all(const msglog *log, buf *b, const store_message *msgs, size_t n,
                       size_t *ends) {
    buf_reset(b);
    for (size_t i = 0; i < n; i++) {
        msglog_encode(log, b, &msgs[i]);
        assert_false(b->failed);
        if (ends)
            ends[i] = b->len;
    }
}

/* Creates generation gen of fx's database (no preallocation) holding msgs[0..n) (one write) and
 * closes it; the file's path is returned (malloc'd), and the records' end offsets in the file in
 * ends. */
static char *write_log(const sf_fixture *fx, uint64_t gen, const store_message *msgs, size_t n,
                       size_t *ends) {
    msglog log;
    buf b;
    buf_init(&b, 0);
    assert_int_equal(msglog_create(&log, fx->path, gen, 0), 0);
    encode_all(&log, &b, msgs, n, ends);
    assert_int_equal(msglog_write(&log, b.data, b.len, n), 0);
    char *path = strdup(log.path);
    assert_non_null(path);
    msglog_close(&log, 0);
    buf_free(&b);
    for (size_t i = 0; ends && i < n; i++)
        ends[i] += FILE_HEADER_BYTES;
    return path;
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64u(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int64_t le64(const unsigned char *p) {
    return (int64_t)le64u(p);
}

static void put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* The CRC-32C of gen as 8 little-endian bytes: where each record's checksum starts. */
static uint32_t seed_of(uint64_t gen) {
    unsigned char g[8];
    put_le64(g, gen);
    return crc32c(g, sizeof g);
}

/* Checks that d starts with the magic and generation gen. */
static void assert_file_header(const unsigned char *d, uint64_t gen) {
    assert_memory_equal(d, "CVMSGLG2", MAGIC_BYTES);
    assert_int_equal(le64u(d + MAGIC_BYTES), gen);
}

/* ---- tests ---- */

/* Several writes of several records come back in order with every field equal. */
static void test_write_and_replay_round_trip(void **state) {
    sf_fixture *fx = *state;
    const store_message msgs[] = {msg_short(), msg_big(), msg_korean(), msg_last()};
    const size_t n = sizeof msgs / sizeof msgs[0];
    msglog log;
    assert_int_equal(msglog_create(&log, fx->path, 1, 0), 0);
    assert_true(log.fd >= 0);
    assert_int_equal(log.gen, 1);
    buf b;
    buf_init(&b, 0);
    size_t expect = FILE_HEADER_BYTES;
    encode_all(&log, &b, msgs, 2, NULL); /* two batches: two records, then two */
    assert_int_equal(msglog_write(&log, b.data, b.len, 2), 0);
    expect += b.len;
    encode_all(&log, &b, msgs + 2, 2, NULL);
    assert_int_equal(msglog_write(&log, b.data, b.len, 2), 0);
    expect += b.len;
    size_t formula = FILE_HEADER_BYTES; /* the size the format gives */
    for (size_t i = 0; i < n; i++)
        formula += HEADER_BYTES + MSGLOG_FIXED_BYTES + strlen(msgs[i].client_msg_id) +
                   strlen(msgs[i].text);
    assert_int_equal(expect, formula);
    char *path = strdup(log.path);
    assert_non_null(path);
    msglog_close(&log, 0);
    assert_int_equal(file_size(path), formula);

    seen s = {0};
    assert_int_equal(replay(path, 1, &s), 0);
    assert_seen(&s, msgs, n);
    assert_int_equal(s.calls, n);
    /* a second replay of the same file gives the same */
    assert_int_equal(replay(path, 1, &s), 0);
    assert_seen(&s, msgs, n);
    seen_free(&s);
    buf_free(&b);
    free(path);
}

/* The file is the documented format: the magic "CVMSGLG2" and the generation (u64), then u32
 * length, u32 CRC-32C of the generation's 8 bytes followed by the payload, and the payload's
 * fields, little-endian. The generation has every byte distinct so that one out of place is seen.
 */
static void test_record_layout_on_disk(void **state) {
    sf_fixture *fx = *state;
    const uint64_t gen = 0x0102030405060708u;
    const store_message m = msg_big();
    char *path = write_log(fx, gen, &m, 1, NULL);
    char *named = msglog_path(fx->path, gen);
    assert_non_null(named);
    assert_string_equal(path, named);
    size_t len;
    unsigned char *d = read_file(path, &len);
    const size_t cid = STORE_CLIENT_MSG_ID_MAX, text = STORE_TEXT_MAX;
    const size_t payload = MSGLOG_FIXED_BYTES + cid + text;
    assert_int_equal(payload, MSGLOG_PAYLOAD_MAX);
    assert_int_equal(len, FILE_HEADER_BYTES + HEADER_BYTES + payload);
    static const unsigned char want_header[FILE_HEADER_BYTES] = {
        'C', 'V', 'M', 'S', 'G', 'L', 'G', '2', 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    assert_memory_equal(d, want_header, FILE_HEADER_BYTES);
    assert_file_header(d, gen);
    const unsigned char *h = d + FILE_HEADER_BYTES, *p = h + HEADER_BYTES;
    assert_int_equal(le32(h), payload);
    const uint32_t crc = le32(h + 4);
    assert_int_equal(crc, crc32c_extend(crc32c(want_header + MAGIC_BYTES, 8), p, payload));
    assert_int_equal(crc, crc32c_extend(seed_of(gen), p, payload));
    unsigned char *joined = malloc(8 + payload); /* the same: the CRC of gen || payload */
    assert_non_null(joined);
    memcpy(joined, want_header + MAGIC_BYTES, 8);
    memcpy(joined + 8, p, payload);
    assert_int_equal(crc, crc32c(joined, 8 + payload));
    free(joined);
    assert_int_not_equal(crc, crc32c(p, payload)); /* the generation is really in it */
    assert_int_equal(le64(p), m.id);
    assert_int_equal(le64(p + 8), m.chat_id);
    assert_int_equal(le64(p + 16), m.seq);
    assert_int_equal(le64(p + 24), m.sender_id);
    assert_int_equal(le64(p + 32), m.sent_at_ms);
    assert_int_equal(p[40] | p[41] << 8, cid);
    assert_int_equal(le32(p + 42), text);
    assert_memory_equal(p + MSGLOG_FIXED_BYTES, long_cid, cid);
    assert_memory_equal(p + MSGLOG_FIXED_BYTES + cid, big_text, text);
    seen s = {0};
    assert_int_equal(replay(path, gen, &s), 0);
    assert_seen(&s, &m, 1);
    seen_free(&s);
    free(d);
    free(named);
    free(path);
}

/* Cut at every byte (inside the file header, a length, a CRC, a payload, or on a record boundary):
 * replay returns exactly the records wholly before the cut, and no error. */
static void test_torn_tail(void **state) {
    sf_fixture *fx = *state;
    const store_message msgs[] = {msg_short(), msg_korean(), msg_big()};
    const size_t n = sizeof msgs / sizeof msgs[0];
    size_t ends[3];
    char *path = write_log(fx, 1, msgs, n, ends);
    const size_t total = ends[n - 1];
    assert_int_equal(file_size(path), total);
    seen s = {0};
    size_t named = 0; /* the brief's cut points, checked to have been covered */
    for (size_t cut = total + 1; cut-- > 0;) {
        assert_int_equal(truncate(path, (off_t)cut), 0); /* descending: only shrinks */
        size_t whole = 0;
        while (whole < n && ends[whole] <= cut)
            whole++;
        if (whole < n) {
            size_t start = whole ? ends[whole - 1] : FILE_HEADER_BYTES;
            if (cut == start + 2 || cut == start + 6 || cut == start + HEADER_BYTES + 1 ||
                cut == ends[whole] - 1)
                named++; /* inside the length, the CRC, the payload's start and its end */
        }
        int rc = replay(path, 1, &s);
        if (rc != 0 || s.n != whole)
            fail_msg("cut at %zu of %zu: rc %d, %zu records, expected %zu", cut, total, rc, s.n,
                     whole);
        assert_seen(&s, msgs, whole);
    }
    assert_int_equal(named, 4 * n);
    seen_free(&s);
    free(path);
}

/* A flipped byte anywhere in record k (its length, CRC or payload): replay returns exactly the
 * records before k, and no error. A flip inside the file header (magic or generation): nothing. */
static void test_flipped_byte_stops_before_record(void **state) {
    sf_fixture *fx = *state;
    const store_message msgs[] = {msg_short(), msg_korean(), msg_last()};
    const size_t n = sizeof msgs / sizeof msgs[0];
    size_t ends[3];
    char *path = write_log(fx, 1, msgs, n, ends);
    size_t len;
    unsigned char *d = read_file(path, &len);
    assert_int_equal(len, ends[n - 1]);
    static const unsigned char masks[] = {0x01, 0x80, 0xFF};
    seen s = {0};
    for (size_t m = 0; m < sizeof masks; m++) {
        for (size_t at = 0; at < len; at++) {
            size_t before = 0; /* the record holding byte at */
            while (at >= FILE_HEADER_BYTES && ends[before] <= at)
                before++;
            d[at] ^= masks[m];
            write_file(path, d, len);
            d[at] ^= masks[m];
            int rc = replay(path, 1, &s);
            if (rc != 0 || s.n != before)
                fail_msg("byte %zu ^ 0x%02x: rc %d, %zu records, expected %zu", at, masks[m], rc,
                         s.n, before);
            assert_seen(&s, msgs, before);
        }
    }
    /* unflipped, everything comes back */
    write_file(path, d, len);
    assert_int_equal(replay(path, 1, &s), 0);
    assert_seen(&s, msgs, n);
    seen_free(&s);
    free(d);
    free(path);
}

/* A file with only its header, an empty one, one cut inside the header and one with a wrong magic
 * (whole records after it) hold nothing: 0 records, 0. A missing file: a negative errno. */
static void test_empty_and_foreign_files(void **state) {
    sf_fixture *fx = *state;
    uint64_t records = 99;
    msglog log;
    assert_int_equal(msglog_create(&log, fx->path, 1, 0), 0);
    char *only_header = strdup(log.path);
    assert_non_null(only_header);
    msglog_close(&log, 0);
    assert_int_equal(file_size(only_header), FILE_HEADER_BYTES);
    assert_int_equal(msglog_replay(only_header, 1, on_record_never, NULL, &records), 0);
    assert_int_equal(records, 0);

    char empty[256];
    snprintf(empty, sizeof empty, "%s/empty", fx->dir);
    write_file(empty, "", 0);
    records = 99;
    assert_int_equal(msglog_replay(empty, 1, on_record_never, NULL, &records), 0);
    assert_int_equal(records, 0);

    const store_message msgs[] = {msg_short(), msg_korean()};
    char *good = write_log(fx, 2, msgs, 2, NULL);
    size_t len;
    unsigned char *d = read_file(good, &len);
    seen s = {0};
    assert_int_equal(replay(good, 2, &s), 0);
    assert_seen(&s, msgs, 2); /* the records are whole: only the header is at fault below */
    seen_free(&s);
    char other[256];
    snprintf(other, sizeof other, "%s/other", fx->dir);
    for (size_t at = 0; at < MAGIC_BYTES; at++) {
        d[at] ^= 0x20;
        write_file(other, d, len);
        d[at] ^= 0x20;
        records = 99;
        assert_int_equal(msglog_replay(other, 2, on_record_never, NULL, &records), 0);
        assert_int_equal(records, 0);
    }
    d[MAGIC_BYTES - 1] = '1'; /* the first format's magic */
    write_file(other, d, len);
    d[MAGIC_BYTES - 1] = '2';
    records = 99;
    assert_int_equal(msglog_replay(other, 2, on_record_never, NULL, &records), 0);
    assert_int_equal(records, 0);
    for (size_t cut = 1; cut < FILE_HEADER_BYTES; cut++) { /* created, header not yet whole */
        write_file(other, d, cut);
        records = 99;
        assert_int_equal(msglog_replay(other, 2, on_record_never, NULL, &records), 0);
        assert_int_equal(records, 0);
    }

    char missing[256];
    snprintf(missing, sizeof missing, "%s/convo.db-msglog.404", fx->dir);
    records = 99;
    assert_int_equal(msglog_replay(missing, 404, on_record_never, NULL, &records), -ENOENT);
    assert_int_equal(records, 0);
    free(d);
    free(good);
    free(only_header);
}

/* A valid file of generation 3 read as generation 4 holds nothing (0 records, 0): whether it is
 * asked for as 4 under its own name, copied to generation 4's name, or has its header rewritten
 * to say 4 (then the header matches, but every record's checksum was seeded with 3). */
static void test_generation_mismatch(void **state) {
    sf_fixture *fx = *state;
    const store_message msgs[] = {msg_short(), msg_korean(), msg_last()};
    size_t ends[3];
    char *path3 = write_log(fx, 3, msgs, 3, ends);
    seen s = {0};
    assert_int_equal(replay(path3, 3, &s), 0);
    assert_seen(&s, msgs, 3);
    assert_int_not_equal(seed_of(3), seed_of(4));

    uint64_t records = 99;
    assert_int_equal(msglog_replay(path3, 4, on_record_never, NULL, &records), 0);
    assert_int_equal(records, 0);
    static const uint64_t others[] = {0, 2, 0x0100000000000003u, UINT64_MAX};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        records = 99;
        assert_int_equal(msglog_replay(path3, others[i], on_record_never, NULL, &records), 0);
        assert_int_equal(records, 0);
    }

    size_t len;
    unsigned char *d = read_file(path3, &len);
    assert_int_equal(len, ends[2]);
    assert_file_header(d, 3);
    char *path4 = msglog_path(fx->path, 4);
    assert_non_null(path4);
    write_file(path4, d, len); /* gen 3's bytes under gen 4's name */
    records = 99;
    assert_int_equal(msglog_replay(path4, 4, on_record_never, NULL, &records), 0);
    assert_int_equal(records, 0);
    assert_int_equal(replay(path4, 3, &s), 0); /* the header decides, not the name */
    assert_seen(&s, msgs, 3);

    put_le64(d + MAGIC_BYTES, 4); /* header check passed: the records must still fail */
    write_file(path4, d, len);
    records = 99;
    assert_int_equal(msglog_replay(path4, 4, on_record_never, NULL, &records), 0);
    assert_int_equal(records, 0);
    records = 99;
    assert_int_equal(msglog_replay(path4, 3, on_record_never, NULL, &records), 0);
    assert_int_equal(records, 0);
    put_le64(d + MAGIC_BYTES, 3); /* and put back, all of it reads again */
    write_file(path4, d, len);
    assert_int_equal(replay(path4, 3, &s), 0);
    assert_seen(&s, msgs, 3);

    seen_free(&s);
    free(d);
    free(path4);
    free(path3);
}

/* A file created with PREALLOC bytes of zeros: at least that long, its header then zeros; the
 * records written replay exactly (the zeros end them), a record torn anywhere over the zeros is
 * not read, and the file keeps its length. A preallocation shorter than the header, or than the
 * records, is only a start. */
static void test_preallocated_file(void **state) {
    sf_fixture *fx = *state;
    msglog log;
    assert_int_equal(msglog_create(&log, fx->path, 1, PREALLOC), 0);
    assert_int_equal(log.gen, 1);
    assert_int_equal(log.size, FILE_HEADER_BYTES);
    assert_int_equal(log.rows, 0);
    const uint64_t flen = file_size(log.path);
    assert_true(flen >= PREALLOC);
    size_t len;
    unsigned char *d = read_file(log.path, &len);
    assert_file_header(d, 1);
    for (size_t i = FILE_HEADER_BYTES; i < len; i++)
        if (d[i] != 0)
            fail_msg("byte %zu of a new preallocated file is 0x%02x", i, d[i]);
    free(d);
    uint64_t records = 99;
    assert_int_equal(msglog_replay(log.path, 1, on_record_never, NULL, &records), 0);
    assert_int_equal(records, 0);

    const store_message msgs[] = {msg_short(), msg_big(), msg_korean(), msg_last()};
    buf b;
    buf_init(&b, 0);
    encode_all(&log, &b, msgs, 2, NULL);
    assert_int_equal(msglog_write(&log, b.data, b.len, 2), 0);
    encode_all(&log, &b, msgs + 2, 2, NULL);
    assert_int_equal(msglog_write(&log, b.data, b.len, 2), 0);
    assert_int_equal(log.rows, 4);
    size_t formula = FILE_HEADER_BYTES;
    for (size_t i = 0; i < 4; i++)
        formula += HEADER_BYTES + MSGLOG_FIXED_BYTES + strlen(msgs[i].client_msg_id) +
                   strlen(msgs[i].text);
    assert_int_equal(log.size, formula);
    assert_true(log.size < PREALLOC);
    assert_int_equal(file_size(log.path), flen); /* written inside the zeros: no longer */
    seen s = {0};
    assert_int_equal(replay(log.path, 1, &s), 0);
    assert_seen(&s, msgs, 4);
    d = read_file(log.path, &len);
    for (size_t i = (size_t)log.size; i < len; i++)
        if (d[i] != 0)
            fail_msg("byte %zu past the records is 0x%02x", i, d[i]);

    /* a fifth record torn after every byte over the zeros: the four, and the fifth once whole */
    const store_message fifth = msg_short();
    encode_all(&log, &b, &fifth, 1, NULL);
    char torn[256];
    snprintf(torn, sizeof torn, "%s/torn", fx->dir);
    for (size_t k = 0; k <= b.len; k++) {
        memcpy(d + log.size, b.data, k);
        write_file(torn, d, len);
        int rc = replay(torn, 1, &s);
        size_t want = k == b.len ? 5 : 4;
        if (rc != 0 || s.n != want)
            fail_msg("fifth record torn after %zu of %zu bytes: rc %d, %zu records", k, b.len, rc,
                     s.n);
        for (size_t i = 0; i < 4; i++)
            assert_msg_equal(&s.m[i], &msgs[i]);
    }
    assert_msg_equal(&s.m[4], &fifth);
    free(d);

    /* that record written but its write failed: msglog_cut drops it (and the zeros past it) */
    int fd = open(log.path, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, b.data, b.len, (off_t)log.size), (ssize_t)b.len);
    assert_int_equal(close(fd), 0);
    assert_int_equal(replay(log.path, 1, &s), 0);
    assert_int_equal(s.n, 5); /* would come back without the cut */
    assert_int_equal(msglog_cut(&log), 0);
    assert_int_equal(file_size(log.path), log.size);
    assert_int_equal(replay(log.path, 1, &s), 0);
    assert_seen(&s, msgs, 4);
    msglog_close(&log, 1);

    /* shorter than the header: just the header */
    assert_int_equal(msglog_create(&log, fx->path, 2, 5), 0);
    assert_int_equal(log.size, FILE_HEADER_BYTES);
    assert_int_equal(file_size(log.path), FILE_HEADER_BYTES);
    d = read_file(log.path, &len);
    assert_file_header(d, 2);
    free(d);
    msglog_close(&log, 1);

    /* shorter than the records: the file grows past it */
    assert_int_equal(msglog_create(&log, fx->path, 3, 100), 0);
    assert_int_equal(file_size(log.path), 100);
    encode_all(&log, &b, msgs, 2, NULL);
    assert_int_equal(msglog_write(&log, b.data, b.len, 2), 0);
    assert_int_equal(log.size, FILE_HEADER_BYTES + b.len);
    assert_int_equal(file_size(log.path), log.size);
    assert_int_equal(replay(log.path, 3, &s), 0);
    assert_seen(&s, msgs, 2);
    msglog_close(&log, 1);
    seen_free(&s);
    buf_free(&b);
}

/* msglog_reuse: a preallocated generation-1 file holding A, B, C becomes generation 2 (renamed,
 * header rewritten, size and rows reset, length and old bytes kept): none of the old records
 * reads, even whole and at the start; D, shorter than A, is then all that replays, though B and C
 * are intact behind it (and still read as generation 1 when A is put back). Reused again as
 * generation 3: D, whole at the start, does not read; A2 of A's exact length puts the old B on a
 * record boundary, and it still does not read. */
static void test_reuse_file(void **state) {
    sf_fixture *fx = *state;
    const store_message a = msg_big(), b_ = msg_korean(), c = msg_short(), dm = msg_last();
    const store_message abc[] = {a, b_, c};
    msglog one, two, three;
    assert_int_equal(msglog_create(&one, fx->path, 1, PREALLOC), 0);
    buf b;
    buf_init(&b, 0);
    size_t ends[3];
    encode_all(&one, &b, abc, 3, ends);
    for (size_t i = 0; i < 3; i++)
        ends[i] += FILE_HEADER_BYTES;
    assert_int_equal(msglog_write(&one, b.data, b.len, 3), 0);
    char *path1 = strdup(one.path), *path2 = msglog_path(fx->path, 2),
         *path3 = msglog_path(fx->path, 3);
    assert_non_null(path1);
    assert_non_null(path2);
    assert_non_null(path3);
    seen s = {0};
    assert_int_equal(replay(path1, 1, &s), 0);
    assert_seen(&s, abc, 3);
    size_t len;
    unsigned char *before = read_file(path1, &len);
    assert_true(len >= PREALLOC);
    const int fd = one.fd;

    /* ---- reuse as generation 2 ---- */
    assert_int_equal(msglog_reuse(&two, &one, fx->path, 2), 0);
    assert_int_equal(one.fd, -1);
    assert_null(one.path);
    msglog_close(&one, 1); /* closed: does nothing, removes nothing */
    assert_int_equal(two.fd, fd);
    assert_int_equal(two.gen, 2);
    assert_int_equal(two.seed, seed_of(2));
    assert_int_equal(two.size, FILE_HEADER_BYTES);
    assert_int_equal(two.rows, 0);
    assert_string_equal(two.path, path2);
    assert_false(file_exists(path1));
    assert_true(file_exists(path2));
    uint64_t *gens;
    size_t count;
    assert_int_equal(msglog_list(fx->path, &gens, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(gens[0], 2);
    free(gens);
    size_t len2;
    unsigned char *d = read_file(path2, &len2);
    assert_int_equal(len2, len); /* nothing cut: the zeros stay written */
    assert_file_header(d, 2);
    assert_memory_equal(d + FILE_HEADER_BYTES, before + FILE_HEADER_BYTES,
                        len - FILE_HEADER_BYTES); /* old records stay ... */
    free(d);
    uint64_t records = 99; /* ... but A, whole and at the start, does not read */
    assert_int_equal(msglog_replay(path2, 2, on_record_never, NULL, &records), 0);
    assert_int_equal(records, 0);
    records = 99;
    assert_int_equal(msglog_replay(path2, 1, on_record_never, NULL, &records), 0);
    assert_int_equal(records, 0);

    encode_all(&two, &b, &dm, 1, NULL);
    const size_t dlen = b.len;
    assert_true(FILE_HEADER_BYTES + dlen < ends[0]); /* D is shorter than A */
    assert_int_equal(msglog_write(&two, b.data, b.len, 1), 0);
    assert_int_equal(two.size, FILE_HEADER_BYTES + dlen);
    assert_int_equal(two.rows, 1);
    assert_int_equal(file_size(path2), len);
    assert_int_equal(replay(path2, 2, &s), 0);
    assert_seen(&s, &dm, 1);
    d = read_file(path2, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(d + ends[0], before + ends[0], ends[2] - ends[0]); /* B and C intact */
    char copy[256];
    snprintf(copy, sizeof copy, "%s/copy", fx->dir);
    put_le64(d + MAGIC_BYTES, 1); /* as generation 1, header check aside: D stops it at once */
    write_file(copy, d, len);
    records = 99;
    assert_int_equal(msglog_replay(copy, 1, on_record_never, NULL, &records), 0);
    assert_int_equal(records, 0);
    memcpy(d + FILE_HEADER_BYTES, before + FILE_HEADER_BYTES, ends[0] - FILE_HEADER_BYTES);
    write_file(copy, d, len); /* A put back: B and C are whole generation-1 records */
    assert_int_equal(replay(copy, 1, &s), 0);
    assert_seen(&s, abc, 3);
    free(d);

    /* ---- reuse as generation 3 ---- */
    assert_int_equal(msglog_reuse(&three, &two, fx->path, 3), 0);
    assert_int_equal(two.fd, -1);
    assert_null(two.path);
    assert_int_equal(three.gen, 3);
    assert_int_equal(three.seed, seed_of(3));
    assert_int_equal(three.size, FILE_HEADER_BYTES);
    assert_int_equal(three.rows, 0);
    assert_false(file_exists(path2));
    assert_true(file_exists(path3));
    records = 99; /* D, the previous generation's, whole at the start: not read */
    assert_int_equal(msglog_replay(path3, 3, on_record_never, NULL, &records), 0);
    assert_int_equal(records, 0);
    store_message a2 = a; /* A's lengths, other fields */
    a2.id = 900;
    a2.seq = 77;
    a2.sent_at_ms = 1700000009999;
    encode_all(&three, &b, &a2, 1, NULL);
    assert_int_equal(FILE_HEADER_BYTES + b.len, ends[0]);
    assert_int_equal(msglog_write(&three, b.data, b.len, 1), 0);
    d = read_file(path3, &len2);
    assert_int_equal(le32(d + ends[0]), le32(before + ends[0])); /* B's length, on a boundary */
    assert_memory_equal(d + ends[0], before + ends[0], ends[2] - ends[0]);
    free(d);
    assert_int_equal(replay(path3, 3, &s), 0);
    assert_seen(&s, &a2, 1);
    msglog_close(&three, 0);
    assert_int_equal(replay(path3, 3, &s), 0); /* closed, the same */
    assert_seen(&s, &a2, 1);

    seen_free(&s);
    buf_free(&b);
    free(before);
    free(path3);
    free(path2);
    free(path1);
}

/* A reuse that cannot rename (the new name's directory is missing) fails with a negative errno
 * and leaves old as it was: open, its name, its generation, its records. */
static void test_reuse_failure_leaves_old(void **state) {
    sf_fixture *fx = *state;
    const store_message msgs[] = {msg_short(), msg_korean()};
    msglog old, next;
    assert_int_equal(msglog_create(&old, fx->path, 1, PREALLOC), 0);
    buf b;
    buf_init(&b, 0);
    encode_all(&old, &b, msgs, 2, NULL);
    assert_int_equal(msglog_write(&old, b.data, b.len, 2), 0);
    char *path1 = strdup(old.path);
    assert_non_null(path1);
    const int fd = old.fd;
    const uint64_t size = old.size;
    char missing[256];
    snprintf(missing, sizeof missing, "%s/nowhere/convo.db", fx->dir);
    assert_int_equal(msglog_reuse(&next, &old, missing, 2), -ENOENT);
    assert_int_equal(old.fd, fd);
    assert_string_equal(old.path, path1);
    assert_int_equal(old.gen, 1);
    assert_int_equal(old.seed, seed_of(1));
    assert_int_equal(old.size, size);
    assert_int_equal(old.rows, 2);
    seen s = {0};
    assert_int_equal(replay(path1, 1, &s), 0);
    assert_seen(&s, msgs, 2);
    msglog_close(&old, 1);
    assert_false(file_exists(path1));
    seen_free(&s);
    buf_free(&b);
    free(path1);
}

/* msglog_path names generations; msglog_list finds exactly this database's, ascending, among
 * decoys; an empty directory gives none; a missing one, a negative errno. */
static void test_list_generations(void **state) {
    sf_fixture *fx = *state;
    char want[256];
    char *p = msglog_path(fx->path, 12);
    assert_non_null(p);
    snprintf(want, sizeof want, "%s/convo.db-msglog.12", fx->dir);
    assert_string_equal(p, want);
    free(p);

    uint64_t *gens = (uint64_t *)1;
    size_t count = 99;
    assert_int_equal(msglog_list(fx->path, &gens, &count), 0); /* nothing yet */
    assert_null(gens);
    assert_int_equal(count, 0);

    static const uint64_t made[] = {3, 1, 12};
    for (size_t i = 0; i < 3; i++) {
        msglog log;
        assert_int_equal(msglog_create(&log, fx->path, made[i], 0), 0);
        msglog_close(&log, 0);
    }
    static const char *const decoys[] = {
        "convo.db-msglog.",      "convo.db-msglog.7x", "other.db-msglog.2",
        "convo.db-wal",          "convo.db.lock",      "convo.db",
        "convo.db2-msglog.5",    "convo.db-msglog.-4", "xconvo.db-msglog.6",
        "convo.db-msglog.8.tmp",
    };
    for (size_t i = 0; i < sizeof decoys / sizeof decoys[0]; i++)
        make_file(fx, decoys[i]);

    assert_int_equal(msglog_list(fx->path, &gens, &count), 0);
    assert_int_equal(count, 3);
    assert_non_null(gens);
    assert_int_equal(gens[0], 1);
    assert_int_equal(gens[1], 3);
    assert_int_equal(gens[2], 12);
    free(gens);

    char missing[256];
    snprintf(missing, sizeof missing, "%s/nowhere/convo.db", fx->dir);
    gens = (uint64_t *)1;
    count = 99;
    assert_int_equal(msglog_list(missing, &gens, &count), -ENOENT);
    assert_null(gens);
    assert_int_equal(count, 0);
}

/* msglog_create refuses a generation that exists (negative errno, fd -1) and leaves that file
 * alone; msglog_close(log, 1) removes the file, msglog_close(log, 0) keeps it, and a closed
 * msglog does nothing. */
static void test_create_exclusive_and_close_remove(void **state) {
    sf_fixture *fx = *state;
    msglog a, again;
    assert_int_equal(msglog_create(&a, fx->path, 5, 0), 0);
    char *path = strdup(a.path);
    assert_non_null(path);
    buf b;
    buf_init(&b, 0);
    const store_message m = msg_korean();
    encode_all(&a, &b, &m, 1, NULL);
    assert_int_equal(msglog_write(&a, b.data, b.len, 1), 0);
    const uint64_t size = file_size(path);

    assert_int_equal(msglog_create(&again, fx->path, 5, 0), -EEXIST);
    assert_int_equal(again.fd, -1);
    msglog_close(&again, 1); /* closed: must not remove a's file */
    assert_int_equal(file_size(path), size);
    seen s = {0};
    assert_int_equal(replay(path, 5, &s), 0);
    assert_seen(&s, &m, 1);

    msglog_close(&a, 1);
    assert_int_equal(a.fd, -1);
    assert_false(file_exists(path));

    msglog c;
    assert_int_equal(msglog_create(&c, fx->path, 5, 0), 0); /* free again */
    msglog_close(&c, 0);
    assert_true(file_exists(path));
    msglog_close(&c, 1); /* already closed: does nothing */
    assert_true(file_exists(path));
    assert_int_equal(file_size(path), FILE_HEADER_BYTES);
    seen_free(&s);
    buf_free(&b);
    free(path);
}

/* Bytes past the log's size (a write that failed part way, here even a whole valid record) are
 * cut back by msglog_cut; the next write goes after the good records. */
static void test_cut_after_failed_write(void **state) {
    sf_fixture *fx = *state;
    const store_message msgs[] = {msg_short(), msg_korean()};
    const store_message extra = msg_big(), next = msg_last();
    msglog log;
    assert_int_equal(msglog_create(&log, fx->path, 1, 0), 0);
    buf b;
    buf_init(&b, 0);
    encode_all(&log, &b, msgs, 2, NULL);
    assert_int_equal(msglog_write(&log, b.data, b.len, 2), 0);
    const uint64_t good = log.size;
    assert_int_equal(file_size(log.path), good);

    encode_all(&log, &b, &extra, 1, NULL); /* never acknowledged: must not come back */
    append_file(log.path, b.data, b.len);
    append_file(log.path, "\x13\x37garbage", 9);
    assert_int_equal(file_size(log.path), good + b.len + 9);
    assert_int_equal(log.size, good);

    assert_int_equal(msglog_cut(&log), 0);
    assert_int_equal(log.size, good);
    assert_int_equal(file_size(log.path), good);
    seen s = {0};
    assert_int_equal(replay(log.path, 1, &s), 0);
    assert_seen(&s, msgs, 2);

    encode_all(&log, &b, &next, 1, NULL);
    assert_int_equal(msglog_write(&log, b.data, b.len, 1), 0);
    assert_int_equal(log.size, good + b.len);
    assert_int_equal(file_size(log.path), log.size);
    const store_message want[] = {msgs[0], msgs[1], next};
    assert_int_equal(replay(log.path, 1, &s), 0);
    assert_seen(&s, want, 3);

    assert_int_equal(msglog_cut(&log), 0); /* nothing past the size: nothing lost */
    assert_int_equal(replay(log.path, 1, &s), 0);
    assert_seen(&s, want, 3);
    msglog_close(&log, 1);
    seen_free(&s);
    buf_free(&b);
}

/* A callback returning non-zero stops replay at once and its value is returned. */
static void test_callback_stops_replay(void **state) {
    sf_fixture *fx = *state;
    const store_message msgs[] = {msg_short(), msg_korean(), msg_last()};
    char *path = write_log(fx, 1, msgs, 3, NULL);
    static const struct {
        size_t stop_at;
        int rc;
    } cases[] = {{1, 7}, {2, 7}, {3, -1}, {2, -EIO}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seen s = {.stop_at = cases[i].stop_at, .stop_rc = cases[i].rc};
        uint64_t records = 99;
        assert_int_equal(msglog_replay(path, 1, on_record, &s, &records), cases[i].rc);
        assert_int_equal(s.calls, cases[i].stop_at); /* no call after the stop */
        assert_seen(&s, msgs, cases[i].stop_at - 1);
        seen_free(&s);
    }
    free(path);
}

/* rows and size advance with each successful write (size: the file's length); a failed write
 * changes neither. */
static void test_rows_and_size_accounting(void **state) {
    sf_fixture *fx = *state;
    msglog log;
    assert_int_equal(msglog_create(&log, fx->path, 4, 0), 0);
    assert_int_equal(log.size, FILE_HEADER_BYTES);
    assert_int_equal(log.rows, 0);
    assert_int_equal(log.gen, 4);
    assert_int_equal(log.seed, seed_of(4));
    buf b;
    buf_init(&b, 0);

    const store_message two[] = {msg_short(), msg_big()};
    encode_all(&log, &b, two, 2, NULL);
    assert_int_equal(msglog_write(&log, b.data, b.len, 2), 0);
    assert_int_equal(log.rows, 2);
    assert_int_equal(log.size, FILE_HEADER_BYTES + b.len);
    assert_int_equal(file_size(log.path), log.size);
    uint64_t size = log.size;

    const store_message one = msg_korean();
    encode_all(&log, &b, &one, 1, NULL);
    assert_int_equal(msglog_write(&log, b.data, b.len, 1), 0);
    assert_int_equal(log.rows, 3);
    assert_int_equal(log.size, size + b.len);
    assert_int_equal(file_size(log.path), log.size);
    size = log.size;

    /* a write that fails (a read-only descriptor in place of the log's) changes neither */
    int wfd = log.fd;
    log.fd = open(log.path, O_RDONLY | O_CLOEXEC);
    assert_true(log.fd >= 0);
    assert_true(msglog_write(&log, b.data, b.len, 1) < 0);
    assert_int_equal(close(log.fd), 0);
    log.fd = wfd;
    assert_int_equal(log.rows, 3);
    assert_int_equal(log.size, size);
    assert_int_equal(file_size(log.path), size);

    const store_message last = msg_last();
    encode_all(&log, &b, &last, 1, NULL);
    assert_int_equal(msglog_write(&log, b.data, b.len, 1), 0);
    assert_int_equal(log.rows, 4);
    assert_int_equal(log.size, size + b.len);
    assert_int_equal(file_size(log.path), log.size);

    const store_message want[] = {two[0], two[1], one, last};
    seen s = {0};
    assert_int_equal(replay(log.path, 4, &s), 0);
    assert_seen(&s, want, 4);
    msglog_close(&log, 1);
    seen_free(&s);
    buf_free(&b);
}

int main(void) {
    fill_big_strings();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_and_replay_round_trip, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_record_layout_on_disk, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte_stops_before_record, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_foreign_files, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_generation_mismatch, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_preallocated_file, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_reuse_file, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_reuse_failure_leaves_old, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_list_generations, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_create_exclusive_and_close_remove, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_cut_after_failed_write, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_callback_stops_replay, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_rows_and_size_accounting, setup, sf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
