/* signup.c — `relay signup`: creates N accounts with POST /api/v1/auth/signup through a fixed
 * number of slots (bounded concurrency: argon2id costs ~35 ms of server CPU each), each request
 * from a distinct X-Real-IP in 127.0.0.0/8, and writes the access tokens, one a line, in order.
 * A 503 (hash queue full) or a transport error is retried a few times after a pause.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

#define SIGNUP_RETRIES  5
#define SIGNUP_RETRY_MS 200

struct slot {
    struct signup *su;
    uv_timer_t retry;
    int index, tries;
};

struct signup {
    const struct opts *o;
    uv_loop_t *loop;
    uv_timer_t deadline;
    struct slot *slots;
    char **tokens;
    int next, done, busy;
    uint64_t started_ns;
};

static void slot_post(struct slot *s);

/* Gives the slot the next index, or leaves it idle; stops the loop when all are done. */
static void slot_next(struct slot *s) {
    struct signup *su = s->su;
    if (su->next < su->o->users) {
        s->index = su->next++;
        s->tries = 0;
        slot_post(s);
        return;
    }
    if (--su->busy == 0)
        uv_stop(su->loop);
}

static char *token_from_body(const char *body, size_t len) {
    json_t *doc = json_loadb(body, len, 0, NULL);
    const char *t = json_string_value(json_object_get(doc, "accessToken"));
    char *copy = t && strlen(t) < RELAY_TOKEN_MAX ? strdup(t) : NULL;
    json_decref(doc);
    return copy;
}

static void on_retry(uv_timer_t *t) {
    slot_post(t->data);
}

static void on_signup(int status, const char *body, size_t len, void *arg) {
    struct slot *s = arg;
    struct signup *su = s->su;
    if (status == 201 && (su->tokens[s->index] = token_from_body(body, len))) {
        if (++su->done % 1000 == 0)
            fprintf(stderr, "relay: %d accounts\n", su->done);
        slot_next(s);
        return;
    }
    if ((status == 0 || status == 503) && ++s->tries <= SIGNUP_RETRIES) {
        uv_timer_start(&s->retry, on_retry, SIGNUP_RETRY_MS, 0);
        return;
    }
    fatal("sign-up %d failed: HTTP %d %.*s", s->index, status, (int)(len > 300 ? 300 : len),
          body ? body : "");
}

static void slot_post(struct slot *s) {
    struct signup *su = s->su;
    char body[256], headers[64];
    int i = s->index;
    snprintf(body, sizeof body,
             "{\"email\":\"%s-%d@bench.example\",\"password\":\"%s\",\"nickname\":\"relay%d\"}",
             su->o->prefix, i, RELAY_PASSWORD, i);
    snprintf(headers, sizeof headers, "X-Real-IP: 127.%d.%d.%d\r\n", 1 + (i >> 16), (i >> 8) & 255,
             i & 255);
    httpc_post(su->loop, su->o->port, "/api/v1/auth/signup", headers, body, on_signup, s);
}

static void on_deadline(uv_timer_t *t) {
    struct signup *su = t->data;
    fatal("sign-up timed out after %.0f s with %d of %d accounts", su->o->timeout_s, su->done,
          su->o->users);
}

static void write_tokens(const struct signup *su) {
    FILE *f = fopen(su->o->out, "w");
    if (!f)
        fatal("cannot write %s", su->o->out);
    for (int i = 0; i < su->o->users; i++)
        fprintf(f, "%s\n", su->tokens[i]);
    if (fclose(f) != 0)
        fatal("cannot write %s", su->o->out);
}

static void close_handles(struct signup *su, int slots) {
    for (int i = 0; i < slots; i++)
        uv_close((uv_handle_t *)&su->slots[i].retry, NULL);
    uv_close((uv_handle_t *)&su->deadline, NULL);
    uv_run(su->loop, UV_RUN_DEFAULT);
}

int signup_main(const struct opts *o) {
    struct signup su = {.o = o, .loop = uv_default_loop(), .started_ns = now_ns()};
    int slots = o->concurrency < o->users ? o->concurrency : o->users;
    su.slots = xcalloc((size_t)slots, sizeof *su.slots);
    su.tokens = xcalloc((size_t)o->users, sizeof *su.tokens);
    uv_timer_init(su.loop, &su.deadline);
    su.deadline.data = &su;
    uv_timer_start(&su.deadline, on_deadline, (uint64_t)(o->timeout_s * 1000), 0);
    su.busy = slots;
    for (int i = 0; i < slots; i++) {
        su.slots[i].su = &su;
        uv_timer_init(su.loop, &su.slots[i].retry);
        su.slots[i].retry.data = &su.slots[i];
        slot_next(&su.slots[i]);
    }
    uv_run(su.loop, UV_RUN_DEFAULT);
    double secs = (double)(now_ns() - su.started_ns) / 1e9;
    write_tokens(&su);
    printf("signup: users=%d concurrency=%d seconds=%.1f per_s=%.1f\n", o->users, slots, secs,
           o->users / secs);
    close_handles(&su, slots);
    tokens_free(su.tokens, o->users);
    free(su.slots);
    return 0;
}
