/* A load generator of short connections: connect, read to end-of-stream, close, at a
 * fixed concurrency, for a count or a duration, against one address. One thread, epoll.
 * Usage: loadgen ADDRESS PORT CONCURRENCY COUNT SECONDS TIMEOUT_MS EXPECT
 *   COUNT 0: no limit; SECONDS 0: no limit (one of them must be set); EXPECT with \\n escapes.
 * Prints one JSON object: connections, seconds, rate, latency percentiles in
 * microseconds, and errors by kind (refused, reset, timeout, wrong). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    double start;
    size_t len;
    char buf[256];
} slot_t;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static struct sockaddr_storage target;
static socklen_t target_len;
static int epfd;
static long refused, reset, timeouts, wrong, other;
static uint32_t *lat;
static size_t nlat, caplat;
static const char *expect;
static size_t expect_len;

static int start(slot_t *s) {
    s->fd = socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s->fd < 0) { perror("socket"); exit(1); }
    s->start = now();
    s->len = 0;
    if (connect(s->fd, (struct sockaddr *)&target, target_len) < 0 && errno != EINPROGRESS) {
        if (errno == ECONNREFUSED) refused++; else other++;
        close(s->fd);
        s->fd = -1;
        return 0;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
    epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev);
    return 1;
}

static void finish(slot_t *s, int kind) {
    /* kind: 0 ok (compare bytes), 1 refused, 2 reset, 3 timeout, 4 other */
    if (kind == 0) {
        if (s->len == expect_len && memcmp(s->buf, expect, expect_len) == 0) {
            if (nlat == caplat) { caplat = caplat ? caplat * 2 : 65536; lat = realloc(lat, caplat * sizeof *lat); }
            lat[nlat++] = (uint32_t)((now() - s->start) * 1e6);
        } else {
            wrong++;
        }
    } else if (kind == 1) refused++;
    else if (kind == 2) reset++;
    else if (kind == 3) timeouts++;
    else other++;
    close(s->fd);
    s->fd = -1;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s ADDRESS PORT CONCURRENCY COUNT SECONDS TIMEOUT_MS EXPECT\n", argv[0]);
        return 2;
    }
    const char *address = argv[1];
    int port = atoi(argv[2]), conc = atoi(argv[3]);
    long count = atol(argv[4]);
    double seconds = atof(argv[5]), timeout = atoi(argv[6]) / 1000.0;
    /* EXPECT is given with \n-style escapes (\n, \r, \t, \\). */
    char *unescaped = malloc(strlen(argv[7]) + 1);
    size_t j = 0;
    for (const char *p = argv[7]; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            unescaped[j++] = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p == 't' ? '\t' : *p;
        } else {
            unescaped[j++] = *p;
        }
    }
    expect = unescaped;
    expect_len = j;
    memset(&target, 0, sizeof target);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&target;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&target;
    if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET; v4->sin_port = htons(port); target_len = sizeof *v4;
    } else if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6; v6->sin6_port = htons(port); target_len = sizeof *v6;
    } else {
        fprintf(stderr, "not an address: %s\n", address);
        return 2;
    }
    if (conc < 1 || (count <= 0 && seconds <= 0)) { fprintf(stderr, "bad concurrency/count/seconds\n"); return 2; }
    epfd = epoll_create1(0);
    slot_t *slots = calloc(conc, sizeof *slots);
    struct epoll_event *events = calloc(conc, sizeof *events);
    double t0 = now(), end = seconds > 0 ? t0 + seconds : 1e300;
    long started = 0, active = 0;
    for (int i = 0; i < conc; i++) slots[i].fd = -1;
    for (;;) {
        int stopping = (count > 0 && started >= count) || now() >= end;
        for (int i = 0; i < conc && !stopping; i++) {
            if (slots[i].fd < 0) {
                started++;
                if (start(&slots[i])) active++;
                stopping = (count > 0 && started >= count);
            }
        }
        if (stopping && active == 0) break;
        int n = epoll_wait(epfd, events, conc, 10);
        for (int k = 0; k < n; k++) {
            slot_t *s = events[k].data.ptr;
            if (s->fd < 0) continue;
            for (;;) {
                ssize_t r = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
                if (r > 0) {
                    s->len += (size_t)r;
                    if (s->len == sizeof s->buf) { finish(s, 0); active--; break; }
                    continue;
                }
                if (r == 0) { finish(s, 0); active--; break; }
                if (errno == EAGAIN) break;
                finish(s, errno == ECONNREFUSED ? 1 : errno == ECONNRESET ? 2 : 4);
                active--;
                break;
            }
        }
        double t = now();
        for (int i = 0; i < conc; i++) {
            if (slots[i].fd >= 0 && t - slots[i].start > timeout) { finish(&slots[i], 3); active--; }
        }
    }
    double elapsed = now() - t0;
    qsort(lat, nlat, sizeof *lat, cmp_u32);
#define PCT(p) (nlat ? lat[(size_t)((p) * (nlat - 1))] : 0)
    printf("{\"connections\": %zu, \"seconds\": %.6f, \"rate\": %.1f, \"p50_us\": %u, \"p99_us\": %u, "
           "\"p999_us\": %u, \"errors\": {\"refused\": %ld, \"reset\": %ld, \"timeout\": %ld, \"wrong\": %ld, "
           "\"other\": %ld}}\n",
           nlat, elapsed, nlat / elapsed, PCT(0.5), PCT(0.99), PCT(0.999), refused, reset, timeouts, wrong, other);
    return 0;
}
