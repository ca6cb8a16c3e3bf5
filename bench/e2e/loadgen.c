/*
 * Paced UDP load generator and echo server for `npm run bench:e2e`.
 * Compiled at bench time (gcc -O2) into a temp dir.
 *
 *   loadgen echo PORT SECONDS
 *       Echo every datagram back to its sender (recvmmsg/sendmmsg batches).
 *       Exits after SECONDS.
 *   loadgen load HOST PORT RATE COUNT SIZE MAXSECONDS
 *       Send COUNT datagrams of SIZE bytes at RATE per second from one
 *       socket (batches of up to 64 with sendmmsg when the schedule is
 *       behind), receive the echoes on the same socket and print one JSON
 *       line: sent, received, duplicates, round-trip percentiles in us.
 *       Stops at COUNT sent plus a 1 s drain, or at MAXSECONDS.
 *   loadgen flows HOST PORT NFLOWS ROUNDS SIZE
 *       Open NFLOWS sockets (one client port each), send one datagram from
 *       each per round, count the echoes. Flows without an echo after the
 *       first round send again (up to 5 times), so that NFLOWS flows are
 *       active. Prints one JSON line (active: flows with at least one echo).
 *   loadgen relay FILE FIRST COUNT SRCHOST SRCPORT DSTHOST DSTPORT SINKPORT RATE
 *       Replay records FIRST..FIRST+COUNT-1 of FILE (u32 record size, then
 *       fixed-size records: datagrams sealed in advance) from SRCHOST:SRCPORT
 *       to DSTHOST:DSTPORT at RATE per second, and count datagrams of the
 *       record size that arrive on SINKPORT (the relay's re-sealed output).
 *       Stops at COUNT sent plus a 1 s drain. Prints one JSON line.
 *   loadgen hop FILE FIRST COUNT SRCHOST SRCPORT DSTHOST DSTPORT SINKNS SINKHOST SINKPORT RATE [SIZE]
 *       One-way latency through one relay (bench:e2e --hop): like relay,
 *       but the sink socket is opened in network namespace SINKNS (setns),
 *       so the relay's output crosses a real link, and every arrival gets
 *       the kernel's receive timestamp (SO_TIMESTAMPNS), so the sink's own
 *       wake-up is not measured. FILE "-" sends plain datagrams of SIZE
 *       bytes (default 100) carrying their index (matched by index); sealed records are matched
 *       in arrival order (one relay thread, one link: FIFO), valid when
 *       nothing was lost. Prints one JSON line with one-way percentiles in us.
 *   loadgen forward PORT DSTHOST DSTPORT SECONDS
 *       The user-space floor of bench:e2e --hop: a plain forwarder blocked in
 *       recvmmsg (no event loop, no crypto), sending every datagram on to
 *       DSTHOST:DSTPORT with sendmmsg. Prints "forwarder up" once bound.
 *       Exits after SECONDS.
 *
 * Payload layout (load): u32 magic, u32 seq, u64 send time (CLOCK_MONOTONIC ns).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAGIC 0x4f565053u
#define MAX_SIZE 1500
#define DRAIN_NS 1000000000ull

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int udp_socket(int rcvbuf) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("socket"); exit(2); }
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof rcvbuf);
  return fd;
}

static struct sockaddr_in addr_of(const char *host, int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", host); exit(2); }
  return a;
}

/* One non-blocking recvmmsg of up to BATCH datagrams into rbuf (the headers are reset first: recvmmsg writes them). */
static int recv_batch(int fd, struct mmsghdr *rmsg, struct iovec *riov, char rbuf[][MAX_SIZE]) {
  for (int i = 0; i < BATCH; i++) {
    riov[i] = (struct iovec){ rbuf[i], MAX_SIZE };
    rmsg[i].msg_hdr = (struct msghdr){ .msg_iov = &riov[i], .msg_iovlen = 1 };
  }
  return recvmmsg(fd, rmsg, BATCH, MSG_DONTWAIT, NULL);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(const uint32_t *sorted, size_t n, double q) {
  if (n == 0) return -1;
  size_t i = (size_t)(q * (double)(n - 1) + 0.5);
  return sorted[i] / 1000.0;
}

/* Sends msgs[0..n) with as few sendmmsg calls as the kernel allows; stops at the first error. */
static void send_all(int fd, struct mmsghdr *msgs, int n) {
  int off = 0;
  while (off < n) {
    int s = sendmmsg(fd, msgs + off, (unsigned)(n - off), 0);
    if (s <= 0) break;
    off += s;
  }
}

/*
 * echo (dst NULL): every datagram back to its sender; forward: every datagram
 * on to dst. Blocked in recvmmsg between batches; exits after SECONDS.
 */
static int run_bounce(int port, const struct sockaddr_in *dst, double seconds) {
  int fd = udp_socket(4 << 20);
  struct sockaddr_in a = addr_of("0.0.0.0", port);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 2; }
  struct timeval tv = { 0, 200000 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  static char bufs[BATCH][MAX_SIZE];
  static struct sockaddr_in from[BATCH];
  static struct iovec iov[BATCH];
  static struct mmsghdr msgs[BATCH];
  if (dst) fprintf(stderr, "forwarder up\n");
  uint64_t end = now_ns() + (uint64_t)(seconds * 1e9), done = 0;
  while (now_ns() < end) {
    for (int i = 0; i < BATCH; i++) {
      iov[i] = (struct iovec){ bufs[i], MAX_SIZE };
      msgs[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof from[i], .msg_iov = &iov[i], .msg_iovlen = 1 };
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n <= 0) continue;
    for (int i = 0; i < n; i++) {
      iov[i].iov_len = msgs[i].msg_len;
      if (dst) from[i] = *dst;
    }
    send_all(fd, msgs, n);
    done += (uint64_t)n;
  }
  fprintf(stderr, "%s %llu\n", dst ? "forwarded" : "echoed", (unsigned long long)done);
  return 0;
}

static int run_load(const char *host, int port, double rate, uint32_t count, int size, double max_seconds) {
  if (size < 16 || size > MAX_SIZE) { fprintf(stderr, "size must be 16..%d\n", MAX_SIZE); return 2; }
  int fd = udp_socket(8 << 20);
  struct sockaddr_in dst = addr_of(host, port);
  if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0) { perror("connect"); return 2; }
  uint32_t *rtt = calloc(count ? count : 1, sizeof *rtt);
  uint8_t *seen = calloc(count ? count : 1, 1);
  static char sbuf[BATCH][MAX_SIZE], rbuf[BATCH][MAX_SIZE];
  static struct iovec siov[BATCH], riov[BATCH];
  static struct mmsghdr smsg[BATCH], rmsg[BATCH];
  memset(sbuf, 0, sizeof sbuf);
  for (int i = 0; i < BATCH; i++) {
    siov[i] = (struct iovec){ sbuf[i], (size_t)size };
    smsg[i].msg_hdr = (struct msghdr){ .msg_iov = &siov[i], .msg_iovlen = 1 };
  }
  uint64_t start = now_ns(), hard_end = start + (uint64_t)(max_seconds * 1e9), last_send = start;
  uint64_t interval = (uint64_t)(1e9 / rate);
  uint32_t sent = 0, received = 0, dups = 0, bad = 0, send_errors = 0;
  struct pollfd pfd = { fd, POLLIN, 0 };
  for (;;) {
    uint64_t t = now_ns();
    if (t >= hard_end) break;
    if (sent < count) {
      uint64_t due = (t - start) / interval + 1;
      if (due > count) due = count;
      while (sent < due) {
        uint32_t n = due - sent > BATCH ? BATCH : (uint32_t)(due - sent);
        uint64_t ts = now_ns();
        for (uint32_t i = 0; i < n; i++) {
          uint32_t w[2] = { MAGIC, sent + i };
          memcpy(sbuf[i], w, 8);
          memcpy(sbuf[i] + 8, &ts, 8);
        }
        int s = sendmmsg(fd, smsg, n, 0);
        if (s <= 0) { send_errors++; s = (int)n; } /* counted as sent and lost */
        sent += (uint32_t)s;
        last_send = ts;
      }
    } else if (received >= count || t - last_send > DRAIN_NS) {
      break;
    }
    int r = recv_batch(fd, rmsg, riov, rbuf);
    if (r > 0) {
      uint64_t rt = now_ns();
      for (int i = 0; i < r; i++) {
        uint32_t w[2];
        uint64_t ts;
        if (rmsg[i].msg_len < 16) { bad++; continue; }
        memcpy(w, rbuf[i], 8);
        memcpy(&ts, rbuf[i] + 8, 8);
        if (w[0] != MAGIC || w[1] >= count) { bad++; continue; }
        if (seen[w[1]]) { dups++; continue; }
        seen[w[1]] = 1;
        uint64_t d = rt - ts;
        rtt[received++] = d > 0xffffffffull ? 0xffffffffu : (uint32_t)d;
      }
      continue;
    }
    /* Nothing to read: sleep until the next send is due or a datagram arrives. */
    uint64_t wake = sent < count ? start + (uint64_t)sent * interval : last_send + DRAIN_NS;
    t = now_ns();
    if (wake > t) {
      uint64_t w = wake - t;
      struct timespec ts = { (time_t)(w / 1000000000ull), (long)(w % 1000000000ull) };
      ppoll(&pfd, 1, &ts, NULL);
    }
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  qsort(rtt, received, sizeof *rtt, cmp_u32);
  printf("{\"sent\":%u,\"received\":%u,\"duplicates\":%u,\"bad\":%u,\"send_errors\":%u,\"elapsed_s\":%.3f,"
         "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f}\n",
         sent, received, dups, bad, send_errors, elapsed, pct(rtt, received, 0.5), pct(rtt, received, 0.9),
         pct(rtt, received, 0.99), pct(rtt, received, 0.999), received ? rtt[received - 1] / 1000.0 : -1.0);
  return 0;
}

/* Sends one datagram from flow i and counts what its socket received so far. */
static void flow_round(const int *fds, uint8_t *echoed, uint16_t *balance, int nflows, int only_silent, int size, long *sent, long *received) {
  char buf[MAX_SIZE];
  memset(buf, 0x5a, sizeof buf);
  int n = 0;
  for (int i = 0; i < nflows; i++) {
    if (only_silent && echoed[i]) continue;
    if (send(fds[i], buf, (size_t)size, 0) == size) {
      (*sent)++;
      balance[i]++;
    }
    if (++n % 25 == 0) usleep(10000); /* about 2.5k datagrams/s: below every system's limit, even on a busy host */
  }
  usleep(300000); /* each socket's buffer holds its replies until the drain */
  for (int i = 0; i < nflows; i++) {
    while (recv(fds[i], buf, sizeof buf, MSG_DONTWAIT) > 0) {
      (*received)++;
      echoed[i] = 1;
      balance[i]--; /* below zero: more echoes than datagrams sent from this flow */
    }
  }
}

static int run_flows(const char *host, int port, int nflows, int rounds, int size) {
  struct sockaddr_in dst = addr_of(host, port);
  int *fds = calloc((size_t)nflows, sizeof *fds);
  uint8_t *echoed = calloc((size_t)nflows, 1);
  uint16_t *balance = calloc((size_t)nflows, sizeof *balance);
  for (int i = 0; i < nflows; i++) {
    fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fds[i] < 0) { perror("socket (raise ulimit -n)"); return 2; }
    if (connect(fds[i], (struct sockaddr *)&dst, sizeof dst) < 0) { perror("connect"); return 2; }
  }
  long sent = 0, received = 0;
  flow_round(fds, echoed, balance, nflows, 0, size, &sent, &received);
  /* Flows whose first datagram was lost on a loaded host never reached the
   * exit: resend from those only (up to 5 times), so the check measures
   * NFLOWS active flows. Then the remaining rounds from every flow. */
  for (int retry = 0; retry < 5; retry++) {
    int silent = 0;
    for (int i = 0; i < nflows; i++) silent += !echoed[i];
    if (silent == 0) break;
    flow_round(fds, echoed, balance, nflows, 1, size, &sent, &received);
  }
  for (int r = 1; r < rounds; r++) flow_round(fds, echoed, balance, nflows, 0, size, &sent, &received);
  int active = 0, excess = 0;
  for (int i = 0; i < nflows; i++) {
    active += echoed[i];
    if ((int16_t)balance[i] < 0) excess += -(int16_t)balance[i];
  }
  printf("{\"flows\":%d,\"active\":%d,\"sent\":%ld,\"received\":%ld,\"excess\":%d}\n", nflows, active, sent, received, excess);
  return 0;
}

