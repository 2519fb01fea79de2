/* relay.c — `relay run`: 2·P users (tokens from a file) open a WebSocket each, authenticate,
 * match.start in one category so they pair up, then every user sends msg.send frames to its
 * chat for D seconds — either keeping a window of W unacked messages (throughput), or at a fixed
 * total offered rate R paced by a 1 ms timer (latency). Measured: msg.ack/s at the sender,
 * msg.new/s at the PARTNER, send → partner-delivery and send → ack latency; checked: every ack
 * has its msg.new at the partner, seq has no gaps, no error or unexpected close.
 * Each message text starts with its send time (uv_hrtime ns), so the partner needs no lookup.
 * A client-side token bucket per socket (default 19 frames/s, burst 20) keeps each socket under
 * the server's policy (SPEC §4: 20 frames/s, burst 40, then RATE_LIMITED and close 1008).
 * Phases, each with a deadline: connect+auth → match → settle → send → drain → leave → close.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay.h"

#define CONNECTS_IN_FLIGHT 256   /* handshakes at once */
#define CONNECT_DEADLINE_S 120.0 /* all sockets authenticated within */
#define MATCH_DEADLINE_S   30.0  /* all pairs formed within */
#define SETTLE_S           1.0   /* between the last match.found and the first send */
#define DRAIN_DEADLINE_S   5.0   /* outstanding acks and deliveries after the send phase */
#define LEAVE_DEADLINE_S   3.0   /* chat.ended after chat.leave */
#define CLOSE_DEADLINE_S   3.0   /* closing handshakes */
#define WINDOW_TICK_MS     5     /* window mode: retry sockets waiting for a client-side token */
#define RATE_TICK_MS       1     /* rate mode: pacing period */
#define MAX_LOGGED_ERRORS  5
#define MAX_CLOSE_CODES    8

enum phase { PH_CONNECT, PH_MATCH, PH_SETTLE, PH_SEND, PH_DRAIN, PH_LEAVE, PH_CLOSE, PH_DONE };
enum peer_state { PS_NEW, PS_OPEN, PS_READY, PS_WAITING, PS_MATCHED, PS_CLOSED };

struct peer {
    struct run *run;
    wsc *ws;
    int idx, partner; /* partner: index in run->peers, or -1 */
    enum peer_state state;
    int64_t user_id, chat_id, last_seq;
    char chat_id_s[24];
    int leaving_old;
    uint32_t inflight;
    double tokens;
    uint64_t tokens_at_ns, next_msg;
    uint64_t sent, acked, from_partner, own_echo, seq_gaps, seq_reorder;
};

struct run {
    const struct opts *o;
    uv_loop_t *loop;
    uv_timer_t deadline, phase_timer, pump;
    enum phase phase;
    struct peer *peers;
    int n, next_connect, in_flight, ready, matched, ended, closed, unexpected_closes;
    int *active, n_active;
    size_t rr;
    char **tokens;
    struct idmap by_user;
    uint64_t t0, t_end, total_sent, skipped, acked_in_window, delivered_in_window;
    uint64_t rate_limited, errors, bad_frames;
    int close_codes[MAX_CLOSE_CODES], n_close_codes;
    struct samples lat, ack_lat;
    double cpu0[3], cpu1[3]; /* CPU seconds at t0 and t_end: server, its loop thread, generator */
    uint64_t cpu0_ns, cpu1_ns;
};

static void phase_enter(struct run *r, enum phase ph);

/* ---- helpers ---- */

static void send_json(struct peer *p, const char *text) {
    if (p->ws)
        wsc_send_text(p->ws, text, strlen(text));
}

static void log_error_frame(struct run *r, struct peer *p, const char *data, size_t len) {
    size_t n = 0;
    const char *code = scan_str(data, len, "code", &n);
    if (code && n == 12 && memcmp(code, "RATE_LIMITED", 12) == 0) {
        r->rate_limited++;
        return;
    }
    if (r->errors++ < MAX_LOGGED_ERRORS)
        fprintf(stderr, "relay: user %d got %.*s\n", p->idx, (int)(len > 200 ? 200 : len), data);
}

