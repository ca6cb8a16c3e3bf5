/*
 * Attack traffic and a picky origin for `npm run bench:dos`. Runs only
 * inside the network namespace the bench created; every loop is bounded by
 * a count and a deadline.
 *
 *   dosgen origin ADDR PORT SECONDS
 *       Echo origin that answers only the game's datagrams (loadgen.c's
 *       magic in the first 4 bytes), as a game server answers only clients
 *       that passed its challenge. Junk from spoofed clients gets nothing.
 *
 *   dosgen send DST_IP DST_PORT RATE COUNT MAXSECONDS PAYLOADS SRC_IP SRC_PORT SPREAD
 *       Writes COUNT UDP datagrams at RATE/s through a raw socket with a
 *       source address of our choosing. PAYLOADS is a file of [u16 BE
 *       length][bytes] records, sent in turn. SPREAD 0: every datagram from
 *       SRC_IP:SRC_PORT, and the replies sent back to that address are
 *       captured (a raw UDP socket sees every datagram delivered in the
 *       namespace). SPREAD N > 0: sources spread over N addresses from SRC_IP
 *       up (many /24s), ports 1024.. (a spoofed-client flood).
 *       Prints one JSON line: sent, elapsed_s, request_min/max bytes, and
 *       the captured replies by outer type with their largest size.
 *
 *   dosgen capture SRC_IP SRC_PORT DST_IP DST_PORT COUNT MAXSECONDS OUT
 *       Records up to COUNT UDP payloads from SRC to DST (to be replayed
 *       with `send`) in the PAYLOADS format. Prints one JSON line.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x4f565053u
#define MAX_SIZE 65536
#define MAX_PAYLOADS 100000
#define BATCH 64

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t ip_of(const char *s) {
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1) { fprintf(stderr, "bad address %s\n", s); exit(2); }
  return a.s_addr;
}

/* Bound to ADDR, not the wildcard: replies must come from the address the exit's origin socket is connected to. */
static int run_origin(const char *addr, int port, double seconds) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = ip_of(addr) };
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("origin bind"); return 2; }
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
  static char data[MAX_SIZE];
  uint64_t end = now_ns() + (uint64_t)(seconds * 1e9), echoed = 0, ignored = 0;
  struct pollfd pfd = { fd, POLLIN, 0 };
  while (now_ns() < end) {
    if (poll(&pfd, 1, 100) <= 0) continue;
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, data, sizeof data, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
    if (n < 0) continue;
    uint32_t magic = 0;
    if (n >= 4) memcpy(&magic, data, 4);
    if (magic != MAGIC) { ignored++; continue; }
    sendto(fd, data, (size_t)n, 0, (struct sockaddr *)&from, fl);
    echoed++;
  }
  fprintf(stderr, "echoed %llu ignored %llu\n", (unsigned long long)echoed, (unsigned long long)ignored);
  return 0;
}

struct payloads { int n; uint16_t len[MAX_PAYLOADS]; char *data[MAX_PAYLOADS]; };

static void load_payloads(const char *file, struct payloads *p) {
  FILE *f = fopen(file, "rb");
  if (!f) { perror(file); exit(2); }
  unsigned char h[2];
  p->n = 0;
  while (p->n < MAX_PAYLOADS && fread(h, 1, 2, f) == 2) {
    uint16_t len = (uint16_t)(h[0] << 8 | h[1]);
    char *d = malloc(len ? len : 1);
    if (len && fread(d, 1, len, f) != len) { free(d); break; }
    p->len[p->n] = len;
    p->data[p->n++] = d;
  }
  fclose(f);
  if (p->n == 0) { fprintf(stderr, "no payloads in %s\n", file); exit(2); }
}

/* A raw socket that receives a copy of every UDP datagram delivered in this namespace. */
static int udp_watch_socket(void) {
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
  if (fd < 0) { perror("raw udp socket"); exit(2); }
  int buf = 32 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
  return fd;
}

