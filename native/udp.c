/*
 * overpass_udp: a UDP socket that moves datagrams in batches. Node's dgram
 * makes one recvmsg and one sendmsg system call, and one call into JS, per
 * datagram; on a transit relay those cost more than the crypto. Here:
 *
 *   1. receive: a uv_poll_t on the Node loop; each wake runs recvmmsg for up
 *      to BATCH datagrams into ONE preallocated JS Buffer (slot 1..BATCH; slot
 *      0 is where JS moves the datagram it delivers), writes a table of
 *      (slot, length, source id) into a shared Int32Array (or, for one the
 *      transit table opened, where its plaintext is), and calls JS ONCE
 *      per batch (at most ROUNDS_PER_WAKE batches per wake, so one busy
 *      socket cannot starve the loop);
 *   2. send inside that call, on this socket or on any other socket of this
 *      addon (an ingress reads a client batch on its service socket and
 *      sends on the overlay socket): copied into that socket's preallocated
 *      native batch and flushed with sendmmsg when the JS call returns (or
 *      when the batch is full);
 *   3. send outside any batch (timers): one sendto at once.
 *
 * A socket may join a SO_REUSEPORT group (several sockets, one per worker
 * thread, on one port) and steer the group's datagrams by lane: a classic
 * BPF program picks the socket from a byte of the overlay header (see
 * lane_program below).
 *
 * State outside the sockets (the batch in progress and the sockets that
 * queued sends during it) lives in the env's udp_env_t (udp-addr.h): one
 * per worker thread, so threads using the addon at once never share it.
 *
 * Addresses are small integers: a table of sockaddrs (open addressing, at
 * most ADDR_CAP entries) gives every source and destination an id, so
 * neither side formats or parses an address string per datagram. The table
 * is emptied (its epoch bumped, so JS drops its caches) only where no id is
 * in use: before a recvmmsg when it is 3/4 full, or on an intern outside a
 * batch when it is full. Counters live in a shared Float64Array.
 * Nothing is allocated per datagram. Everything else (errors, fallbacks,
 * caches) lives in src/io/native-udp.ts.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <unistd.h>
#include <uv.h>

#define ADDON_ERROR_CODE "EOVERPASS_UDP"
#include "napi-util.h"
#include "udp-addr.h"
#include "udp-connected.h"
#include "poll-handle.h"
#include "transit.h"

#define BATCH 64
#define ROUNDS_PER_WAKE 4
#define ADDR_CAP 1024
#define ADDR_BUCKETS 2048 /* power of two, twice ADDR_CAP: probes stay short */
#define ADDR_RESET_AT (ADDR_CAP - ADDR_CAP / 4)

/* open() flags, as src/io/native-udp.ts passes them. */
#define JS_OPEN_REUSEPORT 1
/* The largest lane group the steering program serves (a lane is one byte). */
#define LANE_GROUP_MAX 256

/* Overlay transport header (docs/wire-format.md): the lane is byte 1 of the
 * big-endian counter at 8..15, i.e. counter bits 48..55. */
#define WIRE_TYPE_OFFSET 1
#define WIRE_TYPE_TRANSPORT 3
#define WIRE_LANE_OFFSET 9
#define WIRE_TRANSPORT_HEADER 16

/* Shared Int32Array: header, then (slot, length, source id) per datagram, or, for a datagram the
 * transit table opened in place (transit.c), (-byte offset of its plaintext in the receive buffer,
 * plaintext length, the table's peer slot). */
#define META_COUNT 0
#define META_EPOCH 1
#define META_HEADER 2
#define META_INTS (META_HEADER + 3 * BATCH)

/* Shared Float64Array of counters (names in src/io/native-udp.ts). */
enum { ST_RX, ST_RX_TRUNCATED, ST_RX_ERRORS, ST_TX, ST_TX_DROPPED, ST_TX_ERRORS, ST_TX_LAST_ERRNO, ST_TX_BATCHES, ST_COUNT };