static int64_t json_id(json_t *v) {
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    const char *s = json_string_value(v);
    return s ? strtoll(s, NULL, 10) : -1;
}

/* CPU seconds now: the server (with --pid), its loop thread (the main thread), this process. */
static uint64_t cpu_sample(const struct run *r, double out[3]) {
    int pid = r->o->pid;
    out[0] = pid ? proc_cpu_seconds(pid, 0) : -1;
    out[1] = pid ? proc_cpu_seconds(pid, pid) : -1;
    out[2] = proc_cpu_seconds((int)getpid(), 0);
    return now_ns();
}

/* ---- connect and authenticate ---- */

static void peer_open(wsc *c, void *user);
static void peer_text(wsc *c, void *user, const char *data, size_t len);
static void peer_close(wsc *c, void *user, int code);
static const struct wsc_handlers peer_handlers = {peer_open, peer_text, peer_close};

static void connect_more(struct run *r) {
    while (r->phase == PH_CONNECT && r->in_flight < CONNECTS_IN_FLIGHT && r->next_connect < r->n) {
        struct peer *p = &r->peers[r->next_connect++];
        p->ws = wsc_connect(r->loop, r->o->port, &peer_handlers, p);
        if (!p->ws)
            fatal("cannot create socket %d (ulimit -n?)", p->idx);
        r->in_flight++;
    }
}

static void peer_open(wsc *c, void *user) {
    struct peer *p = user;
    char frame[RELAY_TOKEN_MAX + 64];
    (void)c;
    p->state = PS_OPEN;
    snprintf(frame, sizeof frame, "{\"type\":\"auth\",\"token\":\"%s\"}", p->run->tokens[p->idx]);
    send_json(p, frame);
}

static void peer_became_ready(struct peer *p) {
    struct run *r = p->run;
    p->state = PS_READY;
    r->in_flight--;
    if (++r->ready == r->n)
        phase_enter(r, PH_MATCH);
    else
        connect_more(r);
}

/* ready: our user id; an active chat left over from an earlier run is left first. */
static void on_ready(struct peer *p, const char *data, size_t len) {
    json_t *doc = json_loadb(data, len, 0, NULL);
    struct run *r = p->run;
    p->user_id = json_id(json_object_get(json_object_get(doc, "user"), "id"));
    idmap_put(&r->by_user, p->user_id, p->idx);
    int64_t old_chat = json_id(json_object_get(json_object_get(doc, "chat"), "id"));
    json_decref(doc);
    if (old_chat > 0) {
        char frame[96];
        snprintf(frame, sizeof frame, "{\"type\":\"chat.leave\",\"chatId\":\"%" PRId64 "\"}",
                 old_chat);
        p->leaving_old = 1;
        send_json(p, frame);
        return;
    }
    peer_became_ready(p);
}

/* ---- matching and leaving ---- */

static void on_match_found(struct peer *p, const char *data, size_t len) {
    struct run *r = p->run;
    json_t *doc = json_loadb(data, len, 0, NULL);
    json_t *chat = json_object_get(doc, "chat");
    p->chat_id = json_id(json_object_get(chat, "id"));
    p->last_seq = json_id(json_object_get(chat, "lastSeq"));
    int64_t partner_id = json_id(json_object_get(json_object_get(chat, "partner"), "id"));
    json_decref(doc);
    snprintf(p->chat_id_s, sizeof p->chat_id_s, "%" PRId64, p->chat_id);
    p->partner = idmap_get(&r->by_user, partner_id, -1);
    p->state = PS_MATCHED;
    if (p->partner < 0)
        fprintf(stderr, "relay: user %d paired with a user outside this run\n", p->idx);
    if (++r->matched >= r->n - (r->n & 1))
        phase_enter(r, PH_SETTLE);
}

static void on_chat_ended(struct peer *p) {
    struct run *r = p->run;
    if (p->leaving_old) {
        p->leaving_old = 0;
        peer_became_ready(p);
        return;
    }
    if (++r->ended >= r->matched && r->phase == PH_LEAVE)
        phase_enter(r, PH_CLOSE);
}

/* ---- sending ---- */

