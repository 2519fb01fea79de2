/* embed.h — files compiled into the binary by tools/embed.c (web/ and the SQL migrations).
 * Arrays are sorted by path (bytewise), so lookups can binary-search. Data is NUL-terminated
 * (the NUL is not counted in size), so text files can be used as C strings. web/'s compressible
 * files also carry a gzip copy made at build time (the server never compresses at run time).
 */
#ifndef CONVO_EMBED_H
#define CONVO_EMBED_H

#include <stddef.h>

struct embedded_file {
    const char *path;         /* relative to the embedded root, with a leading '/': "/index.html" */
    const char *content_type; /* from the extension; "application/octet-stream" when unknown */
    const char *etag;         /* strong ETag with quotes, from a hash of the bytes */
    const unsigned char *data;
    size_t size;
    const unsigned char *gzip_data; /* gzip (zlib level 9) of data; NULL when not smaller or not
                                       made (migrations, images, fonts) */
    size_t gzip_size;
    const char *gzip_etag; /* etag with "-gz" inside the quotes; NULL with gzip_data */
};

extern const struct embedded_file web_assets[];
extern const size_t web_assets_count;
extern const struct embedded_file store_migrations[];
extern const size_t store_migrations_count;

/* Binary search by exact path; NULL when absent. */
const struct embedded_file *embed_find(const struct embedded_file *files, size_t count,
                                       const char *path, size_t path_len);

#endif
