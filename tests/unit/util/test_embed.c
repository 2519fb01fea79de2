/* test_embed.c — tests of util/embed.c (embed_find) and of the tables tools/embed.c generates
 * for web/ and the migrations: sorted paths, content types by extension, ETags, and the gzip
 * copies (only for compressible types, smaller than the file, decompressing to its bytes, with
 * the file's ETag plus "-gz"). The tables are whatever web/ holds at build time, so the checks
 * hold for every entry rather than for named files (index.html excepted: it always exists).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/embed.h"

static void test_find(void **state) {
    (void)state;
    const struct embedded_file *f = embed_find(web_assets, web_assets_count, "/index.html", 11);
    assert_non_null(f);
    assert_string_equal(f->path, "/index.html");
    assert_null(embed_find(web_assets, web_assets_count, "/index.htm", 10));
    assert_null(embed_find(web_assets, web_assets_count, "/index.html5", 12));
    assert_null(embed_find(web_assets, web_assets_count, "", 0));
    assert_null(embed_find(web_assets, 0, "/index.html", 11));
    for (size_t i = 0; i < web_assets_count; i++)
        assert_ptr_equal(embed_find(web_assets, web_assets_count, web_assets[i].path,
                                    strlen(web_assets[i].path)),
                         &web_assets[i]);
}

static void assert_sorted(const struct embedded_file *files, size_t count) {
    for (size_t i = 1; i < count; i++)
        if (strcmp(files[i - 1].path, files[i].path) >= 0)
            fail_msg("%s is not before %s", files[i - 1].path, files[i].path);
    assert_null(files[count].path); /* the terminating entry */
}

static void test_sorted(void **state) {
    (void)state;
    assert_sorted(web_assets, web_assets_count);
    assert_sorted(store_migrations, store_migrations_count);
}

static const char *extension(const char *path) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot : "";
}

/* The type each extension the web client uses must get; NULL for one not listed here. */
static const char *expected_type(const char *ext) {
    static const char *const map[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".webmanifest", "application/manifest+json; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".webp", "image/webp"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(ext, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static void test_content_types(void **state) {
    (void)state;
    for (size_t i = 0; i < web_assets_count; i++) {
        const struct embedded_file *f = &web_assets[i];
        const char *want = expected_type(extension(f->path));
        if (want && strcmp(f->content_type, want) != 0)
            fail_msg("%s: Content-Type %s, expected %s", f->path, f->content_type, want);
    }
    for (size_t i = 0; i < store_migrations_count; i++)
        assert_string_equal(store_migrations[i].content_type, "text/plain; charset=utf-8");
}

static int is_compressible(const char *type) {
    return strncmp(type, "text/", 5) == 0 || strstr(type, "javascript") || strstr(type, "json") ||
           strstr(type, "svg") || strstr(type, "manifest");
}

/* Decompresses a whole gzip member and compares it with want. */
static void assert_gunzips_to(const struct embedded_file *f) {
    z_stream z = {0};
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    unsigned char *out = malloc(f->size + 1);
    assert_non_null(out);
    z.next_in = (Bytef *)f->gzip_data;
    z.avail_in = (uInt)f->gzip_size;
    z.next_out = out;
    z.avail_out = (uInt)(f->size + 1);
    int rc = inflate(&z, Z_FINISH);
    size_t len = z.total_out;
    inflateEnd(&z);
    int same = rc == Z_STREAM_END && len == f->size && memcmp(out, f->data, len) == 0;
    free(out);
    if (!same)
        fail_msg("%s: the gzip copy does not decompress to the file (rc %d, %zu bytes)", f->path,
                 rc, len);
}

static void assert_gzip_copy(const struct embedded_file *f) {
    char want_etag[64];
    size_t etag_len = strlen(f->etag);
    assert_true(is_compressible(f->content_type));
    assert_true(f->gzip_size > 0 && f->gzip_size < f->size);
    assert_int_equal(f->gzip_data[f->gzip_size], 0);
    assert_true(etag_len > 2 && etag_len + 3 < sizeof want_etag);
    memcpy(want_etag, f->etag, etag_len - 1);
    strcpy(want_etag + etag_len - 1, "-gz\"");
    assert_non_null(f->gzip_etag);
    assert_string_equal(f->gzip_etag, want_etag);
    assert_gunzips_to(f);
}

static void test_gzip_copies(void **state) {
    (void)state;
    for (size_t i = 0; i < web_assets_count; i++) {
        const struct embedded_file *f = &web_assets[i];
        if (f->gzip_data)
            assert_gzip_copy(f);
        else
            assert_null(f->gzip_etag);
        /* text of a few hundred bytes always shrinks under gzip */
        if (is_compressible(f->content_type) && f->size >= 512 && !f->gzip_data)
            fail_msg("%s (%zu bytes, %s) has no gzip copy", f->path, f->size, f->content_type);
    }
    assert_non_null(embed_find(web_assets, web_assets_count, "/index.html", 11)->gzip_data);
    for (size_t i = 0; i < store_migrations_count; i++)
        assert_null(store_migrations[i].gzip_data);
}

static void test_etags(void **state) {
    (void)state;
    for (size_t i = 0; i < web_assets_count; i++) {
        const char *etag = web_assets[i].etag;
        size_t len = strlen(etag);
        assert_true(len > 2 && etag[0] == '"' && etag[len - 1] == '"');
        assert_ptr_equal(strchr(etag + 1, '"'), etag + len - 1);
        assert_int_equal(web_assets[i].data[web_assets[i].size], 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),          cmocka_unit_test(test_sorted),
        cmocka_unit_test(test_content_types), cmocka_unit_test(test_gzip_copies),
        cmocka_unit_test(test_etags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
