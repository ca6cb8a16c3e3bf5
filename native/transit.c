/*
 * The native transit fast path. A transit relay's work on a data packet is
 * fixed: open, check, pop the path, re-seal for the next hop. Done here, per
 * datagram of a recvmmsg batch, it costs no call into JS and no copy out of
 * native memory; the re-sealed datagram is written straight into the
 * socket's sendmmsg batch (udp.c).
 *
 * Contract: JS stays the owner and the reference (src/dataplane/
 * transit-offload.ts). It hands over, per peer, the keypairs the TypeScript
 * path would accept packets on (current and previous) and the one it would
 * seal with (current), each valid until a deadline before any key limit,
 * and it sees every change (handshake, rekey, expiry). A table works on
 * one lane, its worker's own (transitLane; lane 0 for a single worker): the
 * replay window of that lane and the send counters are the JS objects' own
 * memory, shared, so both sides read and advance one state.
 *
 * Four outcomes per datagram:
 *   - declined (anything that fails a check before the tag verified:
 *     handshakes, other lanes than the table's, keys near a limit, unknown
 *     index or source, replays, bad tags): nothing changed, not even the
 *     datagram's bytes, and JS handles it as before, drop counters included;
 *   - forwarded: pure transit the TypeScript path would forward to the same
 *     peer with the same bytes, re-sealed into `out`;
 *   - opened: authenticated, but not for the fast path to forward (local
 *     delivery at an ingress or exit, control, probes, keepalives, and every
 *     packet JS drops after its open). The replay window is committed and
 *     the packet counted exactly as the TypeScript open does, and JS gets the
 *     plaintext, decrypted in place in the receive buffer, with the peer it
 *     came from (Relay's opened-datagram entry): it skips its own open and
 *     replay check, so a datagram that ends here is decrypted once;
 *   - delivered: opened, and a forward datagram of an exit flow JS
 *     registered, whose every check passes as on the TypeScript path:
 *     exit-flows.c sent its payload to the flow's origin and advanced the
 *     counters JS reads (nothing for JS).
 * The differential test (test/dataplane/transit-offload.test.ts) holds the
 * three to the TypeScript path.
 *
 * Per datagram, in the TypeScript path's order:
 *   1. outer header: length, version, type transport, reserved bytes
 *   2. receiver index -> keypair; its peer's address must be the source
 *   3. the table's lane, counter under the reject limit, keypair before its deadline
 *   4. replay pre-check (crypto/replay.ts, same ring), open (secretbox, in place)
 *   5. commit the open: replay update, count rx for the peer
 *   6. data header (wire/data.ts decodeDataHeader), path[pidx] is us,
 *      path[pidx-1] the sender, not the last hop, hops left; else: opened
 *   7. next hop path[pidx+1] is a peer with a send keypair before its
 *      deadline whose counter stays under the rekey limit; else: opened
 *   8. forward: hops-1, pidx+1, seal on the table's lane with its next
 *      counter, count tx for the next hop
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define ADDON_ERROR_CODE "EOVERPASS_TRANSIT"
#include "napi-util.h"
#include "wire-data.h"
#include "transit.h"
#include "exit-flows.h"

#ifdef OVERPASS_HAVE_SODIUM
#include <sodium.h>
#endif

/* wire/outer.ts */
#define WIRE_VERSION 1
#define MSG_TRANSPORT 3
#define OUTER_HEADER_LEN 16
#define TAG_LEN 16
#define TRANSPORT_OVERHEAD (OUTER_HEADER_LEN + TAG_LEN)
#define NONCE_LEN 24
#define KEY_LEN 32
#define LANE_UNIT 0x10000u
#define MAX_LANES 32
/* wire/data.ts: wire-data.h */
/* crypto/replay.ts */
#define RING_WORDS 256
#define RING_MASK (RING_WORDS - 1)
#define WINDOW_SIZE ((RING_WORDS - 1) * 32)
/* Receive keypairs per peer: current and up to two previous (crypto/peer-state.ts MAX_PREVIOUS). */
#define RX_PER_PEER 3
/* The largest plaintext the fast path takes (an overlay datagram of relay.mtu <= 65535). */
#define PLAIN_CAP 65536