/* Client-side token bucket: never more than the server's per-socket rate. */
static int peer_take_token(struct peer *p, uint64_t now) {
    const struct opts *o = p->run->o;
    if (o->sock_rate <= 0)
        return 1;
    p->tokens += (double)(now - p->tokens_at_ns) * o->sock_rate / 1e9;
    if (p->tokens > o->sock_burst)
        p->tokens = o->sock_burst;
    p->tokens_at_ns = now;
    if (p->tokens < 1.0)
        return 0;
    p->tokens -= 1.0;
    return 1;
}

static int peer_can_send(const struct peer *p) {
    return p->state == PS_MATCHED && p->partner >= 0 && p->inflight < (uint32_t)p->run->o->window;
}

static void peer_send_one(struct peer *p, uint64_t now) {
    struct run *r = p->run;
    char text[2048], frame[2304];
    int n = snprintf(text, sizeof text, "%" PRIu64 " u%d m%" PRIu64 " ", now, p->idx, p->next_msg);
    while (n < r->o->size && n < (int)sizeof text - 1)
        text[n++] = 'x';
    text[n] = '\0';
    snprintf(frame, sizeof frame,
             "{\"type\":\"msg.send\",\"chatId\":\"%s\",\"clientMsgId\":\"m%" PRIu64 "-%" PRIu64
             "\",\"text\":\"%s\"}",
             p->chat_id_s, p->next_msg, now, text);
    p->next_msg++;
    p->inflight++;
    p->sent++;
    r->total_sent++;
    send_json(p, frame);
}

/* Window mode: fills the window as far as the client-side bucket allows. */
static void peer_fill_window(struct peer *p, uint64_t now) {
    while (peer_can_send(p) && peer_take_token(p, now))
        peer_send_one(p, now);
}

/* Rate mode: sends what the schedule owes, round robin; what no socket can take is skipped. */
static void rate_tick(struct run *r, uint64_t now) {
    uint64_t due = (uint64_t)(r->o->rate * (double)(now - r->t0) / 1e9);
    uint64_t owed = due > r->total_sent + r->skipped ? due - r->total_sent - r->skipped : 0;
    int misses = 0;
    while (owed > 0 && misses < r->n_active) {
        struct peer *p = &r->peers[r->active[r->rr++ % (size_t)r->n_active]];
        if (peer_can_send(p) && peer_take_token(p, now)) {
            peer_send_one(p, now);
            owed--;
            misses = 0;
        } else {
            misses++;
        }
    }
    r->skipped += owed;
}

static void on_pump(uv_timer_t *t) {
    struct run *r = t->data;
    uint64_t now = now_ns();
    if (now >= r->t_end) {
        phase_enter(r, PH_DRAIN);
        return;
    }
    if (r->o->rate > 0) {
        rate_tick(r, now);
        return;
    }
    for (int i = 0; i < r->n_active; i++)
        peer_fill_window(&r->peers[r->active[i]], now);
}

/* ---- acks and deliveries ---- */

static int drained(const struct run *r) {
    for (int i = 0; i < r->n_active; i++) {
        const struct peer *p = &r->peers[r->active[i]];
        if (p->state == PS_MATCHED &&
            (p->inflight > 0 || r->peers[p->partner].from_partner < p->acked))
            return 0;
    }
    return 1;
}

static void on_ack(struct peer *p, const char *data, size_t len) {
    struct run *r = p->run;
    uint64_t now = now_ns();
    size_t n = 0;
    const char *id = scan_str(data, len, "clientMsgId", &n);
    const char *dash = id ? memchr(id, '-', n) : NULL;
    if (dash)
        samples_add(&r->ack_lat, now - strtoull(dash + 1, NULL, 10));
    else
        r->bad_frames++;
    if (p->inflight > 0)
        p->inflight--;
    p->acked++;
    if (now <= r->t_end)
        r->acked_in_window++;
    if (r->phase == PH_SEND && r->o->rate <= 0)
        peer_fill_window(p, now);
    else if (r->phase == PH_DRAIN && drained(r))
        phase_enter(r, PH_LEAVE);
}

