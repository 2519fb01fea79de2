/* embed.c — build-time tool: turns files into C arrays (see src/util/embed.h).
 * Usage: convo_embed [--gzip] SYMBOL ROOT OUT.c FILE… — each FILE must lie under ROOT; its path
 * in the array is FILE without ROOT. Entries are sorted by path so the server can binary-search
 * them. With --gzip, each compressible file (text, JavaScript, JSON, SVG, manifest) also gets a
 * gzip copy (zlib level 9) when that is smaller. zlib is linked here only, never into the server.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct input {
    char *path;
    const char *file;
    size_t size;
    size_t gzip_size; /* 0 when there is no gzip copy */
    char etag[20];
};

static const char *content_type_for(const char *path) {
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
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".sql", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(dot, map[i][0]) == 0)
            return map[i][1];
    return "application/octet-stream";
}

/* Text-like types gain from gzip; images (but SVG) and fonts are compressed already. */
static int is_compressible(const char *content_type) {
    return strncmp(content_type, "text/", 5) == 0 || strstr(content_type, "javascript") ||
           strstr(content_type, "json") || strstr(content_type, "svg") ||
           strstr(content_type, "manifest");
}

static int by_path(const void *a, const void *b) {
    return strcmp(((const struct input *)a)->path, ((const struct input *)b)->path);
}

static unsigned char *read_all(const char *file, size_t *size) {
    FILE *f = fopen(file, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    unsigned char *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            unsigned char *grown = realloc(data, cap *= 2);
            if (!grown)
                free(data);
            data = grown;
        }
    }
    fclose(f);
    *size = len;
    return data;
}

/* The gzip member (level 9, no name, mtime 0: the output depends only on the input) of data in
 * *out (caller frees); *out_size is 0 and *out NULL when it would not be smaller. -1 on error. */
static int gzip_bytes(const unsigned char *data, size_t size, unsigned char **out,
                      size_t *out_size) {
    z_stream z = {0};
    *out = NULL;
    *out_size = 0;
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, (uLong)size);
    unsigned char *buf = malloc(cap);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int rc = buf ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
    size_t len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    if (len >= size) {
        free(buf);
        return 0;
    }
    *out = buf;
    *out_size = len;
    return 0;
}

static void emit_bytes(FILE *out, const char *prefix, size_t index, const unsigned char *data,
                       size_t size) {
    fprintf(out, "static const unsigned char %s_%zu[%zu] = {", prefix, index, size + 1);
    for (size_t i = 0; i < size; i++)
        fprintf(out, "%s%u,", i % 24 ? "" : "\n", data[i]);
    fprintf(out, "0};\n");
}

static void set_etag(struct input *in, const unsigned char *data, size_t size) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the bytes */
    for (size_t k = 0; k < size; k++)
        h = (h ^ data[k]) * 1099511628211ULL;
    snprintf(in->etag, sizeof in->etag, "%016llx", (unsigned long long)h);
}

/* Reads one input and writes its array(s): file_N, and gzip_N when a smaller gzip exists. */
static int emit_input(FILE *out, struct input *in, size_t index, int with_gzip) {
    size_t size = 0;
    unsigned char *data = read_all(in->file, &size);
    if (!data) {
        fprintf(stderr, "convo_embed: cannot read %s\n", in->file);
        return -1;
    }
    in->size = size;
    set_etag(in, data, size);
    emit_bytes(out, "file", index, data, size);
    int rc = 0;
    if (with_gzip && is_compressible(content_type_for(in->path))) {
        unsigned char *gz = NULL;
        rc = gzip_bytes(data, size, &gz, &in->gzip_size);
        if (rc == 0 && gz)
            emit_bytes(out, "gzip", index, gz, in->gzip_size);
        else if (rc != 0)
            fprintf(stderr, "convo_embed: cannot compress %s\n", in->file);
        free(gz);
    }
    free(data);
    return rc;
}

static void emit_entry(FILE *out, const struct input *in, size_t index) {
    fprintf(out, "    {\"%s\", \"%s\", \"\\\"%s\\\"\", file_%zu, %zu, ", in->path,
            content_type_for(in->path), in->etag, index, in->size);
    if (in->gzip_size)
        fprintf(out, "gzip_%zu, %zu, \"\\\"%s-gz\\\"\"},\n", index, in->gzip_size, in->etag);
    else
        fprintf(out, "0, 0, 0},\n");
}

static int emit_table(FILE *out, const char *symbol, struct input *inputs, size_t count,
                      int with_gzip) {
    fprintf(out, "/* Generated by tools/embed.c: do not edit. */\n#include \"util/embed.h\"\n");
    for (size_t i = 0; i < count; i++)
        if (emit_input(out, &inputs[i], i, with_gzip) != 0)
            return -1;
    fprintf(out, "const struct embedded_file %s[] = {\n", symbol);
    for (size_t i = 0; i < count; i++)
        emit_entry(out, &inputs[i], i);
    fprintf(out, "    {0, 0, 0, 0, 0, 0, 0, 0}};\nconst size_t %s_count = %zu;\n", symbol, count);
    return 0;
}

static void free_inputs(struct input *inputs, size_t count) {
    for (size_t i = 0; i < count; i++)
        free(inputs[i].path);
    free(inputs);
}

/* The FILE arguments as inputs sorted by path; NULL when one is not under root. */
static struct input *collect_inputs(char **files, size_t count, const char *root) {
    size_t root_len = strlen(root);
    struct input *inputs = calloc(count ? count : 1, sizeof *inputs);
    for (size_t i = 0; inputs && i < count; i++) {
        if (strncmp(files[i], root, root_len) != 0 || files[i][root_len] != '/') {
            fprintf(stderr, "convo_embed: %s is not under %s\n", files[i], root);
            free_inputs(inputs, i);
            return NULL;
        }
        inputs[i].file = files[i];
        inputs[i].path = strdup(files[i] + root_len);
    }
    if (inputs)
        qsort(inputs, count, sizeof *inputs, by_path);
    return inputs;
}

int main(int argc, char **argv) {
    int with_gzip = argc > 1 && strcmp(argv[1], "--gzip") == 0;
    argv += with_gzip;
    argc -= with_gzip;
    if (argc < 4) {
        fprintf(stderr, "usage: convo_embed [--gzip] SYMBOL ROOT OUT.c FILE...\n");
        return 2;
    }
    size_t count = (size_t)(argc - 4);
    struct input *inputs = collect_inputs(argv + 4, count, argv[2]);
    if (!inputs)
        return 1;
    FILE *out = fopen(argv[3], "w");
    int rc = out ? emit_table(out, argv[1], inputs, count, with_gzip) : -1;
    if (out && fclose(out) != 0)
        rc = -1;
    if (rc != 0)
        remove(argv[3]);
    free_inputs(inputs, count);
    return rc == 0 ? 0 : 1;
}
