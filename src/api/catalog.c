/* catalog.c (api) — GET /api/v1/categories, rendered once from util/catalog.h and then served
 * from memory. */
#include "api/catalog.h"

#include <stdlib.h>
#include <string.h>

#include "net/http_reply.h"
#include "util/catalog.h"

static char *categories_json; /* built at registration; lives for the process */

static void handle_categories(http_request *req, void *ctx) {
    (void)ctx;
    http_reply(req, 200, "application/json; charset=utf-8", categories_json,
               strlen(categories_json), "Cache-Control: public, max-age=3600\r\n");
}

static char *render_categories(void) {
    json_t *list = json_array();
    for (size_t i = 0; i < catalog_category_count; i++) {
        const struct catalog_category *c = &catalog_categories[i];
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s}", "id", c->id, "ko", c->ko, "en", c->en));
    }
    json_t *doc = json_pack("{s:o}", "categories", list);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

int api_catalog_register(struct app *app) {
    if (!categories_json && !(categories_json = render_categories()))
        return -1;
    return router_add(app->router, ROUTE_METHOD(HTTP_GET), "/api/v1/categories", handle_categories,
                      app, 0);
}