static void check_seq(struct peer *p, int64_t seq) {
    if (seq <= p->last_seq)
        p->seq_reorder++;
    else if (p->last_seq >= 0 && seq != p->last_seq + 1)
        p->seq_gaps++;
    if (seq > p->last_seq)
        p->last_seq = seq;
}

static void on_msg_new(struct peer *p, const char *data, size_t len) {
    struct run *r = p->run;
    uint64_t now = now_ns();
    size_t n = 0;
    check_seq(p, scan_int(data, len, "seq"));
    if (scan_int(data, len, "senderId") == p->user_id) {
        p->own_echo++;
        return;
    }
    const char *text = scan_str(data, len, "text", &n);
    if (!text) {
        r->bad_frames++;
        return;
    }
    samples_add(&r->lat, now - strtoull(text, NULL, 10));
    p->from_partner++;
    if (now <= r->t_end)
        r->delivered_in_window++;
    if (r->phase == PH_DRAIN && drained(r))
        phase_enter(r, PH_LEAVE);
}

/* ---- frame dispatch and close ---- */

static int type_is(const char *t, size_t n, const char *want) {
    return n == strlen(want) && memcmp(t, want, n) == 0;
}

static void peer_text(wsc *c, void *user, const char *data, size_t len) {
    struct peer *p = user;
    size_t n = 0;
    const char *t = scan_str(data, len, "type", &n);
    (void)c;
    if (!t)
        p->run->bad_frames++;
    else if (type_is(t, n, "msg.new"))
        on_msg_new(p, data, len);
    else if (type_is(t, n, "msg.ack"))
        on_ack(p, data, len);
    else if (type_is(t, n, "ready"))
        on_ready(p, data, len);
    else if (type_is(t, n, "match.found"))
        on_match_found(p, data, len);
    else if (type_is(t, n, "chat.ended"))
        on_chat_ended(p);
    else if (type_is(t, n, "error"))
        log_error_frame(p->run, p, data, len);
}

static void peer_close(wsc *c, void *user, int code) {
    struct peer *p = user;
    struct run *r = p->run;
    (void)c;
    p->ws = NULL;
    if (r->phase < PH_CLOSE) {
        r->unexpected_closes++;
        if (r->n_close_codes < MAX_CLOSE_CODES)
            r->close_codes[r->n_close_codes++] = code;
        if (r->phase == PH_CONNECT && p->state < PS_READY)
            fatal("socket %d closed during connect/auth (code %d)", p->idx, code);
    }
    p->state = PS_CLOSED;
    if (++r->closed == r->n && r->phase == PH_CLOSE)
        phase_enter(r, PH_DONE);
}

/* ---- phases ---- */

static void on_phase_timeout(uv_timer_t *t) {
    struct run *r = t->data;
    switch (r->phase) {
        case PH_MATCH:
            fprintf(stderr, "relay: only %d of %d users matched in time\n", r->matched, r->n);
            phase_enter(r, PH_SETTLE);
            break;
        case PH_SETTLE:
            phase_enter(r, PH_SEND);
            break;
        case PH_DRAIN:
            phase_enter(r, PH_LEAVE);
            break;
        case PH_LEAVE:
            phase_enter(r, PH_CLOSE);
            break;
        case PH_CLOSE:
            phase_enter(r, PH_DONE);
            break;
        default:
            fatal("phase %d timed out (%d of %d sockets ready)", (int)r->phase, r->ready, r->n);
    }
}

static void phase_timer(struct run *r, double seconds) {
    uv_timer_start(&r->phase_timer, on_phase_timeout, (uint64_t)(seconds * 1000), 0);
}

static void start_matching(struct run *r) {
    static const char frame[] = "{\"type\":\"match.start\",\"category\":\"" RELAY_CATEGORY "\"}";
    for (int i = 0; i < r->n; i++) {
        r->peers[i].state = PS_WAITING;
        send_json(&r->peers[i], frame);
    }
    phase_timer(r, MATCH_DEADLINE_S);
}