typedef struct udp_sock {
  poll_handle_t ph; /* first member: the uv handle pointer is the struct; ph.in_call: this socket's batch is running */
  udp_env_t *ue;    /* its env's state: the batch in progress, the pending list */
  int family;
  size_t slot_bytes;
  unsigned char *rbuf; /* backing store of the JS receive Buffer, (BATCH + 1) slots */
  int32_t *meta;
  double *stats;
  struct mmsghdr rmsgs[BATCH];
  struct iovec riov[BATCH];
  addr_t rname[BATCH];
  unsigned char *sbuf; /* native send batch, BATCH slots */
  struct mmsghdr smsgs[BATCH];
  struct iovec siov[BATCH];
  int queued;
  addr_t addrs[ADDR_CAP];
  int16_t buckets[ADDR_BUCKETS]; /* id + 1, 0 = empty */
  int naddrs;
  napi_ref rbuf_ref, meta_ref, stats_ref;
  transit_t *transit; /* the native transit fast path (transit.c), when JS attached one */
  napi_ref transit_ref;
  bool is_pending; /* in ue->pending: queued sends during another socket's batch */
} sock_t;

static void forget_pending(sock_t *s) {
  udp_env_t *ue = s->ue;
  for (int i = 0; i < ue->npending; i++) {
    if (ue->pending[i] == s) {
      ue->pending[i] = ue->pending[--ue->npending];
      s->is_pending = false;
      return;
    }
  }
}

/* --- the address table ------------------------------------------------ */

static uint32_t addr_hash(const addr_t *a) {
  uint32_t h = 2166136261u;
  const unsigned char *p;
  size_t n;
  if (a->u.sa.sa_family == AF_INET) {
    p = (const unsigned char *)&a->u.v4.sin_addr;
    n = 4;
  } else {
    p = (const unsigned char *)&a->u.v6.sin6_addr;
    n = 16;
  }
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  h = (h ^ a->u.v4.sin_port) * 16777619u; /* sin_port and sin6_port share their offset */
  return h;
}

static bool addr_equal(const addr_t *a, const addr_t *b) {
  if (a->u.sa.sa_family != b->u.sa.sa_family) return false;
  if (a->u.sa.sa_family == AF_INET)
    return a->u.v4.sin_port == b->u.v4.sin_port && a->u.v4.sin_addr.s_addr == b->u.v4.sin_addr.s_addr;
  return a->u.v6.sin6_port == b->u.v6.sin6_port && a->u.v6.sin6_scope_id == b->u.v6.sin6_scope_id &&
         memcmp(&a->u.v6.sin6_addr, &b->u.v6.sin6_addr, 16) == 0;
}

static void addr_reset(sock_t *s) {
  memset(s->buckets, 0, sizeof s->buckets);
  s->naddrs = 0;
  s->meta[META_EPOCH]++;
}

/* The id of `a`, added if new; -1 when the table is full. */
static int addr_id(sock_t *s, const addr_t *a) {
  uint32_t b = addr_hash(a) & (ADDR_BUCKETS - 1);
  for (;; b = (b + 1) & (ADDR_BUCKETS - 1)) {
    int slot = s->buckets[b];
    if (slot == 0) break;
    if (addr_equal(&s->addrs[slot - 1], a)) return slot - 1;
  }
  if (s->naddrs == ADDR_CAP) return -1;
  int id = s->naddrs++;
  s->addrs[id] = *a;
  s->addrs[id].len = a->u.sa.sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  s->buckets[b] = (int16_t)(id + 1);
  return id;
}

/* --- sending ---------------------------------------------------------- */