/* Shared Float64Array: totals, then PEER_STATS per peer slot. JS reads and zeroes them (deltas). */
enum { TS_FORWARDED, TS_OPENED, TS_DELIVERED, TS_HEAD };
enum { PS_RX_PACKETS, PS_RX_BYTES, PS_TX_PACKETS, PS_TX_BYTES, PEER_STATS };

typedef struct {
  uint32_t local_index;
  int peer;
  unsigned char key[KEY_LEN];
  uint32_t *ring;  /* the JS ReplayWindow's ring (the table's lane) */
  double *head;    /* its highest accepted counter */
  napi_ref ring_ref, head_ref;
  double until_ms; /* the JS clock's ms from which JS decides (key age limits) */
} rx_key_t;

typedef struct {
  bool known;      /* transitPeer accepted its address */
  uint32_t node;
  addr_t addr;
  bool can_send;
  uint32_t remote_index;
  unsigned char key[KEY_LEN];
  double *counts;  /* the JS Keypair's [sendCounter, lane 0 next, lane 1 next, ...] */
  napi_ref counts_ref;
  double until_ms;
} peer_t;

struct transit {
  napi_env env;
  uint32_t self_node;
  /* The one lane this table opens and seals on (transitLane; 0 unless set): its worker's own. */
  uint32_t lane;
  int family;
  int npeers;
  double rekey_after_packets, reject_after_packets;
  double clock_offset_ms; /* JS clock - uv_hrtime, in ms */
  double *stats;
  napi_ref stats_ref;
  peer_t *peers;
  rx_key_t *rx; /* RX_PER_PEER per peer, local_index 0 = empty */
  int32_t *buckets; /* rx entry + 1, open addressing by local index */
  uint32_t bucket_mask;
  /* The exit's flows for native local delivery (exit-flows.c), once JS attached their counters. */
  exit_flows_t *exit;
};

/* The fast path's helpers; unused in a build without libsodium, where transit_try declines everything. */
#define FAST_PATH static __attribute__((unused))

FAST_PATH void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

FAST_PATH bool addr_same(const addr_t *a, const addr_t *b) {
  if (a->u.sa.sa_family != b->u.sa.sa_family) return false;
  if (a->u.sa.sa_family == AF_INET)
    return a->u.v4.sin_port == b->u.v4.sin_port && a->u.v4.sin_addr.s_addr == b->u.v4.sin_addr.s_addr;
  return a->u.v6.sin6_port == b->u.v6.sin6_port && a->u.v6.sin6_scope_id == b->u.v6.sin6_scope_id &&
         memcmp(&a->u.v6.sin6_addr, &b->u.v6.sin6_addr, 16) == 0;
}

double transit_now_ms(const transit_t *t) {
  return (double)uv_hrtime() / 1e6 + t->clock_offset_ms;
}

/* --- the replay window, as crypto/replay.ts keeps it ------------------- */

FAST_PATH bool replay_check(const rx_key_t *k, uint64_t c) {
  uint64_t last = (uint64_t)k->head[0];
  if (c > last) return true;
  if (last - c > WINDOW_SIZE) return false;
  return (k->ring[(c / 32) & RING_MASK] & (1u << (c % 32))) == 0;
}

/* Only called after replay_check passed and the tag verified: always marks `c`. */
FAST_PATH void replay_update(rx_key_t *k, uint64_t c) {
  uint64_t last = (uint64_t)k->head[0];
  uint64_t block = c / 32;
  if (c > last) {
    uint64_t current = last / 32;
    uint64_t clear = block - current < RING_WORDS ? block - current : RING_WORDS;
    for (uint64_t i = current + 1; clear > 0; i++, clear--) k->ring[i & RING_MASK] = 0;
    k->head[0] = (double)c;
  }
  k->ring[block & RING_MASK] |= 1u << (c % 32);
}

/* --- lookups ------------------------------------------------------------ */

static rx_key_t *find_rx(transit_t *t, uint32_t index) {
  if (index == 0) return NULL;
  for (uint32_t b = (index * 2654435761u) & t->bucket_mask;; b = (b + 1) & t->bucket_mask) {
    int32_t e = t->buckets[b];
    if (e == 0) return NULL;
    if (t->rx[e - 1].local_index == index) return &t->rx[e - 1];
  }
}

