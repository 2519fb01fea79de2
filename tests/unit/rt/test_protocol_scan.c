/* test_protocol_scan.c — the msg.send fast path of rt/protocol.c (rt_scan_msg_send): the frames it
 * takes are decoded exactly as jansson reads them, anything else is left to jansson (0), and
 * mutated frames are checked against jansson; plus rt_parse_id_text. Frames are copied to
 * exact-size heap buffers, and text goes to a buffer of exactly text_cap bytes, so ASan sees any
 * access past them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rt/protocol.h"

#define CAP 256 /* the text buffer unless a test says otherwise */

struct scanned {
    int rc;
    char *frame; /* an exact-size heap copy of the input: the spans point into it */
    char *text;  /* exactly text_cap bytes */
    struct rt_send_scan out;
};

/* the buffers of the last scan: freed by the next one or by the group teardown, so a failed
 * assertion between a scan and its scanned_free leaks nothing */
static char *live_frame, *live_text;

static void scanned_free(void) {
    free(live_frame);
    free(live_text);
    live_frame = live_text = NULL;
}

static int free_last_scan(void **state) {
    (void)state;
    scanned_free();
    return 0;
}

static struct scanned scan_cap(const char *data, size_t len, size_t cap) {
    struct scanned r;
    scanned_free();
    r.frame = live_frame = malloc(len ? len : 1);
    r.text = live_text = malloc(cap ? cap : 1);
    assert_non_null(r.frame);
    assert_non_null(r.text);
    memcpy(r.frame, data, len);
    memset(&r.out, 0xA5, sizeof r.out);
    r.rc = rt_scan_msg_send(r.frame, len, r.text, cap, &r.out);
    return r;
}

static int scan_rc(const char *data, size_t len, size_t cap) {
    struct scanned r = scan_cap(data, len, cap);
    int rc = r.rc;
    scanned_free();
    return rc;
}

/* literals through sizeof, so a raw NUL byte in one counts */
#define REJECT(lit)          assert_int_equal(scan_rc(lit, sizeof lit - 1, CAP), 0)
#define REJECT_CAP(lit, cap) assert_int_equal(scan_rc(lit, sizeof lit - 1, cap), 0)

static void expect_span(const char *frame, size_t len, const char *at, size_t at_len,
                        const char *want) {
    assert_non_null(at);
    assert_true(at >= frame && at + at_len <= frame + len);
    assert_int_equal(at_len, strlen(want));
    assert_memory_equal(at, want, at_len);
}

/* data is taken with text_cap cap: spans as given (ref NULL: no ref), text of text_len bytes */
static void expect_frame(const char *data, size_t len, size_t cap, const char *chat,
                         const char *cmid, const char *ref, const char *text, size_t text_len) {
    struct scanned r = scan_cap(data, len, cap);
    if (r.rc != 1)
        print_error("not taken with text_cap %zu: %.*s\n", cap, (int)len, data);
    assert_int_equal(r.rc, 1);
    expect_span(r.frame, len, r.out.chat_id, r.out.chat_id_len, chat);
    expect_span(r.frame, len, r.out.client_msg_id, r.out.client_msg_id_len, cmid);
    if (ref)
        expect_span(r.frame, len, r.out.ref, r.out.ref_len, ref);
    else
        assert_null(r.out.ref);
    assert_int_equal(r.out.text_len, text_len);
    if (text_len)
        assert_memory_equal(r.text, text, text_len);
    scanned_free();
}

#define ACCEPT(lit, chat, cmid, ref, text)                                                         \
    expect_frame(lit, sizeof lit - 1, CAP, chat, cmid, ref, text, sizeof text - 1)

/* a frame whose only variable part is the text member, written as json_text */
static void expect_text(const char *json_text, const char *want, size_t want_len) {
    char frame[512];
    int n =
        snprintf(frame, sizeof frame,
                 "{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"%s\"}",
                 json_text);
    expect_frame(frame, (size_t)n, CAP, "1", "m", NULL, want, want_len);
}

#define TEXT(json_text, want) expect_text(json_text, want, sizeof want - 1)