static bool is_full_errno(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

static void count_tx_error(sock_t *s, int err) {
  if (is_full_errno(err)) {
    s->stats[ST_TX_DROPPED]++;
  } else {
    s->stats[ST_TX_ERRORS]++;
    s->stats[ST_TX_LAST_ERRNO] = err;
  }
}

/* Sends the queued batch. A full socket buffer drops the rest (counted); a
 * datagram the kernel refuses for another reason is skipped (counted). */
static void flush(sock_t *s) {
  int start = 0;
  if (s->queued > 0) s->stats[ST_TX_BATCHES]++;
  while (start < s->queued) {
    int n = sendmmsg(s->ph.fd, s->smsgs + start, (unsigned)(s->queued - start), MSG_DONTWAIT);
    if (n >= 0) {
      s->stats[ST_TX] += n;
      start += n;
      continue;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (is_full_errno(err)) {
      s->stats[ST_TX_DROPPED] += s->queued - start;
      break;
    }
    count_tx_error(s, err);
    start++;
  }
  s->queued = 0;
}

static void flush_pending(udp_env_t *ue) {
  for (int i = 0; i < ue->npending; i++) {
    flush(ue->pending[i]);
    ue->pending[i]->is_pending = false;
  }
  ue->npending = 0;
}

void udp_batch_begin(udp_env_t *ue) {
  ue->batch_depth++;
}

void udp_batch_flush(udp_env_t *ue) {
  flush_pending(ue);
}

void udp_batch_end(udp_env_t *ue) {
  flush_pending(ue);
  ue->batch_depth--;
}

/* --- receiving -------------------------------------------------------- */

static void prepare_receive(sock_t *s) {
  for (int i = 0; i < BATCH; i++) {
    s->riov[i].iov_base = s->rbuf + (size_t)(i + 1) * s->slot_bytes;
    s->riov[i].iov_len = s->slot_bytes;
    memset(&s->rmsgs[i], 0, sizeof s->rmsgs[i]);
    s->rmsgs[i].msg_hdr.msg_iov = &s->riov[i];
    s->rmsgs[i].msg_hdr.msg_iovlen = 1;
    s->rmsgs[i].msg_hdr.msg_name = &s->rname[i].u;
  }
  for (int i = 0; i < BATCH; i++) {
    s->siov[i].iov_base = s->sbuf + (size_t)i * s->slot_bytes;
    memset(&s->smsgs[i], 0, sizeof s->smsgs[i]);
    s->smsgs[i].msg_hdr.msg_iov = &s->siov[i];
    s->smsgs[i].msg_hdr.msg_iovlen = 1;
  }
}

/* The transit table's verdict on datagram i (transit.c). FORWARDED: re-sealed straight into this
 * socket's send batch, never seen by JS. OPENED: decrypted in place; r says where. */
static transit_verdict_t transit_run(sock_t *s, int i, double now_ms, transit_result_t *r) {
  if (s->queued == BATCH) flush(s);
  int q = s->queued;
  transit_verdict_t v = transit_try(s->transit, s->riov[i].iov_base, s->rmsgs[i].msg_len, &s->rname[i], now_ms,
                                    s->sbuf + (size_t)q * s->slot_bytes, s->slot_bytes, r);
  if (v != TRANSIT_FORWARDED) return v;
  const addr_t *a = transit_peer_addr(s->transit, r->slot);
  s->siov[q].iov_len = r->length;
  s->smsgs[q].msg_hdr.msg_name = (void *)&a->u;
  s->smsgs[q].msg_hdr.msg_namelen = a->len;
  s->queued++;
  return v;
}

/* One recvmmsg; fills the meta table. Returns datagrams received (truncated
 * ones included, so the caller knows whether the queue may hold more) or -errno. */
static int receive_batch(sock_t *s) {
  int n;
  if (s->naddrs >= ADDR_RESET_AT) addr_reset(s);
  for (int i = 0; i < BATCH; i++) s->rmsgs[i].msg_hdr.msg_namelen = sizeof s->rname[i].u;
  do n = recvmmsg(s->ph.fd, s->rmsgs, BATCH, MSG_DONTWAIT, NULL); while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  int k = 0, forwarded = 0;
  double now_ms = s->transit ? transit_now_ms(s->transit) : 0;
  for (int i = 0; i < n; i++) {
    if (s->rmsgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
      s->stats[ST_RX_TRUNCATED]++;
      continue;
    }
    transit_verdict_t v = TRANSIT_DECLINED;
    transit_result_t r;
    if (s->transit) v = transit_run(s, i, now_ms, &r);
    if (v == TRANSIT_FORWARDED || v == TRANSIT_DELIVERED) {
      forwarded++;
      continue;
    }
    int32_t *row = s->meta + META_HEADER + 3 * k;
    if (v == TRANSIT_OPENED) {
      /* A plaintext: minus its byte offset in the receive buffer, its length, the peer slot it came from. */
      row[0] = -(int32_t)((size_t)(i + 1) * s->slot_bytes + r.offset);
      row[1] = (int32_t)r.length;
      row[2] = r.slot;
      k++;
      continue;
    }
    int id = addr_id(s, &s->rname[i]); /* never -1: at least ADDR_CAP/4 > BATCH ids are free */
    if (id < 0) continue;
    row[0] = i + 1;
    row[1] = (int32_t)s->rmsgs[i].msg_len;
    row[2] = id;
    k++;
  }
  s->stats[ST_RX] += k + forwarded;
  s->meta[META_COUNT] = k;
  return n;
}


/* Calls JS once per batch inside one callback scope per wake, so microtasks
 * and nextTicks queued by the handler run once, after the wake. The scope
 * is opened only when a batch has something for JS: a wake whose datagrams
 * the transit fast path forwarded all of never enters JS at all. */
static void on_readable(uv_poll_t *handle, int status, int events) {
  sock_t *s = (sock_t *)handle;
  napi_env env = s->ph.env;
  js_scope_t sc;
  bool in_js = false;
  (void)events;
  s->ph.in_call = true;
  s->ue->batch_depth++;
  if (status < 0) uv_poll_stop(&s->ph.poll); /* the fd is broken: tell JS once, stop watching */
  for (int round = 0; round < ROUNDS_PER_WAKE && !s->ph.closing; round++) {
    int n = status < 0 ? status : receive_batch(s);
    if (n == -EAGAIN || n == -EWOULDBLOCK) break;
    if (n < 0) s->stats[ST_RX_ERRORS]++;
    if (n < 0 || s->meta[META_COUNT] > 0) {
      if (!in_js) js_scope_open(env, &s->ph.cb, &sc);
      in_js = true;
      if (!js_scope_call_int(env, &sc, n < 0 ? n : s->meta[META_COUNT])) n = -1;
      flush_pending(s->ue);
    }
    if (!s->ph.closing) flush(s); /* what JS sent, and what the transit fast path forwarded */
    if (n < BATCH) break;
  }
  s->queued = 0;
  s->ue->batch_depth--;
  if (in_js) js_scope_close(env, &sc);
  s->ph.in_call = false;
  if (s->ph.closing) ph_release(&s->ph);
}

/* --- lifecycle -------------------------------------------------------- */

static void sock_destroy(poll_handle_t *ph) {
  sock_t *s = (sock_t *)ph;
  if (s->ue) udp_env_unref(s->ue);
  free(s->sbuf);
  free(s);
}

static void sock_drop_refs(poll_handle_t *ph) {
  sock_t *s = (sock_t *)ph;
  napi_delete_reference(ph->env, s->rbuf_ref);
  napi_delete_reference(ph->env, s->meta_ref);
  napi_delete_reference(ph->env, s->stats_ref);
  if (s->transit_ref) napi_delete_reference(ph->env, s->transit_ref);
  s->transit_ref = NULL;
  s->transit = NULL;
}

/* The env is going away: the socket must not stay in its pending list. */
static void sock_on_teardown(poll_handle_t *ph) {
  forget_pending((sock_t *)ph);
}

/* --- lane steering ---------------------------------------------------- */

/*
 * The SO_REUSEPORT group's socket for a datagram, as an index into the group
 * (the order its sockets were bound in): lane % n for an overlay transport
 * datagram, 0 for anything else (handshakes, short or foreign datagrams).
 * For UDP the kernel runs it with the UDP header pulled, so offsets are into
 * the payload, and a load past the end returns 0. An index past the group's
 * end would fall back to the 4-tuple hash: the modulo keeps it below n, so
 * that happens only while fewer than n sockets are bound.
 */
static int attach_lane_program(int fd, int n) {
  struct sock_filter code[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, WIRE_TRANSPORT_HEADER, 0, 5),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, WIRE_TYPE_OFFSET),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WIRE_TYPE_TRANSPORT, 0, 3),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, WIRE_LANE_OFFSET),
    BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, (uint32_t)n),
    BPF_STMT(BPF_RET | BPF_A, 0),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) < 0) return errno;
  return 0;
}

