/* main.c — `relay MODE [options]`: parses and bounds the options, then runs one mode:
 *   signup  create accounts over HTTP and write their access tokens to a file
 *   run     pair users up over WebSocket and relay messages (window or fixed-rate mode)
 *   idle    open authenticated idle WebSockets and measure the server's RSS per socket
 * It only ever connects to 127.0.0.1:PORT. Figures go to stdout as `name: key=value …` lines.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

static const char usage[] =
    "usage: relay signup --port P --users N [--concurrency C] --out FILE [--prefix S]\n"
    "       relay run    --port P --tokens FILE [--first I] --pairs P [--window W]\n"
    "                    [--duration S] [--rate MSG_PER_S] [--sock-rate R] [--sock-burst B]\n"
    "                    [--size BYTES] [--pid SERVER_PID]\n"
    "       relay idle   --port P --tokens FILE [--first I] --sockets K --pid SERVER_PID\n"
    "                    [--concurrency C] [--settle S]\n"
    "common: [--timeout S] (hard deadline of the whole run)\n";

static const struct option long_opts[] = {
    {"port", required_argument, NULL, 'p'},
    {"users", required_argument, NULL, 'n'},
    {"concurrency", required_argument, NULL, 'c'},
    {"out", required_argument, NULL, 'o'},
    {"prefix", required_argument, NULL, 'x'},
    {"tokens", required_argument, NULL, 't'},
    {"first", required_argument, NULL, 'f'},
    {"pairs", required_argument, NULL, 'P'},
    {"window", required_argument, NULL, 'w'},
    {"duration", required_argument, NULL, 'd'},
    {"rate", required_argument, NULL, 'r'},
    {"sock-rate", required_argument, NULL, 'R'},
    {"sock-burst", required_argument, NULL, 'B'},
    {"size", required_argument, NULL, 's'},
    {"sockets", required_argument, NULL, 'k'},
    {"pid", required_argument, NULL, 'i'},
    {"settle", required_argument, NULL, 'S'},
    {"timeout", required_argument, NULL, 'T'},
    {NULL, 0, NULL, 0},
};

static void usage_exit(const char *why) {
    if (why)
        fprintf(stderr, "relay: %s\n", why);
    fputs(usage, stderr);
    exit(2);
}

static long int_arg(const char *s, long lo, long hi, const char *name) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "relay: --%s must be an integer in [%ld, %ld]\n", name, lo, hi);
        exit(2);
    }
    return v;
}

static double num_arg(const char *s, double lo, double hi, const char *name) {
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "relay: --%s must be a number in [%g, %g]\n", name, lo, hi);
        exit(2);
    }
    return v;
}

static void set_defaults(struct opts *o) {
    memset(o, 0, sizeof *o);
    o->timeout_s = 0;
    o->concurrency = 16;
    o->prefix = "relay";
    o->window = 32;
    o->duration_s = 10;
    o->sock_rate = 19;
    o->sock_burst = 20;
    o->size = 64;
    o->sockets = 10000;
    o->settle_s = 2;
}

static void apply(struct opts *o, int c, const char *a) {
    const long U = RELAY_MAX_USERS;
    const double S = RELAY_MAX_SECONDS;
    switch (c) {
        case 'p':
            o->port = (int)int_arg(a, 1, 65535, "port");
            break;
        case 'n':
            o->users = (int)int_arg(a, 1, U, "users");
            break;
        case 'c':
            o->concurrency = (int)int_arg(a, 1, 4096, "concurrency");
            break;
        case 'o':
            o->out = a;
            break;
        case 'x':
            o->prefix = a;
            break;
        case 't':
            o->tokens = a;
            break;
        case 'f':
            o->first = (int)int_arg(a, 0, U, "first");
            break;
        case 'P':
            o->pairs = (int)int_arg(a, 1, U / 2, "pairs");
            break;
        case 'w':
            o->window = (int)int_arg(a, 1, 100000, "window");
            break;
        case 'd':
            o->duration_s = num_arg(a, 0.1, S, "duration");
            break;
        case 'r':
            o->rate = num_arg(a, 0, 10e6, "rate");
            break;
        case 'R':
            o->sock_rate = num_arg(a, 0, 1e6, "sock-rate");
            break;
        case 'B':
            o->sock_burst = num_arg(a, 1, 1e6, "sock-burst");
            break;
        case 's':
            o->size = (int)int_arg(a, 24, 2000, "size");
            break;
        case 'k':
            o->sockets = (int)int_arg(a, 1, U, "sockets");
            break;
        case 'i':
            o->pid = (int)int_arg(a, 1, 1 << 30, "pid");
            break;
        case 'S':
            o->settle_s = num_arg(a, 0, 60, "settle");
            break;
        case 'T':
            o->timeout_s = num_arg(a, 1, S, "timeout");
            break;
        default:
            usage_exit(NULL);
    }
}

static void check(const struct opts *o) {
    if (!o->port)
        usage_exit("--port is required");
    if (o->mode == MODE_SIGNUP && (!o->users || !o->out))
        usage_exit("signup needs --users and --out");
    if (o->mode == MODE_RUN && (!o->tokens || !o->pairs))
        usage_exit("run needs --tokens and --pairs");
    if (o->mode == MODE_IDLE && (!o->tokens || !o->pid))
        usage_exit("idle needs --tokens and --pid");
}

static enum relay_mode parse_mode(const char *s) {
    if (strcmp(s, "signup") == 0)
        return MODE_SIGNUP;
    if (strcmp(s, "run") == 0)
        return MODE_RUN;
    if (strcmp(s, "idle") == 0)
        return MODE_IDLE;
    usage_exit("unknown mode");
    return MODE_RUN;
}

static double default_timeout(const struct opts *o) {
    switch (o->mode) {
        case MODE_SIGNUP:
            return 120 + o->users / 10.0; /* far below 10 sign-ups/s is broken */
        case MODE_RUN:
            return o->duration_s + 200;
        default:
            return 180 + o->settle_s;
    }
}

int main(int argc, char **argv) {
    struct opts o;
    if (argc < 2)
        usage_exit(NULL);
    set_defaults(&o);
    o.mode = parse_mode(argv[1]);
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, "", long_opts, NULL)) != -1)
        apply(&o, c, optarg);
    if (optind != argc - 1)
        usage_exit("unexpected arguments");
    check(&o);
    if (o.timeout_s == 0)
        o.timeout_s = default_timeout(&o);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    switch (o.mode) {
        case MODE_SIGNUP:
            return signup_main(&o);
        case MODE_RUN:
            return relay_main(&o);
        default:
            return idle_main(&o);
    }
}