static void test_accepts_client_frames(void **state) {
    (void)state;
    ACCEPT("{\"type\":\"msg.send\",\"chatId\":\"12\",\"clientMsgId\":\"c-1\",\"text\":\"안녕\","
           "\"ref\":\"c-1\"}",
           "12", "c-1", "c-1", "안녕");
    ACCEPT("{\"type\":\"msg.send\",\"chatId\":\"57\",\"clientMsgId\":\"m3-1700000000123\","
           "\"text\":\"1700000000123 u4 m3 xxxxxxxx\"}",
           "57", "m3-1700000000123", NULL, "1700000000123 u4 m3 xxxxxxxx");
}

static void test_accepts_any_member_order(void **state) {
    (void)state;
    ACCEPT("{\"text\":\"hi\",\"ref\":\"r\",\"clientMsgId\":\"m\",\"chatId\":\"1\",\"type\":"
           "\"msg.send\"}",
           "1", "m", "r", "hi");
    ACCEPT("{\"chatId\":\"1\",\"type\":\"msg.send\",\"text\":\"hi\",\"clientMsgId\":\"m\"}", "1",
           "m", NULL, "hi");
    ACCEPT("{\"ref\":\"r\",\"type\":\"msg.send\",\"clientMsgId\":\"m\",\"text\":\"hi\",\"chatId\":"
           "\"9\"}",
           "9", "m", "r", "hi");
    ACCEPT("{\"clientMsgId\":\"m\",\"text\":\"hi\",\"chatId\":\"1\",\"ref\":\"r\",\"type\":"
           "\"msg.send\"}",
           "1", "m", "r", "hi");
}

static void test_accepts_white_space_between_tokens(void **state) {
    (void)state;
    ACCEPT("{ \t\r\n\"type\" \n: \r\"msg.send\"\t,\r\n \"chatId\"\t:\t\"1\" , \"clientMsgId\""
           "  :  \"m\"\n,\n\"text\"\r:\r\" a b \"\t,\t\"ref\" : \"r\"  \r\n\t}",
           "1", "m", "r", " a b ");
    ACCEPT("{\n  \"type\": \"msg.send\",\n  \"chatId\": \"1\",\n  \"clientMsgId\": \"m\",\n  "
           "\"text\": \"x\"\n}",
           "1", "m", NULL, "x");
}