/* open(family 4|6, host, port, rcvbufBytes, sndbufBytes, slotBytes, recvBuffer,
 *      meta Int32Array, stats Float64Array, onBatch(countOrNegErrno)
 *      [, flags (1 = SO_REUSEPORT) [, laneGroup (0 = none, else 1..256)]]) -> external
 * A lane group attaches the steering program to the port's reuseport group. */
static napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12], out;
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t host_len, rbuf_len;
  int fam, port, rcvbuf, sndbuf, slot, flags = 0, lanes = 0, fd = -1, rc;
  void *rbuf;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 10) return throw_errno(env, "open: arguments", EINVAL);
  if (argc > 10) CHECK(napi_get_value_int32(env, argv[10], &flags));
  if (argc > 11) CHECK(napi_get_value_int32(env, argv[11], &lanes));
  if (lanes < 0 || lanes > LANE_GROUP_MAX || (lanes > 0 && !(flags & JS_OPEN_REUSEPORT))) return throw_errno(env, "open: lane group", EINVAL);
  CHECK(napi_get_value_int32(env, argv[0], &fam));
  CHECK(napi_get_value_string_utf8(env, argv[1], host, sizeof host, &host_len));
  CHECK(napi_get_value_int32(env, argv[2], &port));
  CHECK(napi_get_value_int32(env, argv[3], &rcvbuf));
  CHECK(napi_get_value_int32(env, argv[4], &sndbuf));
  CHECK(napi_get_value_int32(env, argv[5], &slot));
  CHECK(napi_get_buffer_info(env, argv[6], &rbuf, &rbuf_len));
  int32_t *meta = typed_array_data(env, argv[7], napi_int32_array, META_INTS);
  double *stats = typed_array_data(env, argv[8], napi_float64_array, ST_COUNT);
  if (slot < 64 || rbuf_len < (size_t)slot * (BATCH + 1) || !meta || !stats) return throw_errno(env, "open: buffers", EINVAL);
  int family = fam == 6 ? AF_INET6 : AF_INET;
  int oflags = (flags & JS_OPEN_REUSEPORT) ? OPEN_REUSEPORT : 0;
  if ((rc = open_socket(family, host, port, rcvbuf, sndbuf, oflags, &fd)) != 0) return throw_errno(env, "bind", rc);
  if (lanes > 0 && (rc = attach_lane_program(fd, lanes)) != 0) {
    close(fd);
    return throw_errno(env, "lane steering (SO_ATTACH_REUSEPORT_CBPF)", rc);
  }
  sock_t *s = calloc(1, sizeof *s);
  unsigned char *sbuf = malloc((size_t)slot * BATCH);
  udp_env_t *ue = s && sbuf ? udp_env_ref(env) : NULL;
  if (!ue) {
    free(s);
    free(sbuf);
    close(fd);
    return throw_errno(env, "open", ENOMEM);
  }
  s->ue = ue;
  s->family = family;
  s->slot_bytes = (size_t)slot;
  s->rbuf = rbuf;
  s->meta = meta;
  s->stats = stats;
  s->sbuf = sbuf;
  prepare_receive(s);
  s->ph.own_fd = true;
  s->ph.destroy = sock_destroy;
  s->ph.on_teardown = sock_on_teardown;
  CHECK(napi_create_reference(env, argv[6], 1, &s->rbuf_ref));
  CHECK(napi_create_reference(env, argv[7], 1, &s->meta_ref));
  CHECK(napi_create_reference(env, argv[8], 1, &s->stats_ref));
  s->ph.drop_refs = sock_drop_refs;
  bool released;
  if ((rc = ph_start(env, &s->ph, fd, argv[9], "OverpassUdpRead", NULL, on_readable, &released)) < 0) {
    if (!released) {
      sock_drop_refs(&s->ph);
      close(fd);
      sock_destroy(&s->ph);
    }
    return throw_errno(env, "open", -rc);
  }
  CHECK(napi_create_external(env, s, NULL, NULL, &out));
  return out;
}