static void rebuild_buckets(transit_t *t) {
  memset(t->buckets, 0, sizeof(int32_t) * (t->bucket_mask + 1));
  for (int e = 0; e < t->npeers * RX_PER_PEER; e++) {
    uint32_t index = t->rx[e].local_index;
    if (index == 0) continue;
    uint32_t b = (index * 2654435761u) & t->bucket_mask;
    while (t->buckets[b] != 0) b = (b + 1) & t->bucket_mask;
    t->buckets[b] = e + 1;
  }
}

FAST_PATH int peer_by_node(const transit_t *t, uint32_t node) {
  for (int i = 0; i < t->npeers; i++)
    if (t->peers[i].known && t->peers[i].node == node) return i;
  return -1;
}

/* --- the fast path ------------------------------------------------------ */

/* Of a data header that decodes (data_header_payload): the path index of a transit packet, or -1. */
FAST_PATH int transit_header(const transit_t *t, const unsigned char *p, uint32_t from_node) {
  unsigned plen = p[OFF_PATH_LEN], pidx = p[OFF_PATH_INDEX];
  /* relay.ts onData, onPathPacket, forward */
  if (be32(p + OFF_PATH + 4 * pidx) != t->self_node || be32(p + OFF_PATH + 4 * (pidx - 1)) != from_node) return -1;
  if (pidx >= plen - 1 || p[OFF_HOPS] == 0) return -1;
  return (int)pidx;
}

/* The checks before the open (steps 1-4): the keypair entry, or NULL to decline. Changes no state. */
FAST_PATH rx_key_t *rx_check(transit_t *t, const unsigned char *d, size_t len, const addr_t *src, double now_ms, uint64_t *counter) {
  if (len < TRANSPORT_OVERHEAD || d[0] != WIRE_VERSION || d[1] != MSG_TRANSPORT || d[2] != 0 || d[3] != 0) return NULL;
  if (len - TRANSPORT_OVERHEAD > PLAIN_CAP) return NULL;
  rx_key_t *k = find_rx(t, be32(d + 4));
  if (!k) return NULL;
  peer_t *from = &t->peers[k->peer];
  if (!from->known || !addr_same(&from->addr, src)) return NULL;
  uint32_t hi = be32(d + 8);
  if (hi / LANE_UNIT != t->lane) return NULL;
  uint64_t c = ((uint64_t)(hi % LANE_UNIT) << 32) | be32(d + 12);
  if (!(now_ms < k->until_ms) || !((double)c < t->reject_after_packets)) return NULL;
  if (!replay_check(k, c)) return NULL;
  *counter = c;
  return k;
}

/* Step 6: the slot of the next hop if this table may seal for it now, else -1. */
FAST_PATH int sealable_next(const transit_t *t, const unsigned char *p, int pidx, double now_ms) {
  int next = peer_by_node(t, be32(p + OFF_PATH + 4 * (pidx + 1)));
  if (next < 0) return -1;
  const peer_t *to = &t->peers[next];
  if (!to->can_send || !(now_ms < to->until_ms) || !(to->counts[0] + 1 < t->rekey_after_packets)) return -1;
  return next;
}