/* Parses one captured IPv4 datagram; returns the UDP payload length or -1. */
static int udp_of(const char *pkt, ssize_t n, uint32_t *saddr, uint16_t *sport, uint32_t *daddr, uint16_t *dport, const char **payload) {
  if (n < 20) return -1;
  const struct iphdr *ip = (const struct iphdr *)pkt;
  int ihl = ip->ihl * 4;
  if (ip->protocol != IPPROTO_UDP || n < ihl + 8) return -1;
  const struct udphdr *u = (const struct udphdr *)(pkt + ihl);
  *saddr = ip->saddr; *daddr = ip->daddr; *sport = u->source; *dport = u->dest;
  *payload = pkt + ihl + 8;
  return (int)(n - ihl - 8);
}

struct replies { uint64_t by_type[256]; int max_len[256]; uint64_t total; };

static void drain_replies(int wfd, uint32_t from_ip, uint16_t from_port, uint32_t to_ip, uint16_t to_port, struct replies *r) {
  static char pkt[MAX_SIZE];
  for (int i = 0; i < 4096; i++) {
    ssize_t n = recv(wfd, pkt, sizeof pkt, MSG_DONTWAIT);
    if (n < 0) return;
    uint32_t sa, da; uint16_t sp, dp; const char *pl;
    int len = udp_of(pkt, n, &sa, &sp, &da, &dp, &pl);
    if (len < 0 || sa != from_ip || sp != from_port || da != to_ip || dp != to_port) continue;
    int type = len >= 2 ? (unsigned char)pl[1] : 0;
    r->by_type[type]++;
    if (len > r->max_len[type]) r->max_len[type] = len;
    r->total++;
  }
}

static int run_send(char **argv) {
  uint32_t dst = ip_of(argv[0]);
  uint16_t dport = htons((uint16_t)atoi(argv[1]));
  double rate = atof(argv[2]);
  uint64_t count = strtoull(argv[3], NULL, 10);
  double maxs = atof(argv[4]);
  static struct payloads p;
  load_payloads(argv[5], &p);
  uint32_t src = ip_of(argv[6]);
  uint16_t sport = htons((uint16_t)atoi(argv[7]));
  uint32_t spread = (uint32_t)strtoul(argv[8], NULL, 10);

  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) { perror("raw socket"); return 2; }
  int buf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
  int wfd = spread == 0 ? udp_watch_socket() : -1;
  struct replies rep;
  memset(&rep, 0, sizeof rep);

  static char pkt[MAX_SIZE];
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = dst };
  uint64_t start = now_ns(), hard_end = start + (uint64_t)(maxs * 1e9), sent = 0, errors = 0;
  uint64_t interval = (uint64_t)(1e9 / rate);
  int req_min = MAX_SIZE, req_max = 0;
  while (sent < count) {
    uint64_t t = now_ns();
    if (t >= hard_end) break;
    uint64_t due = (t - start) / interval + 1;
    if (due > count) due = count;
    while (sent < due) {
      int k = (int)(sent % (uint64_t)p.n);
      struct iphdr *ip = (struct iphdr *)pkt;
      struct udphdr *u = (struct udphdr *)(pkt + 20);
      memset(ip, 0, 20);
      ip->version = 4; ip->ihl = 5; ip->ttl = 64; ip->protocol = IPPROTO_UDP;
      ip->daddr = dst;
      ip->saddr = src;
      u->source = sport;
      if (spread > 0) {
        /* Multiplicative hashing spreads consecutive datagrams over distinct addresses (and /24s). */
        uint32_t off = (uint32_t)((sent * 2654435761ull) % spread);
        ip->saddr = htonl(ntohl(src) + off);
        u->source = htons((uint16_t)(1024 + sent % 60000));
      }
      u->dest = dport;
      u->len = htons((uint16_t)(8 + p.len[k]));
      u->check = 0; /* optional in IPv4 */
      ip->tot_len = htons((uint16_t)(28 + p.len[k]));
      memcpy(pkt + 28, p.data[k], p.len[k]);
      if (sendto(fd, pkt, 28 + p.len[k], 0, (struct sockaddr *)&to, sizeof to) < 0) errors++;
      if (p.len[k] < req_min) req_min = p.len[k];
      if (p.len[k] > req_max) req_max = p.len[k];
      sent++;
    }
    if (wfd >= 0) drain_replies(wfd, dst, dport, src, sport, &rep);
    uint64_t next = start + sent * interval;
    uint64_t now = now_ns();
    if (next > now + 200000) {
      struct timespec ts = { 0, (long)(next - now > 1000000 ? 1000000 : next - now) };
      nanosleep(&ts, NULL);
    }
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  /* Replies still on their way. */
  for (uint64_t until = now_ns() + 300000000ull; wfd >= 0 && now_ns() < until;) {
    drain_replies(wfd, dst, dport, src, sport, &rep);
    struct timespec ts = { 0, 5000000 };
    nanosleep(&ts, NULL);
  }
  printf("{\"sent\":%llu,\"send_errors\":%llu,\"elapsed_s\":%.3f,\"request_min_bytes\":%d,\"request_max_bytes\":%d,\"captured\":%s,\"replies_by_type\":{",
         (unsigned long long)sent, (unsigned long long)errors, elapsed, req_min, req_max, wfd >= 0 ? "true" : "false");
  int first = 1;
  for (int t = 0; t < 256; t++) {
    if (rep.by_type[t] == 0) continue;
    printf("%s\"%d\":{\"count\":%llu,\"max_bytes\":%d}", first ? "" : ",", t, (unsigned long long)rep.by_type[t], rep.max_len[t]);
    first = 0;
  }
  printf("}}\n");
  return 0;
}