static sock_t *get_sock(napi_env env, napi_value v) {
  sock_t *s = NULL;
  napi_get_value_external(env, v, (void **)&s);
  return s;
}

/* close(external): stops receiving, drops queued sends, closes the fd. */
static napi_value udp_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  if (!s || s->ph.closing) return NULL;
  forget_pending(s); /* its queued sends are dropped, as documented */
  s->queued = 0;
  ph_close(&s->ph); /* inside its own batch: on_readable releases after it */
  return NULL;
}

/* intern(external, address, port) -> id; -1 not an address for this socket,
 * -2 table full inside a batch (cannot be emptied while ids are in use). */
static napi_value udp_intern(napi_env env, napi_callback_info info) {
  size_t argc = 3, len;
  napi_value argv[3];
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  int port;
  addr_t a;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  if (!s || s->ph.closing) return int_value(env, -1);
  if (napi_get_value_string_utf8(env, argv[1], host, sizeof host, &len) != napi_ok || len >= sizeof host - 1) return int_value(env, -1);
  CHECK(napi_get_value_int32(env, argv[2], &port));
  if (!parse_addr(s->family, host, port, &a)) return int_value(env, -1);
  int id = addr_id(s, &a);
  if (id < 0 && !s->ph.in_call) {
    /* Sends queued during another socket's batch point into this table. */
    if (s->queued > 0) {
      flush(s);
      forget_pending(s);
    }
    addr_reset(s);
    id = addr_id(s, &a);
  }
  return int_value(env, id < 0 ? -2 : id);
}