static void start_sending(struct run *r) {
    r->active = xcalloc((size_t)r->n, sizeof *r->active);
    uint64_t now = now_ns();
    for (int i = 0; i < r->n; i++) {
        struct peer *p = &r->peers[i];
        p->tokens = r->o->sock_burst;
        p->tokens_at_ns = now;
        if (p->state == PS_MATCHED && p->partner >= 0)
            r->active[r->n_active++] = i;
    }
    r->cpu0_ns = cpu_sample(r, r->cpu0);
    r->t0 = now;
    r->t_end = now + (uint64_t)(r->o->duration_s * 1e9);
    uint64_t tick = r->o->rate > 0 ? RATE_TICK_MS : WINDOW_TICK_MS;
    uv_timer_start(&r->pump, on_pump, 0, tick);
}

static void start_draining(struct run *r) {
    uv_timer_stop(&r->pump);
    r->cpu1_ns = cpu_sample(r, r->cpu1);
    if (drained(r))
        phase_enter(r, PH_LEAVE);
    else
        phase_timer(r, DRAIN_DEADLINE_S);
}

/* One side of each chat leaves; both get chat.ended. */
static void start_leaving(struct run *r) {
    for (int i = 0; i < r->n; i++) {
        struct peer *p = &r->peers[i];
        if (p->state == PS_MATCHED && (p->partner < 0 || p->partner > i)) {
            char frame[96];
            snprintf(frame, sizeof frame, "{\"type\":\"chat.leave\",\"chatId\":\"%s\"}",
                     p->chat_id_s);
            send_json(p, frame);
        }
    }
    phase_timer(r, LEAVE_DEADLINE_S);
}

static void start_closing(struct run *r) {
    for (int i = 0; i < r->n; i++)
        if (r->peers[i].ws)
            wsc_close(r->peers[i].ws, 1000);
    if (r->closed == r->n)
        phase_enter(r, PH_DONE);
    else
        phase_timer(r, CLOSE_DEADLINE_S);
}

static void finish(struct run *r) {
    for (int i = 0; i < r->n; i++)
        if (r->peers[i].ws)
            wsc_abort(r->peers[i].ws);
    uv_stop(r->loop);
}

static void phase_enter(struct run *r, enum phase ph) {
    if (ph <= r->phase)
        return;
    r->phase = ph;
    uv_timer_stop(&r->phase_timer);
    switch (ph) {
        case PH_MATCH:
            start_matching(r);
            break;
        case PH_SETTLE:
            phase_timer(r, SETTLE_S);
            break;
        case PH_SEND:
            start_sending(r);
            break;
        case PH_DRAIN:
            start_draining(r);
            break;
        case PH_LEAVE:
            start_leaving(r);
            break;
        case PH_CLOSE:
            start_closing(r);
            break;
        case PH_DONE:
            finish(r);
            break;
        default:
            break;
    }
}

static void on_deadline(uv_timer_t *t) {
    struct run *r = t->data;
    fatal("run timed out after %.0f s in phase %d (%d ready, %d matched)", r->o->timeout_s,
          (int)r->phase, r->ready, r->matched);
}

/* ---- report ---- */

struct totals {
    uint64_t sent, acked, delivered, own_echo, unacked, acked_not_delivered, delivered_not_acked;
    uint64_t seq_gaps, seq_reorder;
};

static void add_up(const struct run *r, struct totals *t) {
    memset(t, 0, sizeof *t);
    for (int i = 0; i < r->n_active; i++) {
        const struct peer *p = &r->peers[r->active[i]];
        const struct peer *q = &r->peers[p->partner];
        t->sent += p->sent;
        t->acked += p->acked;
        t->delivered += p->from_partner;
        t->own_echo += p->own_echo;
        t->unacked += p->sent > p->acked ? p->sent - p->acked : 0;
        t->acked_not_delivered += p->acked > q->from_partner ? p->acked - q->from_partner : 0;
        t->delivered_not_acked += q->from_partner > p->acked ? q->from_partner - p->acked : 0;
        t->seq_gaps += p->seq_gaps;
        t->seq_reorder += p->seq_reorder;
    }
}

static void print_latency(const char *name, struct samples *s) {
    double q[4];
    samples_summary(s, q);
    printf("%s: p50=%.2f p90=%.2f p99=%.2f max=%.2f samples=%zu\n", name, q[0] / 1000.0,
           q[1] / 1000.0, q[2] / 1000.0, q[3] / 1000.0, s->n);
}