transit_verdict_t transit_try(transit_t *t, unsigned char *d, size_t len, const addr_t *src, double now_ms,
                              unsigned char *out, size_t out_cap, transit_result_t *r) {
#ifdef OVERPASS_HAVE_SODIUM
  uint64_t c;
  rx_key_t *k = rx_check(t, d, len, src, now_ms, &c);
  if (!k) return TRANSIT_DECLINED;
  size_t plain_len = len - TRANSPORT_OVERHEAD;
  unsigned char nonce[NONCE_LEN] = {0};
  memcpy(nonce, d, OUTER_HEADER_LEN);
  /* In place: the plaintext replaces the ciphertext at d + TRANSPORT_OVERHEAD. libsodium verifies
   * the tag before it writes anything, so a datagram that fails here reaches JS unchanged. */
  unsigned char *p = d + TRANSPORT_OVERHEAD;
  if (crypto_secretbox_open_detached(p, p, d + OUTER_HEADER_LEN, plain_len, nonce, k->key) != 0) return TRANSIT_DECLINED;
  /* From here on the datagram is authenticated and committed: it is never opened again. */
  replay_update(k, c);
  double *fs = t->stats + TS_HEAD + PEER_STATS * k->peer;
  fs[PS_RX_PACKETS]++;
  fs[PS_RX_BYTES] += (double)len;
  uint32_t from = t->peers[k->peer].node;
  size_t payload = data_header_payload(p, plain_len);
  int pidx = payload > 0 ? transit_header(t, p, from) : -1;
  if (pidx < 0 && payload > 0 && exit_flows_deliver(t->exit, p, plain_len, payload, from, now_ms)) {
    /* Local delivery at an exit, done: the payload went to the flow's origin socket. */
    t->stats[TS_DELIVERED]++;
    r->offset = TRANSPORT_OVERHEAD;
    r->length = plain_len;
    r->slot = k->peer;
    return TRANSIT_DELIVERED;
  }
  int next = pidx < 0 || out_cap < len ? -1 : sealable_next(t, p, pidx, now_ms);
  if (next < 0) {
    /* Local delivery, control, probes, and whatever JS drops after its open: JS takes the plaintext. */
    t->stats[TS_OPENED]++;
    r->offset = TRANSPORT_OVERHEAD;
    r->length = plain_len;
    r->slot = k->peer;
    return TRANSIT_OPENED;
  }
  peer_t *to = &t->peers[next];
  double *next_counter = &to->counts[1 + t->lane];
  p[OFF_HOPS]--;
  p[OFF_PATH_INDEX]++;
  uint64_t n = (uint64_t)*next_counter;
  *next_counter += 1;
  to->counts[0] += 1;
  out[0] = WIRE_VERSION;
  out[1] = MSG_TRANSPORT;
  out[2] = 0;
  out[3] = 0;
  put_be32(out + 4, to->remote_index);
  put_be32(out + 8, t->lane * LANE_UNIT + (uint32_t)(n >> 32));
  put_be32(out + 12, (uint32_t)n);
  memcpy(nonce, out, OUTER_HEADER_LEN);
  crypto_secretbox_easy(out + OUTER_HEADER_LEN, p, plain_len, nonce, to->key);

  double *ts = t->stats + TS_HEAD + PEER_STATS * next;
  ts[PS_TX_PACKETS]++;
  ts[PS_TX_BYTES] += (double)len;
  t->stats[TS_FORWARDED]++;
  r->offset = 0;
  r->length = len;
  r->slot = next;
  return TRANSIT_FORWARDED;
#else
  (void)t, (void)d, (void)len, (void)src, (void)now_ms, (void)out, (void)out_cap, (void)r;
  return TRANSIT_DECLINED;
#endif
}

const addr_t *transit_peer_addr(const transit_t *t, int slot) {
  return &t->peers[slot].addr;
}

/* --- handing state over (JS, control path) ------------------------------ */

static void wipe(void *p, size_t n) {
#ifdef OVERPASS_HAVE_SODIUM
  sodium_memzero(p, n);
#else
  memset(p, 0, n);
#endif
}

static void forget_rx(transit_t *t, rx_key_t *k) {
  if (k->local_index == 0) return;
  napi_delete_reference(t->env, k->ring_ref);
  napi_delete_reference(t->env, k->head_ref);
  wipe(k->key, KEY_LEN);
  memset(k, 0, sizeof *k);
}

static void forget_tx(transit_t *t, peer_t *p) {
  if (!p->can_send) return;
  napi_delete_reference(t->env, p->counts_ref);
  wipe(p->key, KEY_LEN);
  p->can_send = false;
  p->counts = NULL;
}

static void transit_finalize(napi_env env, void *data, void *hint) {
  transit_t *t = data;
  (void)env;
  (void)hint;
  for (int i = 0; i < t->npeers; i++) {
    forget_tx(t, &t->peers[i]);
    for (int j = 0; j < RX_PER_PEER; j++) forget_rx(t, &t->rx[i * RX_PER_PEER + j]);
  }
  napi_delete_reference(t->env, t->stats_ref);
  exit_flows_free(t->env, t->exit);
  free(t->peers);
  free(t->rx);
  free(t->buckets);
  free(t);
}

transit_t *transit_from_value(napi_env env, napi_value v) {
  transit_t *t = NULL;
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external) return NULL;
  napi_get_value_external(env, v, (void **)&t);
  return t;
}

/* The arguments of a call on a table: exactly `want` of them, into argv, the first a table from
 * transitCreate. NULL, with a JS exception (`arguments_error`) pending, when the count or the table is wrong. */