/* peer(external, id) -> [address, port] (only when JS meets a new id). */
static napi_value udp_peer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out, v;
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  char ifname[IF_NAMESIZE];
  int id, port;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  CHECK(napi_get_value_int32(env, argv[1], &id));
  if (!s || id < 0 || id >= s->naddrs) return throw_errno(env, "peer", EINVAL);
  const addr_t *a = &s->addrs[id];
  if (a->u.sa.sa_family == AF_INET) {
    inet_ntop(AF_INET, &a->u.v4.sin_addr, text, sizeof text);
    port = ntohs(a->u.v4.sin_port);
  } else {
    inet_ntop(AF_INET6, &a->u.v6.sin6_addr, text, sizeof text);
    port = ntohs(a->u.v6.sin6_port);
    if (a->u.v6.sin6_scope_id != 0 && if_indextoname(a->u.v6.sin6_scope_id, ifname)) {
      size_t n = strlen(text);
      snprintf(text + n, sizeof text - n, "%%%s", ifname);
    }
  }
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_element(env, out, 0, v));
  CHECK(napi_set_element(env, out, 1, int_value(env, port)));
  return out;
}

/* local(external) -> [address, port] of the bound socket. */
static napi_value udp_local(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, v;
  char text[INET6_ADDRSTRLEN];
  addr_t a;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  if (!s || s->ph.closing) return throw_errno(env, "local", EBADF);
  a.len = sizeof a.u;
  if (getsockname(s->ph.fd, &a.u.sa, &a.len) < 0) return throw_errno(env, "getsockname", errno);
  if (a.u.sa.sa_family == AF_INET) inet_ntop(AF_INET, &a.u.v4.sin_addr, text, sizeof text);
  else inet_ntop(AF_INET6, &a.u.v6.sin6_addr, text, sizeof text);
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_element(env, out, 0, v));
  CHECK(napi_set_element(env, out, 1, int_value(env, ntohs(a.u.v4.sin_port))));
  return out;
}

/* send(external, buffer, offset, length, id) -> 1 sent or queued, 0 dropped
 * (socket buffer full), -errno refused. Never blocks; never keeps `buffer`. */
