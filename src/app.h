/* app.h — the process's shared context, built by main.c and handed to every api/ module when it
 * registers its routes. Loop thread only. main.c owns every member.
 */
#ifndef CONVO_APP_H
#define CONVO_APP_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "net/http.h"
#include "net/router.h"
#include "store/store.h"

struct app {
    uv_loop_t *loop;
    struct config *cfg;
    store *store;
    router *router;
    http_server *server;
    struct api_auth *auth;  /* api/auth.c: log-in rate limiters */
    struct rt *rt;          /* rt/: sockets, queues, chats */
    uint64_t started_at_ms; /* uv_hrtime based, for uptime */
};

#endif