static transit_t *table_call(napi_env env, napi_callback_info info, napi_value *argv, size_t want, const char *arguments_error) {
  size_t argc = want;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  transit_t *t = argc == want ? transit_from_value(env, argv[0]) : NULL;
  if (!t) throw_errno(env, arguments_error, EINVAL);
  return t;
}

static bool get_u32(napi_env env, napi_value v, uint32_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) return false;
  *out = (uint32_t)d;
  return true;
}

static bool get_key(napi_env env, napi_value v, unsigned char *key) {
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, v, &data, &len) != napi_ok || len != KEY_LEN) return false;
  memcpy(key, data, KEY_LEN);
  return true;
}

/* transitCreate(selfNode, peerCount, family 4|6, rekeyAfterPackets, rejectAfterPackets, jsNowMs, stats Float64Array) -> external */
static napi_value transit_create(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7], out;
  uint32_t self;
  int32_t npeers, fam;
  double rekey, reject, js_now;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
#ifndef OVERPASS_HAVE_SODIUM
  return throw_errno(env, "transitCreate: built without libsodium (apt-get install libsodium-dev, then npm rebuild)", ENOSYS);
#endif
  if (argc < 7 || !get_u32(env, argv[0], &self)) return throw_errno(env, "transitCreate: arguments", EINVAL);
  CHECK(napi_get_value_int32(env, argv[1], &npeers));
  CHECK(napi_get_value_int32(env, argv[2], &fam));
  CHECK(napi_get_value_double(env, argv[3], &rekey));
  CHECK(napi_get_value_double(env, argv[4], &reject));
  CHECK(napi_get_value_double(env, argv[5], &js_now));
  if (npeers < 0 || npeers > 65536 || !(rekey > 0) || !(reject > rekey)) return throw_errno(env, "transitCreate: limits", EINVAL);
  double *stats = typed_array_data(env, argv[6], napi_float64_array, TS_HEAD + PEER_STATS * (size_t)npeers);
  if (!stats) return throw_errno(env, "transitCreate: stats", EINVAL);
  uint32_t buckets = 16;
  while (buckets < (uint32_t)(npeers * RX_PER_PEER * 2)) buckets <<= 1;
  transit_t *t = calloc(1, sizeof *t);
  if (t) {
    t->peers = calloc((size_t)npeers + 1, sizeof *t->peers);
    t->rx = calloc((size_t)npeers * RX_PER_PEER + 1, sizeof *t->rx);
    t->buckets = calloc(buckets, sizeof *t->buckets);
  }
  if (!t || !t->peers || !t->rx || !t->buckets) {
    if (t) {
      free(t->peers);
      free(t->rx);
      free(t->buckets);
    }
    free(t);
    return throw_errno(env, "transitCreate", ENOMEM);
  }
  t->env = env;
  t->self_node = self;
  t->family = fam == 6 ? AF_INET6 : AF_INET;
  t->npeers = npeers;
  t->rekey_after_packets = rekey;
  t->reject_after_packets = reject;
  t->clock_offset_ms = js_now - (double)uv_hrtime() / 1e6;
  t->bucket_mask = buckets - 1;
  t->stats = stats;
  CHECK(napi_create_reference(env, argv[6], 1, &t->stats_ref));
  CHECK(napi_create_external(env, t, transit_finalize, NULL, &out));
  return out;
}

/* transitPeer(table, slot, node, host, port) -> true if datagrams from host:port will be matched to it.
 * The host must be the text the socket reports for that source (inet_ntop's), as relay.ts matches by text. */
static napi_value transit_peer(napi_env env, napi_callback_info info) {
  size_t len;
  napi_value argv[5];
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], text[INET6_ADDRSTRLEN];
  int32_t slot, port;
  uint32_t node;
  addr_t a;
  napi_value result;
  transit_t *t = table_call(env, info, argv, 5, "transitPeer: arguments");
  if (!t) return NULL;
  CHECK(napi_get_value_int32(env, argv[1], &slot));
  CHECK(napi_get_value_int32(env, argv[4], &port));
  if (slot < 0 || slot >= t->npeers || !get_u32(env, argv[2], &node)) return throw_errno(env, "transitPeer: slot", EINVAL);
  peer_t *p = &t->peers[slot];
  p->known = false;
  bool ok = napi_get_value_string_utf8(env, argv[3], host, sizeof host, &len) == napi_ok && len < sizeof host - 1 &&
            parse_addr(t->family, host, port, &a);
  if (ok) {
    const void *bytes = a.u.sa.sa_family == AF_INET ? (const void *)&a.u.v4.sin_addr : (const void *)&a.u.v6.sin6_addr;
    ok = inet_ntop(a.u.sa.sa_family, bytes, text, sizeof text) != NULL && strcmp(text, host) == 0 &&
         (a.u.sa.sa_family == AF_INET || a.u.v6.sin6_scope_id == 0);
  }
  if (ok) {
    a.len = a.u.sa.sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    p->addr = a;
    p->node = node;
    p->known = true;
  }
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