static int run_capture(char **argv) {
  uint32_t sa = ip_of(argv[0]), da = ip_of(argv[2]);
  uint16_t sp = htons((uint16_t)atoi(argv[1])), dp = htons((uint16_t)atoi(argv[3]));
  uint64_t count = strtoull(argv[4], NULL, 10);
  uint64_t end = now_ns() + (uint64_t)(atof(argv[5]) * 1e9);
  FILE *out = fopen(argv[6], "wb");
  if (!out) { perror(argv[6]); return 2; }
  int wfd = udp_watch_socket();
  struct pollfd pfd = { wfd, POLLIN, 0 };
  static char pkt[MAX_SIZE];
  uint64_t got = 0;
  while (got < count && now_ns() < end) {
    if (poll(&pfd, 1, 50) <= 0) continue;
    ssize_t n = recv(wfd, pkt, sizeof pkt, MSG_DONTWAIT);
    if (n < 0) continue;
    uint32_t s, d; uint16_t ps, pd; const char *pl;
    int len = udp_of(pkt, n, &s, &ps, &d, &pd, &pl);
    if (len < 0 || s != sa || ps != sp || d != da || pd != dp) continue;
    unsigned char h[2] = { (unsigned char)(len >> 8), (unsigned char)len };
    fwrite(h, 1, 2, out);
    fwrite(pl, 1, (size_t)len, out);
    got++;
  }
  fclose(out);
  printf("{\"captured\":%llu}\n", (unsigned long long)got);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "origin") == 0) return run_origin(argv[2], atoi(argv[3]), atof(argv[4]));
  if (argc >= 11 && strcmp(argv[1], "send") == 0) return run_send(argv + 2);
  if (argc >= 9 && strcmp(argv[1], "capture") == 0) return run_capture(argv + 2);
  fprintf(stderr, "usage: dosgen origin ADDR PORT SECONDS | send DST_IP DST_PORT RATE COUNT MAXSECONDS PAYLOADS SRC_IP SRC_PORT SPREAD | capture SRC_IP SRC_PORT DST_IP DST_PORT COUNT MAXSECONDS OUT\n");
  return 2;
}
