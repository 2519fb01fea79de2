/* main.c — wiring: config → logs → data dir → store → routes → HTTP server → run; and the
 * orderly stop on SIGTERM/SIGINT: stop accepting, let in-flight replies finish, drain the store,
 * close every handle, exit 0 (a deadline forces connections closed so the exit stays in time).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/auth.h"
#include "api/catalog.h"
#include "api/chats.h"
#include "api/me.h"
#include "api/ops.h"
#include "app.h"
#include "limits.h"
#include "net/static.h"
#include "rt/rt.h"
#include "util/log.h"

struct process {
    struct app app;
    uv_signal_t sigterm, sigint;
    uv_timer_t deadline;
    int watching; /* the signal handles and the deadline timer are open */
    int stopping;
};

static void on_handle_closed(uv_handle_t *h) {
    (void)h;
}

static void unwatch_signals(struct process *p);

static void on_store_closed(int status, void *arg) {
    struct process *p = arg;
    (void)status;
    unwatch_signals(p);
    log_info("stopped");
}

static void on_rt_closed(void *arg) {
    struct process *p = arg;
    store_shutdown(p->app.store, on_store_closed, p);
}

static void on_server_closed(void *arg) {
    struct process *p = arg;
    rt_shutdown(&p->app, on_rt_closed, p);
}

static void on_deadline(uv_timer_t *t) {
    struct process *p = t->data;
    log_warn("shutdown deadline reached; closing remaining connections");
    http_server_force_close(p->app.server);
}

static void on_signal(uv_signal_t *h, int signum) {
    struct process *p = h->data;
    if (!p->app.server) /* start-up is failing anyway */
        return;
    if (p->stopping) {
        http_server_force_close(p->app.server);
        return;
    }
    p->stopping = 1;
    log_info("stopping", "signal", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    uv_timer_start(&p->deadline, on_deadline, SHUTDOWN_DEADLINE_MS, 0);
    http_server_shutdown(p->app.server, on_server_closed, p);
}

static int start_http(struct process *p) {
    struct config *cfg = p->app.cfg;
    struct http_server_options opt = {
        .host = cfg->listen_host,
        .port = cfg->listen_port,
        .max_connections = cfg->max_connections,
        .dispatch = router_dispatch,
        .dispatch_ctx = p->app.router,
    };
    int rc = http_server_start(p->app.loop, &opt, &p->app.server);
    if (rc != 0) {
        fprintf(stderr, "convo: cannot listen on %s: %s\n", cfg->listen, uv_strerror(rc));
        return -1;
    }
    char addr[96];
    http_server_address(p->app.server, addr, sizeof addr);
    printf("listening on http://%s\n", addr);
    fflush(stdout);
    log_info("listening", "address", addr);
    return 0;
}

static void unwatch_signals(struct process *p) {
    if (!p->watching)
        return;
    p->watching = 0;
    uv_close((uv_handle_t *)&p->sigterm, on_handle_closed);
    uv_close((uv_handle_t *)&p->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&p->deadline, on_handle_closed);
}

static int watch_signals(struct process *p) {
    p->watching = 1;
    uv_signal_init(p->app.loop, &p->sigterm);
    uv_signal_init(p->app.loop, &p->sigint);
    uv_timer_init(p->app.loop, &p->deadline);
    p->sigterm.data = p->sigint.data = p->deadline.data = p;
    uv_signal_start(&p->sigterm, on_signal, SIGTERM);
    uv_signal_start(&p->sigint, on_signal, SIGINT);
    return 0;
}

static int load_config(struct config *cfg, int argc, char **argv, int *exit_code) {
    char err[512];
    enum config_action action;
    if (config_load(cfg, argc, argv, NULL, &action, err, sizeof err) != 0 ||
        (action == CONFIG_RUN && config_prepare_data_dir(cfg, err, sizeof err) != 0)) {
        fprintf(stderr, "convo: %s\n", err);
        *exit_code = 2;
        return -1;
    }
    if (action == CONFIG_HELP || action == CONFIG_VERSION) {
        if (action == CONFIG_HELP)
            config_usage(stdout);
        else
            printf("convo %s\n", CONVO_VERSION);
        *exit_code = 0;
        return -1;
    }
    log_set_level(cfg->log_level);
    return 0;
}

static int open_store(struct process *p) {
    char err[512];
    if (store_open(p->app.loop, p->app.cfg->database_url, &p->app.store, err, sizeof err) != 0) {
        fprintf(stderr, "convo: cannot open the database: %s\n", err);
        return -1;
    }
    return 0;
}

static int register_routes(struct app *app) {
    if (ops_register(app) != 0 || api_catalog_register(app) != 0 || api_auth_register(app) != 0 ||
        api_me_register(app) != 0 || api_chats_register(app) != 0) {
        fprintf(stderr, "convo: cannot register the routes\n");
        return -1;
    }
    return 0;
}

static int start_rt(struct process *p) {
    if (rt_start(&p->app) != 0) {
        fprintf(stderr, "convo: cannot start the real-time layer\n");
        return -1;
    }
    return 0;
}

static void on_store_stopped_after_failure(int status, void *arg) {
    (void)status, (void)arg;
}

static void on_rt_stopped_after_failure(void *arg) {
    struct process *p = arg;
    store_shutdown(p->app.store, on_store_stopped_after_failure, p);
}

/* Start-up failed half-way: stop what did start, so that every handle and thread ends. */
static void stop_after_failed_start(struct process *p) {
    if (p->app.rt && p->app.store)
        rt_shutdown(&p->app, on_rt_stopped_after_failure, p);
    else if (p->app.store)
        store_shutdown(p->app.store, on_store_stopped_after_failure, p);
    uv_run(p->app.loop, UV_RUN_DEFAULT);
}

static void release(struct process *p) {
    if (p->app.server)
        http_server_free(p->app.server);
    if (p->app.store)
        store_free(p->app.store);
    rt_free(&p->app);
    api_auth_free(&p->app);
    router_free(p->app.router);
    uv_loop_close(p->app.loop);
    config_free(p->app.cfg);
}

int main(int argc, char **argv) {
    static struct config cfg;
    static struct process p;
    int exit_code = 0;
    if (load_config(&cfg, argc, argv, &exit_code) != 0) {
        config_free(&cfg);
        return exit_code;
    }
    signal(SIGPIPE, SIG_IGN);
    umask(077); /* the database, its WAL and the secret are readable by this user only */
    p.app.cfg = &cfg;
    p.app.loop = uv_default_loop();
    p.app.started_at_ms = uv_hrtime() / 1000000;
    p.app.router = router_new(static_serve, NULL);
    /* Signals are watched before the listening line is printed: a SIGTERM sent the moment it
     * appears must already stop the server in order. */
    int started = p.app.router && register_routes(&p.app) == 0 && open_store(&p) == 0 &&
                  start_rt(&p) == 0 && watch_signals(&p) == 0;
    if (!started || start_http(&p) != 0) {
        unwatch_signals(&p);
        stop_after_failed_start(&p);
        release(&p);
        return 1;
    }
    uv_run(p.app.loop, UV_RUN_DEFAULT);
    release(&p);
    return 0;
}