static void test_accepts_escapes_in_text(void **state) {
    (void)state;
    TEXT("\\\"", "\"");
    TEXT("\\\\", "\\");
    TEXT("\\/", "/");
    TEXT("\\b", "\b");
    TEXT("\\f", "\f");
    TEXT("\\n", "\n");
    TEXT("\\r", "\r");
    TEXT("\\t", "\t");
    TEXT("a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti", "a\"b\\c/d\be\ff\ng\rh\ti");
    TEXT("caf\\u00e9", "caf\xc3\xa9");
    TEXT("caf\\u00E9", "caf\xc3\xa9");
    TEXT("\\u0041\\u007f", "A\x7f");
    TEXT("\\u0080\\u07FF", "\xc2\x80\xdf\xbf");
    TEXT("\\u0800\\uFFFF\\uac00", "\xe0\xa0\x80\xef\xbf\xbf\xea\xb0\x80");
    TEXT("\\uD83D\\uDE00", "\xf0\x9f\x98\x80"); /* U+1F600 */
    TEXT("\\ud83d\\ude00!", "\xf0\x9f\x98\x80!");
    TEXT("\\uD800\\uDC00", "\xf0\x90\x80\x80"); /* U+10000 */
    TEXT("\\uDBFF\\uDFFF", "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
    TEXT("a\\u0000b", "a\0b");                  /* a NUL byte, counted */
    TEXT("\\u0000", "\0");
    TEXT("\\u0000\\u0000", "\0\0");
    TEXT("안녕 \\uD83D\\uDE00 \xf0\x9f\x98\x80 \\n", "안녕 \xf0\x9f\x98\x80 \xf0\x9f\x98\x80 \n");
    TEXT("raw / and \x7f and '", "raw / and \x7f and '");
}

static void test_accepts_empty_strings(void **state) {
    (void)state;
    ACCEPT(
        "{\"type\":\"msg.send\",\"chatId\":\"\",\"clientMsgId\":\"\",\"text\":\"\",\"ref\":\"\"}",
        "", "", "", "");
    ACCEPT("{\"type\":\"msg.send\",\"chatId\":\"\",\"clientMsgId\":\"\",\"text\":\"\"}", "", "",
           NULL, "");
}

static void test_accepts_raw_utf8_in_other_strings(void **state) {
    (void)state;
    ACCEPT("{\"type\":\"msg.send\",\"chatId\":\"가\",\"clientMsgId\":\"é\",\"text\":\"t\","
           "\"ref\":\"\xf0\x9f\x98\x80\"}",
           "가", "é", "\xf0\x9f\x98\x80", "t");
}

#define HEAD "{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\","

/* a text of exactly text_cap decoded bytes */
#define FILLS(lit, want)                                                                           \
    expect_frame(lit, sizeof lit - 1, sizeof want - 1, "1", "m", NULL, want, sizeof want - 1)

static void test_takes_text_filling_the_cap(void **state) {
    (void)state;
    FILLS(HEAD "\"text\":\"abcd\"}", "abcd");
    FILLS(HEAD "\"text\":\"a\\uD83D\\uDE00\"}", "a\xf0\x9f\x98\x80");
    FILLS(HEAD "\"text\":\"\\u00e9\\u0000\"}", "\xc3\xa9\0");
    FILLS(HEAD "\"text\":\"\\n\"}", "\n");
    FILLS(HEAD "\"text\":\"\"}", "");
}

static void test_refuses_escapes_outside_text(void **state) {
    (void)state;
    REJECT("{\"type\":\"msg.sen\\u0064\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg\\/send\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"\\u0074ype\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.send\",\"chat\\u0049d\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"te\\xt\":\"t\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"1\\/2\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"\\u0031\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"c\\\"1\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"c\\\\\",\"text\":\"t\"}");
    REJECT(HEAD "\"text\":\"t\",\"ref\":\"r\\n\"}");
    REJECT(HEAD "\"text\":\"t\",\"ref\":\"\\\\\"}");
}

static void test_refuses_other_types(void **state) {
    (void)state;
    REJECT("{\"type\":\"msg.send\",\"chatId\":12,\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":null,\"text\":\"t\"}");
    REJECT(HEAD "\"text\":true}");
    REJECT(HEAD "\"text\":[\"a\"]}");
    REJECT(HEAD "\"text\":\"t\",\"ref\":{\"a\":1}}");
    REJECT(HEAD "\"text\":\"t\",\"ref\":5}");
    REJECT(HEAD "\"text\":\"t\",\"ref\":null}");
    REJECT("{\"type\":5,\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.edit\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.send \",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.sen\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.sendx\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
}

static void test_refuses_wrong_members(void **state) {
    (void)state;
    REJECT(HEAD "\"text\":\"a\",\"text\":\"b\"}");
    REJECT(HEAD "\"text\":\"t\",\"type\":\"msg.send\"}");
    REJECT(HEAD "\"text\":\"t\",\"chatId\":\"1\"}");
    REJECT(HEAD "\"text\":\"t\",\"ref\":\"a\",\"ref\":\"a\"}");
    REJECT(HEAD "\"text\":\"t\",\"extra\":\"1\"}");
    REJECT(HEAD "\"text\":\"t\",\"Ref\":\"1\"}");
    REJECT(HEAD "\"text\":\"t\",\"\":\"1\"}");
    REJECT("{\"type\":\"msg.send\",\"chatid\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text \":\"t\"}");
    REJECT("{\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.send\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"1\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"ref\":\"r\"}");
    REJECT("{}");
    REJECT("");
    REJECT(" ");
}

static void test_refuses_other_shapes(void **state) {
    (void)state;
    REJECT(HEAD "\"text\":\"t\"}x");
    REJECT(HEAD "\"text\":\"t\"}}");
    REJECT(HEAD "\"text\":\"t\"},");
    REJECT(HEAD "\"text\":\"t\"}" HEAD "\"text\":\"t\"}");
    REJECT(HEAD "\"text\":\"t\"}\0");
    REJECT("[" HEAD "\"text\":\"t\"}]");
    REJECT("[\"type\",\"msg.send\",\"chatId\",\"1\",\"clientMsgId\",\"m\",\"text\",\"t\"]");
    REJECT("\"msg.send\"");
    REJECT(HEAD "\"text\":\"t\",}");
    REJECT(HEAD "\"text\":\"t\"");
    REJECT(HEAD "\"text\" \"t\"}");
    REJECT(HEAD "\"text\"::\"t\"}");
    REJECT(HEAD "\"text\":\"t\",,\"ref\":\"r\"}");
    REJECT(HEAD "\"text\":\"t\" \"ref\":\"r\"}");
    REJECT("{,\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT(HEAD "text:\"t\"}");
    REJECT(HEAD "'text':'t'}");
    REJECT(HEAD "\"text\":\"t\"\v}");       /* not JSON white space */
    REJECT(HEAD "\"text\":\"t\"\f}");       /* nor this */
    REJECT(HEAD "\"text\":\"t\"\xc2\xa0}"); /* nor U+00A0 */
    REJECT(HEAD "\"text\":\"t\"/* c */}");
}

static void test_refuses_bad_escapes_in_text(void **state) {
    (void)state;
    REJECT(HEAD "\"text\":\"\\uD800\"}");
    REJECT(HEAD "\"text\":\"a\\uD800b\"}");
    REJECT(HEAD "\"text\":\"\\uDC00\"}");
    REJECT(HEAD "\"text\":\"\\uDFFF\\uD800\"}");
    REJECT(HEAD "\"text\":\"\\uD800\\u0041\"}");
    REJECT(HEAD "\"text\":\"\\uD83D\\uD83D\"}");
    REJECT(HEAD "\"text\":\"\\uD800\\n\"}");
    REJECT(HEAD "\"text\":\"\\uD800\\\"}");
    REJECT(HEAD "\"text\":\"\\uD800\\uDC0\"}");
    REJECT(HEAD "\"text\":\"\\x\"}");
    REJECT(HEAD "\"text\":\"\\u12G4\"}");
    REJECT(HEAD "\"text\":\"\\u12\"}");
    REJECT(HEAD "\"text\":\"\\u\"}");
    REJECT(HEAD "\"text\":\"\\U00e9\"}");
    REJECT(HEAD "\"text\":\"\\'\"}");
    REJECT(HEAD "\"text\":\"\\0\"}");
    REJECT(HEAD "\"text\":\"\\a\"}");
    REJECT(HEAD "\"text\":\"\\ \"}");
    REJECT(HEAD "\"text\":\"\\\"}");
}

static void test_refuses_raw_control_bytes(void **state) {
    (void)state;
    REJECT(HEAD "\"text\":\"a\tb\"}");
    REJECT(HEAD "\"text\":\"a\nb\"}");
    REJECT(HEAD "\"text\":\"a\rb\"}");
    REJECT(HEAD "\"text\":\"a\0b\"}");
    REJECT(HEAD "\"text\":\"a\x1f\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"1\t\",\"clientMsgId\":\"m\",\"text\":\"t\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"\x01\",\"text\":\"t\"}");
    REJECT(HEAD "\"text\":\"t\",\"ref\":\"\n\"}");
    REJECT("{\"type\":\"msg.send\",\"chatId\":\"1\",\"client\x1bMsgId\":\"m\",\"text\":\"t\"}");
}

static void test_refuses_text_over_cap(void **state) {
    (void)state;
    REJECT_CAP(HEAD "\"text\":\"abcd\"}", 3);
    REJECT_CAP(HEAD "\"text\":\"0123456789\"}", 9);
    REJECT_CAP(HEAD "\"text\":\"a\\uD83D\\uDE00\"}", 4); /* the 4-byte character does not fit */
    REJECT_CAP(HEAD "\"text\":\"a\\uD83D\\uDE00\"}", 2);
    REJECT_CAP(HEAD "\"text\":\"\\u00e9\\u0000\"}", 2);
    REJECT_CAP(HEAD "\"text\":\"가\"}", 2);
    REJECT_CAP(HEAD "\"text\":\"\\n\\n\\n\"}", 2);
    REJECT_CAP(HEAD "\"text\":\"a\"}", 0);
}

static void test_refuses_every_prefix(void **state) {
    (void)state;
    static const char *frames[] = {
        "{\"type\":\"msg.send\",\"chatId\":\"12\",\"clientMsgId\":\"c-1\",\"text\":\"안녕 "
        "\\uD83D\\uDE00\\u0000\\n\",\"ref\":\"c-1\"}",
        "{ \"text\" : \"a\\\"b\" , \"type\" : \"msg.send\" , \"clientMsgId\" : \"m\" , "
        "\"chatId\" : \"1\" }",
    };
    for (size_t f = 0; f < sizeof frames / sizeof *frames; f++) {
        size_t len = strlen(frames[f]);
        assert_int_equal(scan_rc(frames[f], len, CAP), 1);
        for (size_t n = 0; n < len; n++)
            assert_int_equal(scan_rc(frames[f], n, CAP), 0);
    }
}

/* --- against jansson ------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static size_t below(size_t n) {
    return n ? (size_t)(rng() % n) : 0;
}

/* strict UTF-8, as jansson checks it: no overlongs, no surrogates, nothing past U+10FFFF */
static int valid_utf8(const unsigned char *s, size_t len) {
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : (c & 0xF0) == 0xE0 ? 2 : 3;
        if ((c >= 0x80 && c < 0xC2) || c > 0xF4 || i + n >= len)
            return 0;
        uint32_t cp = c & (0x7Fu >> n); /* the lead byte's payload bits */
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* single bytes (the terminating NUL counts: a raw NUL byte), and whole tokens */
static const char alphabet[] = "{}[]\":,\\ u0D8E\t\n\ra1ntbfxGc/\x7f\x01";
static const char *const tokens[] = {"é",
                                     "안",
                                     "\xf0\x9f\x98\x80",
                                     "\\u",
                                     "\\uD83D",
                                     "\\uDE00",
                                     "\\u0000",
                                     "\\uDC00",
                                     "\\u00e9",
                                     "\\\"",
                                     "\\\\",
                                     "\"ref\"",
                                     "\"text\"",
                                     "\"type\"",
                                     "\"chatId\"",
                                     "\"clientMsgId\"",
                                     "\"msg.send\"",
                                     ":\"\"",
                                     ",\"ref\":\"r\"",
                                     "5",
                                     "null",
                                     "{}"};

#define TOKEN_COUNT (sizeof tokens / sizeof *tokens)
#define MUT_MAX     1024

static size_t piece(const char **p) {
    if (rng() % 3) {
        *p = alphabet + below(sizeof alphabet);
        return 1;
    }
    *p = tokens[below(TOKEN_COUNT)];
    return strlen(*p);
}

static size_t insert(char *buf, size_t len, size_t at, const char *s, size_t n) {
    if (len + n > MUT_MAX)
        return len;
    memmove(buf + at + n, buf + at, len - at);
    memcpy(buf + at, s, n);
    return len + n;
}

static size_t mutate(char *buf, size_t len) {
    const char *p;
    size_t n, at = below(len + 1);
    switch (rng() % 5) {
        case 0: /* replace one byte */
            if (len) {
                n = piece(&p);
                at = below(len);
                memmove(buf + at, buf + at + 1, len - at - 1);
                len = insert(buf, len - 1, at, p, n);
            }
            return len;
        case 1: /* insert */
            n = piece(&p);
            return insert(buf, len, at, p, n);
        case 2: /* delete 1–4 bytes, or now and then up to a whole member */
            n = 1 + below(rng() % 4 ? 4 : 32);
            if (at + n > len)
                n = len - at;
            memmove(buf + at, buf + at + n, len - at - n);
            return len - n;
        case 3: { /* duplicate a slice elsewhere */
            char slice[MUT_MAX];
            size_t from = below(len + 1), span = below(len - from + 1);
            if (span > 64)
                span = 64;
            memcpy(slice, buf + from, span);
            return insert(buf, len, at, slice, span);
        }
        default: /* flip a byte to an ASCII neighbour */
            if (len)
                buf[below(len)] ^= (char)(1u << below(7));
            return len;
    }
}

static void expect_member(json_t *obj, const char *key, const char *at, size_t at_len) {
    json_t *v = json_object_get(obj, key);
    assert_non_null(v);
    assert_true(json_is_string(v));
    assert_int_equal(json_string_length(v), at_len);
    assert_memory_equal(json_string_value(v), at, at_len);
}

/* the scan said 1: jansson must read the same frame, member for member, byte for byte */
static void agree_with_jansson(const char *data, size_t len, const char *text,
                               const struct rt_send_scan *s) {
    json_error_t err;
    json_t *obj =
        json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!obj)
        print_error("scan took a frame jansson refuses (%s): %.*s\n", err.text, (int)len, data);
    assert_non_null(obj);
    assert_true(json_is_object(obj));
    assert_int_equal(json_object_size(obj), s->ref ? 5 : 4);
    expect_member(obj, "type", "msg.send", 8);
    expect_member(obj, "chatId", s->chat_id, s->chat_id_len);
    expect_member(obj, "clientMsgId", s->client_msg_id, s->client_msg_id_len);
    expect_member(obj, "text", text, s->text_len);
    if (s->ref)
        expect_member(obj, "ref", s->ref, s->ref_len);
    else
        assert_null(json_object_get(obj, "ref"));
    json_decref(obj);
}

static const char *const seeds[] = {
    "{\"type\":\"msg.send\",\"chatId\":\"12\",\"clientMsgId\":\"c-1\",\"text\":\"안녕\",\"ref\":"
    "\"c-1\"}",
    "{\"type\":\"msg.send\",\"chatId\":\"57\",\"clientMsgId\":\"m3-1700000000123\",\"text\":"
    "\"1700000000123 u4 m3 xxxx\"}",
    "{\"text\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti \\u00e9\\uD83D\\uDE00\\u0000\",\"ref\":\"r\","
    "\"clientMsgId\":\"m\",\"chatId\":\"1\",\"type\":\"msg.send\"}",
    "{ \"type\" : \"msg.send\" ,\n\t\"chatId\":\"1\" ,\r\n\"clientMsgId\" :\"m\", \"text\":\" \" }",
    "{\"type\":\"msg.send\",\"chatId\":\"\",\"clientMsgId\":\"\",\"text\":\"\",\"ref\":\"\"}",
    "{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\",\"ref\":5}",
    "{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\",\"text\":\"u\"}",
    "{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"\\uD800\\u0041\"}",
    "{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\",\"x\":\"r\"}",
    "{\"type\":\"msg.sen\\u0064\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}",
    "[{\"type\":\"msg.send\",\"chatId\":\"1\",\"clientMsgId\":\"m\",\"text\":\"t\"}]",
};

#define SEED_COUNT (sizeof seeds / sizeof *seeds)
#define ROUNDS     200000

static void test_agrees_with_jansson_on_mutants(void **state) {
    (void)state;
    static char buf[MUT_MAX];
    long tried = 0, accepted = 0;
    for (long i = 0; i < ROUNDS; i++) {
        size_t len = strlen(seeds[i % SEED_COUNT]);
        memcpy(buf, seeds[i % SEED_COUNT], len);
        for (size_t m = rng() % 2 ? 1 : 2 + below(3); m > 0; m--)
            len = mutate(buf, len);
        if (!valid_utf8((const unsigned char *)buf, len))
            continue;
        tried++;
        size_t cap = rng() % 8 ? CAP : below(12);
        struct scanned r = scan_cap(buf, len, cap);
        if (r.rc != 0) {
            assert_int_equal(r.rc, 1);
            assert_true(r.out.text_len <= cap);
            agree_with_jansson(r.frame, len, r.text, &r.out);
            accepted++;
        }
        scanned_free();
    }
    print_message("%ld mutants scanned, %ld taken and checked against jansson\n", tried, accepted);
    assert_true(tried > ROUNDS / 2);
    assert_true(accepted > 2000); /* not vacuous: about 6000 are taken */
}

/* --- frames built from the grammar: each must be taken, decoded as built ------------------ */

enum { G_TYPE, G_CHAT_ID, G_CLIENT_MSG_ID, G_TEXT, G_REF, G_COUNT };

struct built {
    char frame[2048];
    size_t len;
    char value[G_COUNT][256]; /* each member's value, decoded */
    size_t value_len[G_COUNT];
};

static void put(struct built *b, const char *s, size_t n) {
    memcpy(b->frame + b->len, s, n);
    b->len += n;
}

static void put_space(struct built *b) {
    for (size_t n = rng() % 3 ? 0 : 1 + below(3); n > 0; n--)
        put(b, " \t\r\n" + below(4), 1);
}

static size_t utf8_of(uint32_t cp, char *out) {
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned lead[] = {0, 0x00, 0xC0, 0xE0, 0xF0};
    for (size_t i = n - 1; i > 0; i--, cp >>= 6)
        out[i] = (char)(0x80 | (cp & 0x3F));
    out[0] = (char)(lead[n] | cp);
    return n;
}

/* a random code point that is not a surrogate, small ones more often */
static uint32_t code_point(void) {
    static const uint32_t top[] = {0x80, 0x800, 0x10000, 0x110000};
    uint32_t cp;
    do
        cp = (uint32_t)below(top[below(4)]);
    while (cp >= 0xD800 && cp <= 0xDFFF);
    return cp;
}

/* one character as written raw: no quote, no backslash, no control byte */
static uint32_t raw_code_point(void) {
    uint32_t cp;
    do
        cp = code_point();
    while (cp < 0x20 || cp == '"' || cp == '\\');
    return cp;
}

static void put_hex4(struct built *b, unsigned v) {
    const char *digits = rng() % 2 ? "0123456789abcdef" : "0123456789ABCDEF";
    char hex[6] = {'\\', 'u'};
    for (int i = 0; i < 4; i++)
        hex[2 + i] = digits[v >> (12 - 4 * i) & 0xF];
    put(b, hex, 6);
}

/* a string value into member m: raw characters, and escapes when it is the text */
static void put_string(struct built *b, int m) {
    static const char simple[] = "\"\\/bfnrt", meaning[] = "\"\\/\b\f\n\r\t";
    char *v = b->value[m];
    size_t *n = &b->value_len[m];
    *n = 0;
    put(b, "\"", 1);
    for (size_t k = below(12); k > 0; k--) {
        uint32_t cp = m == G_TEXT && rng() % 2 ? code_point() : raw_code_point();
        size_t at = *n;
        *n += utf8_of(cp, v + at);
        if (m != G_TEXT || (cp >= 0x20 && cp != '"' && cp != '\\' && rng() % 2)) {
            put(b, v + at, *n - at);
        } else if (cp && cp < 0x80 && strchr(meaning, (int)cp) && rng() % 2) {
            char esc[2] = {'\\', simple[strchr(meaning, (int)cp) - meaning]};
            put(b, esc, 2);
        } else if (cp < 0x10000) {
            put_hex4(b, cp);
        } else {
            put_hex4(b, 0xD800 + ((cp - 0x10000) >> 10));
            put_hex4(b, 0xDC00 + ((cp - 0x10000) & 0x3FF));
        }
    }
    put(b, "\"", 1);
}

static void build(struct built *b, int with_ref) {
    static const char *const keys[G_COUNT] = {"type", "chatId", "clientMsgId", "text", "ref"};
    int order[G_COUNT] = {G_TYPE, G_CHAT_ID, G_CLIENT_MSG_ID, G_TEXT, G_REF};
    int count = with_ref ? 5 : 4;
    for (int i = count - 1; i > 0; i--) {
        size_t j = below((size_t)i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    b->len = 0;
    put_space(b);
    put(b, "{", 1);
    for (int i = 0; i < count; i++) {
        int m = order[i];
        put_space(b);
        put(b, "\"", 1);
        put(b, keys[m], strlen(keys[m]));
        put(b, "\"", 1);
        put_space(b);
        put(b, ":", 1);
        put_space(b);
        if (m == G_TYPE) {
            put(b, "\"msg.send\"", 10);
            memcpy(b->value[m], "msg.send", b->value_len[m] = 8);
        } else {
            put_string(b, m);
        }
        put_space(b);
        put(b, i + 1 < count ? "," : "}", 1);
    }
    put_space(b);
}

#define BUILT 20000

static void test_takes_built_frames(void **state) {
    (void)state;
    static struct built b;
    for (int i = 0; i < BUILT; i++) {
        int with_ref = i % 2;
        build(&b, with_ref);
        struct scanned r = scan_cap(b.frame, b.len, CAP);
        if (r.rc != 1)
            print_error("not taken: %.*s\n", (int)b.len, b.frame);
        assert_int_equal(r.rc, 1);
        agree_with_jansson(r.frame, b.len, r.text, &r.out);
        assert_int_equal(r.out.text_len, b.value_len[G_TEXT]);
        assert_memory_equal(r.text, b.value[G_TEXT], b.value_len[G_TEXT]);
        assert_int_equal(r.out.chat_id_len, b.value_len[G_CHAT_ID]);
        assert_memory_equal(r.out.chat_id, b.value[G_CHAT_ID], b.value_len[G_CHAT_ID]);
        assert_int_equal(r.out.client_msg_id_len, b.value_len[G_CLIENT_MSG_ID]);
        assert_memory_equal(r.out.client_msg_id, b.value[G_CLIENT_MSG_ID],
                            b.value_len[G_CLIENT_MSG_ID]);
        if (with_ref) {
            assert_int_equal(r.out.ref_len, b.value_len[G_REF]);
            assert_memory_equal(r.out.ref, b.value[G_REF], b.value_len[G_REF]);
        }
        scanned_free();
    }
}

static void test_parse_id_text(void **state) {
    (void)state;
    assert_int_equal(rt_parse_id_text("42", 2), 42);
    assert_int_equal(rt_parse_id_text("42x", 2), 42); /* len bytes only */
    assert_int_equal(rt_parse_id_text("", 0), 0);
    assert_int_equal(rt_parse_id_text("0", 1), 0);
    assert_int_equal(rt_parse_id_text("0x1", 3), 0);
    assert_int_equal(rt_parse_id_text("-1", 2), 0);
    assert_int_equal(rt_parse_id_text("+1", 2), 0);
    assert_int_equal(rt_parse_id_text(" 4", 2), 0);
    assert_int_equal(rt_parse_id_text("4 ", 2), 0);
    assert_int_equal(rt_parse_id_text("123456789012345678", 18), 123456789012345678LL);
    assert_int_equal(rt_parse_id_text("1234567890123456789", 19), 0);
    assert_int_equal(rt_parse_id_text("9999999999999999999999", 22), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_client_frames),
        cmocka_unit_test(test_accepts_any_member_order),
        cmocka_unit_test(test_accepts_white_space_between_tokens),
        cmocka_unit_test(test_accepts_escapes_in_text),
        cmocka_unit_test(test_accepts_empty_strings),
        cmocka_unit_test(test_accepts_raw_utf8_in_other_strings),
        cmocka_unit_test(test_takes_text_filling_the_cap),
        cmocka_unit_test(test_refuses_escapes_outside_text),
        cmocka_unit_test(test_refuses_other_types),
        cmocka_unit_test(test_refuses_wrong_members),
        cmocka_unit_test(test_refuses_other_shapes),
        cmocka_unit_test(test_refuses_bad_escapes_in_text),
        cmocka_unit_test(test_refuses_raw_control_bytes),
        cmocka_unit_test(test_refuses_text_over_cap),
        cmocka_unit_test(test_refuses_every_prefix),
        cmocka_unit_test(test_agrees_with_jansson_on_mutants),
        cmocka_unit_test(test_takes_built_frames),
        cmocka_unit_test(test_parse_id_text),
    };
    return cmocka_run_group_tests(tests, NULL, free_last_scan);
}