static uint64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts); /* SO_TIMESTAMPNS stamps CLOCK_REALTIME */
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Paced replay of recorded datagrams, shared by the relay and hop modes:
 * sends every record that is due at time t (one every `interval` ns from
 * `start`), in sendmmsg batches. With sent_at, each record's send time
 * (CLOCK_REALTIME, the clock of SO_TIMESTAMPNS) is noted for the hop's
 * one-way delays.
 */
static void send_due(int out, char *pkts, uint32_t rec, uint32_t count, uint64_t start, uint64_t interval, uint64_t t,
                     uint32_t *sent, uint64_t *last_send, uint64_t *sent_at) {
  static struct iovec siov[BATCH];
  static struct mmsghdr smsg[BATCH];
  uint64_t due = (t - start) / interval + 1;
  if (due > count) due = count;
  while (*sent < due) {
    uint32_t n = due - *sent > BATCH ? BATCH : (uint32_t)(due - *sent);
    for (uint32_t i = 0; i < n; i++) {
      siov[i] = (struct iovec){ pkts + (size_t)rec * (*sent + i), rec };
      smsg[i].msg_hdr = (struct msghdr){ .msg_iov = &siov[i], .msg_iovlen = 1 };
    }
    uint64_t ts = sent_at != NULL ? realtime_ns() : 0;
    int k = sendmmsg(out, smsg, n, 0);
    if (sent_at != NULL) for (uint32_t i = 0; i < n; i++) sent_at[*sent + i] = ts;
    *sent += k > 0 ? (uint32_t)k : n; /* a failed batch counts as sent and lost */
    *last_send = now_ns();
  }
}