static void report(struct run *r) {
    const struct opts *o = r->o;
    struct totals t;
    add_up(r, &t);
    double d = o->duration_s;
    printf("run: mode=%s users=%d senders=%d window=%d rate=%.0f duration_s=%.1f size=%d "
           "sock_rate=%.1f sock_burst=%.0f\n",
           o->rate > 0 ? "rate" : "window", r->n, r->n_active, o->window, o->rate, d, o->size,
           o->sock_rate, o->sock_burst);
    printf("counts: sent=%" PRIu64 " acked=%" PRIu64 " delivered=%" PRIu64 " own_echo=%" PRIu64
           " skipped=%" PRIu64 "\n",
           t.sent, t.acked, t.delivered, t.own_echo, r->skipped);
    printf("rates: sent_per_s=%.0f acked_per_s=%.0f delivered_per_s=%.0f\n",
           (double)r->total_sent / d, (double)r->acked_in_window / d,
           (double)r->delivered_in_window / d);
    double secs = (double)(r->cpu1_ns - r->cpu0_ns) / 1e9;
    printf("cpu: server_cores=%.2f server_loop_cores=%.2f generator_cores=%.2f\n",
           (r->cpu1[0] - r->cpu0[0]) / secs, (r->cpu1[1] - r->cpu0[1]) / secs,
           (r->cpu1[2] - r->cpu0[2]) / secs);
    print_latency("latency_ms", &r->lat);
    print_latency("ack_latency_ms", &r->ack_lat);
    printf("checks: unacked=%" PRIu64 " acked_not_delivered=%" PRIu64
           " delivered_not_acked=%" PRIu64 " seq_gaps=%" PRIu64 " seq_reorder=%" PRIu64
           " rate_limited=%" PRIu64 " errors=%" PRIu64 " bad_frames=%" PRIu64
           " unexpected_closes=%d",
           t.unacked, t.acked_not_delivered, t.delivered_not_acked, t.seq_gaps, t.seq_reorder,
           r->rate_limited, r->errors, r->bad_frames, r->unexpected_closes);
    for (int i = 0; i < r->n_close_codes; i++)
        printf("%s%d", i ? "," : " close_codes=", r->close_codes[i]);
    printf("\n");
}

/* ---- main ---- */

static void run_init(struct run *r, const struct opts *o) {
    memset(r, 0, sizeof *r);
    r->o = o;
    r->loop = uv_default_loop();
    r->n = 2 * o->pairs;
    r->tokens = tokens_load(o->tokens, o->first, r->n);
    r->peers = xcalloc((size_t)r->n, sizeof *r->peers);
    for (int i = 0; i < r->n; i++) {
        r->peers[i].run = r;
        r->peers[i].idx = i;
        r->peers[i].partner = -1;
        r->peers[i].last_seq = -1;
    }
    idmap_init(&r->by_user, (size_t)r->n);
    uv_timer_t *timers[] = {&r->deadline, &r->phase_timer, &r->pump};
    for (size_t i = 0; i < 3; i++) {
        uv_timer_init(r->loop, timers[i]);
        timers[i]->data = r;
    }
    uv_timer_start(&r->deadline, on_deadline, (uint64_t)(o->timeout_s * 1000), 0);
}

static void run_free(struct run *r) {
    uv_close((uv_handle_t *)&r->deadline, NULL);
    uv_close((uv_handle_t *)&r->phase_timer, NULL);
    uv_close((uv_handle_t *)&r->pump, NULL);
    wsc_module_close();
    uv_run(r->loop, UV_RUN_DEFAULT);
    tokens_free(r->tokens, r->n);
    idmap_free(&r->by_user);
    samples_free(&r->lat);
    samples_free(&r->ack_lat);
    free(r->active);
    free(r->peers);
}

int relay_main(const struct opts *o) {
    struct run r;
    run_init(&r, o);
    phase_timer(&r, CONNECT_DEADLINE_S);
    connect_more(&r);
    uv_run(r.loop, UV_RUN_DEFAULT);
    report(&r);
    run_free(&r);
    return 0;
}