/* transitClearPeer(table, slot): forget every keypair of the peer (before it is handed the new set). */
static napi_value transit_clear_peer(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t slot;
  transit_t *t = table_call(env, info, argv, 2, "transitClearPeer: arguments");
  if (!t) return NULL;
  CHECK(napi_get_value_int32(env, argv[1], &slot));
  if (slot < 0 || slot >= t->npeers) return throw_errno(env, "transitClearPeer: slot", EINVAL);
  forget_tx(t, &t->peers[slot]);
  for (int j = 0; j < RX_PER_PEER; j++) forget_rx(t, &t->rx[slot * RX_PER_PEER + j]);
  rebuild_buckets(t);
  return NULL;
}

/* transitReceiveKey(table, slot, localIndex, key Buffer(32), ring Uint32Array(256), head Float64Array(1), untilMs) -> bool */
static napi_value transit_receive_key(napi_env env, napi_callback_info info) {
  napi_value argv[7], result;
  int32_t slot;
  uint32_t index;
  double until;
  transit_t *t = table_call(env, info, argv, 7, "transitReceiveKey: arguments");
  if (!t) return NULL;
  CHECK(napi_get_value_int32(env, argv[1], &slot));
  CHECK(napi_get_value_double(env, argv[6], &until));
  uint32_t *ring = typed_array_data(env, argv[4], napi_uint32_array, RING_WORDS);
  double *head = typed_array_data(env, argv[5], napi_float64_array, 1);
  if (slot < 0 || slot >= t->npeers || !get_u32(env, argv[2], &index) || index == 0 || !ring || !head || find_rx(t, index))
    return throw_errno(env, "transitReceiveKey: values", EINVAL);
  rx_key_t *k = NULL;
  for (int j = 0; j < RX_PER_PEER && !k; j++)
    if (t->rx[slot * RX_PER_PEER + j].local_index == 0) k = &t->rx[slot * RX_PER_PEER + j];
  bool ok = k != NULL && get_key(env, argv[3], k->key);
  if (ok) {
    CHECK(napi_create_reference(env, argv[4], 1, &k->ring_ref));
    CHECK(napi_create_reference(env, argv[5], 1, &k->head_ref));
    k->ring = ring;
    k->head = head;
    k->peer = slot;
    k->until_ms = until;
    k->local_index = index;
    rebuild_buckets(t);
  }
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

/* transitSendKey(table, slot, remoteIndex, key Buffer(32), counts Float64Array(2 + lane), untilMs) -> bool */
static napi_value transit_send_key(napi_env env, napi_callback_info info) {
  napi_value argv[6], result;
  int32_t slot;
  uint32_t index;
  double until;
  transit_t *t = table_call(env, info, argv, 6, "transitSendKey: arguments");
  if (!t) return NULL;
  CHECK(napi_get_value_int32(env, argv[1], &slot));
  CHECK(napi_get_value_double(env, argv[5], &until));
  double *counts = typed_array_data(env, argv[4], napi_float64_array, 2 + (size_t)t->lane);
  if (slot < 0 || slot >= t->npeers || !get_u32(env, argv[2], &index) || !counts) return throw_errno(env, "transitSendKey: values", EINVAL);
  peer_t *p = &t->peers[slot];
  forget_tx(t, p);
  bool ok = get_key(env, argv[3], p->key);
  if (ok) {
    CHECK(napi_create_reference(env, argv[4], 1, &p->counts_ref));
    p->counts = counts;
    p->remote_index = index;
    p->until_ms = until;
    p->can_send = true;
  }
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

/* transitLane(table, lane): the lane the table opens and seals on (its worker's own; default 0).
 * Only before any key is handed over: a key's ring and counter are that lane's. */
static napi_value transit_lane(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t lane;
  transit_t *t = table_call(env, info, argv, 2, "transitLane: arguments");
  if (!t) return NULL;
  bool keyed = false;
  for (int i = 0; i < t->npeers && !keyed; i++) keyed = t->peers[i].can_send;
  for (int e = 0; e < t->npeers * RX_PER_PEER && !keyed; e++) keyed = t->rx[e].local_index != 0;
  if (!get_u32(env, argv[1], &lane) || lane >= MAX_LANES || keyed) return throw_errno(env, "transitLane: lane (0..31, before any key)", EINVAL);
  t->lane = lane;
  return NULL;
}

/* transitTry(table, data Buffer, length, host, port, nowMs, out Buffer) -> [verdict, length, slot, offset] or null.
 * What udp.c runs per datagram, without a socket: for tests. verdict 1: forwarded (out[0, length) goes to
 * peer slot); 2: opened (data[offset, offset + length) is the plaintext, from peer slot); 3: delivered to
 * an exit flow's origin socket (exit-flows.c); null: declined. */
static napi_value transit_try_js(napi_env env, napi_callback_info info) {
  size_t dlen, olen, hlen;
  napi_value argv[7], result;
  int32_t length, port;
  double now;
  void *data, *out;
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  addr_t src;
  transit_t *t = table_call(env, info, argv, 7, "transitTry: arguments");
  if (!t) return NULL;
  CHECK(napi_get_buffer_info(env, argv[1], &data, &dlen));
  CHECK(napi_get_value_int32(env, argv[2], &length));
  CHECK(napi_get_value_string_utf8(env, argv[3], host, sizeof host, &hlen));
  CHECK(napi_get_value_int32(env, argv[4], &port));
  CHECK(napi_get_value_double(env, argv[5], &now));
  CHECK(napi_get_buffer_info(env, argv[6], &out, &olen));
  if (length < 0 || (size_t)length > dlen || !parse_addr(t->family, host, port, &src)) return throw_errno(env, "transitTry: values", EINVAL);
  transit_result_t r;
  transit_verdict_t v = transit_try(t, data, (size_t)length, &src, now, out, olen, &r);
  if (v == TRANSIT_DECLINED) {
    CHECK(napi_get_null(env, &result));
    return result;
  }
  CHECK(napi_create_array_with_length(env, 4, &result));
  CHECK(napi_set_element(env, result, 0, int_value(env, v == TRANSIT_FORWARDED ? 1 : v == TRANSIT_OPENED ? 2 : 3)));
  CHECK(napi_set_element(env, result, 1, int_value(env, (int)r.length)));
  CHECK(napi_set_element(env, result, 2, int_value(env, r.slot)));
  CHECK(napi_set_element(env, result, 3, int_value(env, (int)r.offset)));
  return result;
}

static exit_flows_t **exit_of(napi_env env, napi_value v) {
  transit_t *t = transit_from_value(env, v);
  return t ? &t->exit : NULL;
}

napi_status transit_register(napi_env env, napi_value exports) {
  napi_value avail;
#ifdef OVERPASS_HAVE_SODIUM
  if (sodium_init() < 0) return napi_generic_failure;
  napi_get_boolean(env, true, &avail);
#else
  napi_get_boolean(env, false, &avail);
#endif
  napi_property_descriptor props[] = {
    {"transitCreate", NULL, transit_create, NULL, NULL, NULL, napi_enumerable, NULL},
    {"transitPeer", NULL, transit_peer, NULL, NULL, NULL, napi_enumerable, NULL},
    {"transitClearPeer", NULL, transit_clear_peer, NULL, NULL, NULL, napi_enumerable, NULL},
    {"transitReceiveKey", NULL, transit_receive_key, NULL, NULL, NULL, napi_enumerable, NULL},
    {"transitSendKey", NULL, transit_send_key, NULL, NULL, NULL, napi_enumerable, NULL},
    {"transitTry", NULL, transit_try_js, NULL, NULL, NULL, napi_enumerable, NULL},
    {"transitLane", NULL, transit_lane, NULL, NULL, NULL, napi_enumerable, NULL},
    {"transitAvailable", NULL, NULL, NULL, NULL, avail, napi_enumerable, NULL},
  };
  napi_status st = napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return st != napi_ok ? st : exit_flows_register(env, exports, exit_of);
}