static int bound_socket(const char *host, int port) {
  int fd = udp_socket(8 << 20);
  struct sockaddr_in a = addr_of(host, port);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); exit(2); }
  return fd;
}

static int run_relay(const char *file, uint32_t first, uint32_t count, const char *src, int sport, const char *dst, int dport, int sinkport, double rate) {
  FILE *f = fopen(file, "rb");
  uint32_t rec = 0;
  if (!f || fread(&rec, 4, 1, f) != 1 || rec == 0 || rec > MAX_SIZE) { fprintf(stderr, "bad record file %s\n", file); return 2; }
  char *pkts = malloc((size_t)rec * count);
  if (fseek(f, 4 + (long)rec * first, SEEK_SET) != 0 || fread(pkts, rec, count, f) != count) { fprintf(stderr, "file %s has fewer than %u records after %u\n", file, count, first); return 2; }
  fclose(f);
  int out = bound_socket(src, sport);
  int sink = bound_socket(src, sinkport);
  struct sockaddr_in to = addr_of(dst, dport);
  if (connect(out, (struct sockaddr *)&to, sizeof to) < 0) { perror("connect"); return 2; }
  static char rbuf[BATCH][MAX_SIZE];
  static struct iovec riov[BATCH];
  static struct mmsghdr rmsg[BATCH];
  uint64_t start = now_ns(), last_send = start, interval = (uint64_t)(1e9 / rate);
  uint32_t sent = 0, received = 0, other = 0;
  struct pollfd pfd = { sink, POLLIN, 0 };
  for (;;) {
    uint64_t t = now_ns();
    if (sent < count) {
      send_due(out, pkts, rec, count, start, interval, t, &sent, &last_send, NULL);
    } else if (received >= count || t - last_send > DRAIN_NS) {
      break;
    }
    int r = recv_batch(sink, rmsg, riov, rbuf);
    if (r > 0) {
      for (int i = 0; i < r; i++) {
        if (rmsg[i].msg_len == rec) received++;
        else other++; /* the relay's probes and keepalives */
      }
      continue;
    }
    uint64_t wake = sent < count ? start + (uint64_t)sent * interval : last_send + DRAIN_NS;
    t = now_ns();
    if (wake > t) {
      uint64_t w = wake - t;
      struct timespec ts = { (time_t)(w / 1000000000ull), (long)(w % 1000000000ull) };
      ppoll(&pfd, 1, &ts, NULL);
    }
  }
  /* The out socket also receives the relay's probes; drain it so nothing is left queued. */
  while (recv(out, rbuf[0], MAX_SIZE, MSG_DONTWAIT) > 0) {}
  /* send_s: the sending phase alone (elapsed_s adds a 1 s drain whenever something was lost). */
  printf("{\"sent\":%u,\"received\":%u,\"other\":%u,\"record_bytes\":%u,\"send_s\":%.3f,\"elapsed_s\":%.3f}\n", sent, received, other, rec,
         (double)(last_send - start) / 1e9, (double)(now_ns() - start) / 1e9);
  return 0;
}


