/* static.h — serves the web client embedded into the binary (util/embed.h): exact files, the
 * index for "/" and for client routes (a last segment with no dot), a JSON 404 for a missing
 * asset. GET and HEAD only; ETag / If-None-Match; security headers on HTML.
 * Compression: a file with a gzip copy (made at build time) is sent gzipped, with
 * Content-Encoding: gzip and ETag "<tag>-gz", when the request's Accept-Encoding allows it; such
 * files always carry Vary: Accept-Encoding. Nothing is compressed at run time.
 */
#ifndef CONVO_STATIC_H
#define CONVO_STATIC_H

#include <stddef.h>

#include "net/http.h"
#include "util/embed.h"

/* A table of files to serve (sorted as util/embed.h's arrays are). */
struct static_site {
    const struct embedded_file *files;
    size_t count;
};

/* A route_handler: the router's fallback for paths outside /api/. ctx is a struct static_site,
 * or NULL for the embedded web client (web_assets). */
void static_serve(http_request *req, void *ctx);

/* Whether Accept-Encoding field values (several field lines are one comma list, RFC 9110
 * §12.5.3) let the gzip copy be sent: codings are case-insensitive tokens, "x-gzip" is gzip,
 * "*" stands for any coding not listed, q=0 (or an invalid q) means not acceptable. gzip is
 * chosen when its q is above 0 and not below identity's (identity listed, or covered by "*").
 * An empty value (or no field at all) means identity only. */
struct static_accept_encoding {
    int gzip_q, identity_q, any_q; /* thousandths; -1 = not listed */
};
void static_accept_encoding_init(struct static_accept_encoding *ae);
void static_accept_encoding_parse(struct static_accept_encoding *ae, const char *value, size_t len);
int static_accept_encoding_gzip(const struct static_accept_encoding *ae);

#endif