static napi_value udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 5, len;
  napi_value argv[5];
  int off, n, id;
  void *data;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  CHECK(napi_get_value_int32(env, argv[2], &off));
  CHECK(napi_get_value_int32(env, argv[3], &n));
  CHECK(napi_get_value_int32(env, argv[4], &id));
  if (!s || s->ph.closing) return int_value(env, -EBADF);
  if (off < 0 || n < 0 || (size_t)off + (size_t)n > len || id < 0 || id >= s->naddrs) return int_value(env, -EINVAL);
  const addr_t *a = &s->addrs[id];
  udp_env_t *ue = s->ue;
  bool batching = s->ph.in_call || (ue->batch_depth > 0 && (s->is_pending || ue->npending < PENDING_CAP));
  if (batching && (size_t)n <= s->slot_bytes) {
    if (!s->ph.in_call && !s->is_pending) {
      ue->pending[ue->npending++] = s;
      s->is_pending = true;
    }
    if (s->queued == BATCH) flush(s);
    int q = s->queued++;
    memcpy(s->sbuf + (size_t)q * s->slot_bytes, (unsigned char *)data + off, (size_t)n);
    s->siov[q].iov_len = (size_t)n;
    s->smsgs[q].msg_hdr.msg_name = (void *)&a->u;
    s->smsgs[q].msg_hdr.msg_namelen = a->len;
    return int_value(env, 1);
  }
  ssize_t w;
  do w = sendto(s->ph.fd, (unsigned char *)data + off, (size_t)n, MSG_DONTWAIT, &a->u.sa, a->len); while (w < 0 && errno == EINTR);
  if (w >= 0) {
    s->stats[ST_TX]++;
    return int_value(env, 1);
  }
  int err = errno;
  count_tx_error(s, err);
  return int_value(env, is_full_errno(err) ? 0 : -err);
}

/* transitAttach(external, table | null): run the transit fast path on this
 * socket's batches (null detaches). The socket keeps the table alive. */
static napi_value udp_transit_attach(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = argc == 2 ? get_sock(env, argv[0]) : NULL;
  if (!s || s->ph.closing) return throw_errno(env, "transitAttach", EBADF);
  transit_t *t = transit_from_value(env, argv[1]);
  if (s->transit_ref) napi_delete_reference(env, s->transit_ref);
  s->transit_ref = NULL;
  s->transit = NULL;
  if (t) {
    CHECK(napi_create_reference(env, argv[1], 1, &s->transit_ref));
    s->transit = t;
  }
  return NULL;
}

/* The env is torn down; its sockets may still hold the state until their handles close. */
static void env_finalize(napi_env env, void *data, void *hint) {
  udp_env_t *ue = data;
  (void)hint;
  /* The connected sockets' shared async resource (their own callbacks went with each socket). */
  if (ue->connected_async_ready) {
    ue->connected_async_ready = false;
    js_callback_release(env, &ue->connected_async);
  }
  udp_env_unref(ue);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value batch;
  udp_env_t *ue = calloc(1, sizeof *ue);
  if (!ue) return throw_errno(env, "init", ENOMEM);
  ue->refs = 1;
  if (napi_set_instance_data(env, ue, env_finalize, NULL) != napi_ok) {
    free(ue);
    return throw_errno(env, "init: instance data", ENOMEM);
  }
  napi_property_descriptor props[] = {
    {"open", NULL, udp_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, udp_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"intern", NULL, udp_intern, NULL, NULL, NULL, napi_enumerable, NULL},
    {"peer", NULL, udp_peer, NULL, NULL, NULL, napi_enumerable, NULL},
    {"local", NULL, udp_local, NULL, NULL, NULL, napi_enumerable, NULL},
    {"send", NULL, udp_send, NULL, NULL, NULL, napi_enumerable, NULL},
    {"transitAttach", NULL, udp_transit_attach, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  CHECK(napi_create_int32(env, BATCH, &batch));
  CHECK(napi_set_named_property(env, exports, "batch", batch));
  CHECK(udp_connected_register(env, exports));
  CHECK(transit_register(env, exports));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