static int run_hop(const char *file, uint32_t first, uint32_t count, const char *src, int sport, const char *dst, int dport,
                   const char *sinkns, const char *sinkhost, int sinkport, double rate, int size) {
  uint32_t rec = 100;
  int plain = strcmp(file, "-") == 0;
  if (plain) {
    if (size < 16 || size > MAX_SIZE) { fprintf(stderr, "size must be 16..%d\n", MAX_SIZE); return 2; }
    rec = (uint32_t)size;
  }
  char *pkts;
  if (plain) {
    pkts = calloc(count, rec);
    for (uint32_t i = 0; i < count; i++) { uint32_t w[2] = { MAGIC, i }; memcpy(pkts + (size_t)rec * i, w, 8); }
  } else {
    FILE *f = fopen(file, "rb");
    if (!f || fread(&rec, 4, 1, f) != 1 || rec == 0 || rec > MAX_SIZE) { fprintf(stderr, "bad record file %s\n", file); return 2; }
    pkts = malloc((size_t)rec * count);
    if (fseek(f, 4 + (long)rec * first, SEEK_SET) != 0 || fread(pkts, rec, count, f) != count) { fprintf(stderr, "file %s has fewer than %u records after %u\n", file, count, first); return 2; }
    fclose(f);
  }
  int out = bound_socket(src, sport);
  struct sockaddr_in to = addr_of(dst, dport);
  if (connect(out, (struct sockaddr *)&to, sizeof to) < 0) { perror("connect"); return 2; }
  char nspath[256];
  snprintf(nspath, sizeof nspath, "/var/run/netns/%s", sinkns);
  int nsfd = open(nspath, O_RDONLY);
  if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) { perror("setns"); return 2; }
  close(nsfd);
  int sink = bound_socket(sinkhost, sinkport);
  int one = 1;
  if (setsockopt(sink, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0) { perror("SO_TIMESTAMPNS"); return 2; }
  uint64_t *sent_at = calloc(count, sizeof *sent_at), *arrived_at = calloc(count, sizeof *arrived_at);
  uint32_t *lat = calloc(count, sizeof *lat);
  static char rbuf[BATCH][MAX_SIZE];
  static char cbuf[BATCH][CMSG_SPACE(sizeof(struct timespec))];
  static struct iovec riov[BATCH];
  static struct mmsghdr rmsg[BATCH];
  uint64_t start = now_ns(), last_send = start, interval = (uint64_t)(1e9 / rate);
  uint32_t sent = 0, received = 0, other = 0, untimed = 0;
  struct pollfd pfd = { sink, POLLIN, 0 };
  for (;;) {
    uint64_t t = now_ns();
    if (sent < count) {
      send_due(out, pkts, rec, count, start, interval, t, &sent, &last_send, sent_at);
    } else if (received >= count || t - last_send > DRAIN_NS) {
      break;
    }
    for (int i = 0; i < BATCH; i++) {
      riov[i] = (struct iovec){ rbuf[i], MAX_SIZE };
      rmsg[i].msg_hdr = (struct msghdr){ .msg_iov = &riov[i], .msg_iovlen = 1, .msg_control = cbuf[i], .msg_controllen = sizeof cbuf[i] };
    }
    int r = recvmmsg(sink, rmsg, BATCH, MSG_DONTWAIT, NULL);
    if (r > 0) {
      uint64_t fallback = realtime_ns();
      for (int i = 0; i < r; i++) {
        if (rmsg[i].msg_len != rec) { other++; continue; } /* the relay's probes and keepalives */
        uint64_t at = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&rmsg[i].msg_hdr); c; c = CMSG_NXTHDR(&rmsg[i].msg_hdr, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            at = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
          }
        }
        if (at == 0) { at = fallback; untimed++; }
        uint32_t idx = received;
        if (plain) {
          uint32_t w[2];
          memcpy(w, rbuf[i], 8);
          if (w[0] != MAGIC || w[1] >= count || arrived_at[w[1]] != 0) { other++; continue; }
          idx = w[1];
        }
        if (idx < count) arrived_at[idx] = at;
        received++;
      }
      continue;
    }
    uint64_t wake = sent < count ? start + (uint64_t)sent * interval : last_send + DRAIN_NS;
    t = now_ns();
    if (wake > t) {
      uint64_t w = wake - t;
      struct timespec ts = { (time_t)(w / 1000000000ull), (long)(w % 1000000000ull) };
      ppoll(&pfd, 1, &ts, NULL);
    }
  }
  while (recv(out, rbuf[0], MAX_SIZE, MSG_DONTWAIT) > 0) {}
  /* Order matching is only sound without loss: then every arrival is its send. */
  uint32_t n = 0;
  int matched = plain || received == sent;
  if (matched) {
    for (uint32_t i = 0; i < count; i++) {
      if (arrived_at[i] == 0 || sent_at[i] == 0) continue;
      uint64_t d = arrived_at[i] > sent_at[i] ? arrived_at[i] - sent_at[i] : 0;
      lat[n++] = d > 0xffffffffull ? 0xffffffffu : (uint32_t)d;
    }
  }
  qsort(lat, n, sizeof *lat, cmp_u32);
  printf("{\"sent\":%u,\"received\":%u,\"other\":%u,\"matched\":%u,\"matched_by\":\"%s\",\"untimed\":%u,\"record_bytes\":%u,\"send_s\":%.3f,"
         "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f}\n",
         sent, received, other, n, plain ? "index" : "order", untimed, rec, (double)(last_send - start) / 1e9,
         pct(lat, n, 0.5), pct(lat, n, 0.9), pct(lat, n, 0.99), pct(lat, n, 0.999), n ? lat[n - 1] / 1000.0 : -1.0);
  return 0;
}

int main(int argc, char **argv) {
  prctl(PR_SET_TIMERSLACK, 1UL); /* wake-ups on time, not 50 us late */
  if (argc >= 4 && strcmp(argv[1], "echo") == 0) return run_bounce(atoi(argv[2]), NULL, atof(argv[3]));
  if (argc >= 6 && strcmp(argv[1], "forward") == 0) {
    struct sockaddr_in dst = addr_of(argv[3], atoi(argv[4]));
    return run_bounce(atoi(argv[2]), &dst, atof(argv[5]));
  }
  if (argc >= 8 && strcmp(argv[1], "load") == 0)
    return run_load(argv[2], atoi(argv[3]), atof(argv[4]), (uint32_t)strtoul(argv[5], NULL, 10), atoi(argv[6]), atof(argv[7]));
  if (argc >= 7 && strcmp(argv[1], "flows") == 0)
    return run_flows(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
  if (argc >= 11 && strcmp(argv[1], "relay") == 0)
    return run_relay(argv[2], (uint32_t)strtoul(argv[3], NULL, 10), (uint32_t)strtoul(argv[4], NULL, 10), argv[5], atoi(argv[6]), argv[7], atoi(argv[8]), atoi(argv[9]), atof(argv[10]));
  if (argc >= 13 && strcmp(argv[1], "hop") == 0)
    return run_hop(argv[2], (uint32_t)strtoul(argv[3], NULL, 10), (uint32_t)strtoul(argv[4], NULL, 10), argv[5], atoi(argv[6]), argv[7], atoi(argv[8]),
                   argv[9], argv[10], atoi(argv[11]), atof(argv[12]), argc >= 14 ? atoi(argv[13]) : 100);
  fprintf(stderr, "usage: loadgen echo PORT SECONDS | forward PORT DSTHOST DSTPORT SECONDS | load HOST PORT RATE COUNT SIZE MAXSECONDS | flows HOST PORT NFLOWS ROUNDS SIZE\n");
  return 2;
}
