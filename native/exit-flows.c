/*
 * The exit's native local delivery. At an exit every forward datagram of an
 * established flow takes the same steps: open, header checks, the flow's
 * lookup, the path meter's arrival count, one send(2) on the flow's
 * connected origin socket. transit.c opens it; this file does the rest for
 * the common case, per datagram of the recvmmsg batch, without a call into JS.
 *
 * Contract: JS stays the owner (src/dataplane/exit-offload.ts). It registers
 * a flow (key: ingress node = path[0], flow id) after it delivered one of its
 * datagrams itself, with every check the TypeScript path makes passed: the
 * service it was opened for (an exit, L4, path[0] one of its ingresses,
 * `proxy` delivery with no PROXY header), the path it arrived on, the path
 * meter's receive slot for that path (index and generation), the origin
 * socket (connected, native/udp-connected.c) and the slots of its counters.
 * It removes the flow before it closes its socket, and clears every flow on
 * a change of services. Native code only reads this table and advances,
 * in place, typed arrays JS owns and reads:
 *   - seen: per flow slot, the last delivery's clock (its idle sweep);
 *   - services: per service slot, origin tx packets and bytes, send failures;
 *   - meter: per path-meter receive slot, the fields PathMeter.onArrival
 *     advances (path-meter.ts), and a generation JS bumps when the slot goes.
 *
 * A datagram is delivered here only when the TypeScript path would deliver
 * it identically: a data header that decodes, path[pidx] us and path[pidx-1]
 * the sender, the last hop, neither a reply nor redundant (deduplication
 * stays in JS), a registered flow of the same service on the same path,
 * whose meter slot is still the one registered. Anything else goes to JS
 * opened, as before, and JS delivers it (and registers the flow again).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define ADDON_ERROR_CODE "EOVERPASS_TRANSIT"
#include "napi-util.h"
#include "exit-flows.h"
#include "wire-data.h"
#include "udp-connected.h"

/* Shared Float64Arrays, as src/dataplane/path-meter.ts and exit-offload.ts lay them out. */
enum { MF_GEN, MF_RECEIVED, MF_LAST_MS, MF_SAMPLES, MF_REF, MF_MIN_REL, MF_SUM_REL, METER_FIELDS };
enum { SV_TX_PACKETS, SV_TX_BYTES, SV_SEND_FAILED, SERVICE_FIELDS };

typedef struct {
  bool used;
  uint32_t ingress, flow, service;
  uint32_t service_slot;
  void *sock; /* the flow's connected origin socket (udp-connected.c), held: JS removes the flow before closing it, and a socket closed first is only refused (-EBADF), never freed under us */
  uint32_t plen;
  uint32_t path[MAX_PATH_RELAYS];
  uint32_t meter;
  double meter_gen;
  int32_t next; /* slot + 1 of the next flow in its bucket, 0: none */
} flow_t;

struct exit_flows {
  flow_t *flows;
  uint32_t cap;
  int32_t *buckets; /* slot + 1 of the first flow, 0: none */
  uint32_t mask;
  double *seen, *services, *meter;
  size_t nseen, nservices, nmeter; /* entries (slots), not doubles */
  napi_ref seen_ref, services_ref, meter_ref;
};

static uint32_t bucket_of(const exit_flows_t *x, uint32_t ingress, uint32_t flow) {
  return ((ingress * 2654435761u) ^ (flow * 2246822519u)) & x->mask;
}

static flow_t *find(const exit_flows_t *x, uint32_t ingress, uint32_t flow) {
  if (!x->buckets) return NULL;
  for (int32_t e = x->buckets[bucket_of(x, ingress, flow)]; e != 0; e = x->flows[e - 1].next)
    if (x->flows[e - 1].ingress == ingress && x->flows[e - 1].flow == flow) return &x->flows[e - 1];
  return NULL;
}

static void link_flow(exit_flows_t *x, uint32_t slot) {
  flow_t *f = &x->flows[slot];
  uint32_t b = bucket_of(x, f->ingress, f->flow);
  f->next = x->buckets[b];
  x->buckets[b] = (int32_t)slot + 1;
}

static void unlink_flow(exit_flows_t *x, uint32_t slot) {
  flow_t *f = &x->flows[slot];
  if (!f->used) return;
  int32_t *at = &x->buckets[bucket_of(x, f->ingress, f->flow)];
  while (*at != 0 && *at != (int32_t)slot + 1) at = &x->flows[*at - 1].next;
  if (*at != 0) *at = f->next;
  if (f->sock) udp_connected_release(f->sock);
  memset(f, 0, sizeof *f);
}

/* Every flow out, each socket's hold released (a change of services, the table's end). */
static void clear_flows(exit_flows_t *x) {
  if (x->cap == 0) return;
  for (uint32_t i = 0; i < x->cap; i++)
    if (x->flows[i].used && x->flows[i].sock) udp_connected_release(x->flows[i].sock);
  memset(x->flows, 0, sizeof *x->flows * x->cap);
  memset(x->buckets, 0, sizeof *x->buckets * ((size_t)x->mask + 1));
}

/* Room for `slot`: the flows array and the buckets (twice the slots, a power of two) grow together. */
static bool ensure(exit_flows_t *x, uint32_t slot) {
  if (slot < x->cap) return true;
  uint32_t cap = x->cap ? x->cap : 256;
  while (cap <= slot) cap *= 2;
  flow_t *flows = realloc(x->flows, sizeof *flows * cap);
  if (!flows) return false;
  memset(flows + x->cap, 0, sizeof *flows * (cap - x->cap));
  int32_t *buckets = calloc((size_t)cap * 2, sizeof *buckets);
  x->flows = flows;
  if (!buckets) return false;
  free(x->buckets);
  x->buckets = buckets;
  x->cap = cap;
  x->mask = cap * 2 - 1;
  for (uint32_t i = 0; i < cap; i++)
    if (flows[i].used) link_flow(x, i);
  return true;
}

/* path-meter.ts onArrival on a slot JS made for this path: its received count and, stamped, the delay aggregates. */
static void meter_arrival(double *m, const unsigned char *p, double now_ms) {
  m[MF_RECEIVED] = (double)((uint32_t)m[MF_RECEIVED] + 1u);
  m[MF_LAST_MS] = now_ms;
  if (!(p[OFF_FLAGS] & FLAG_STAMPED)) return;
  int64_t now_stamp = (int64_t)floor((now_ms * 1000) / STAMP_UNIT_US) & (STAMP_MODULUS - 1);
  int64_t stamp = ((int64_t)p[OFF_STAMP] << 16) | ((int64_t)p[OFF_STAMP + 1] << 8) | p[OFF_STAMP + 2];
  int64_t diff = (now_stamp - stamp) & (STAMP_MODULUS - 1);
  if (m[MF_SAMPLES] == 0) {
    m[MF_REF] = (double)diff;
    m[MF_MIN_REL] = 0;
    m[MF_SUM_REL] = 0;
  } else {
    int64_t rel = (diff - (int64_t)m[MF_REF]) & (STAMP_MODULUS - 1);
    if (rel >= STAMP_MODULUS / 2) rel -= STAMP_MODULUS;
    if ((double)rel < m[MF_MIN_REL]) m[MF_MIN_REL] = (double)rel;
    m[MF_SUM_REL] += (double)rel;
  }
  m[MF_SAMPLES]++;
}

/* p: a data header that decodes (data_header_payload, whose checks bound the path index), its payload at `payload`. */
bool exit_flows_deliver(exit_flows_t *x, const unsigned char *p, size_t n, size_t payload, uint32_t from_node, double now_ms) {
  /* relay.ts onPathPacket: the path's end */
  unsigned flags = p[OFF_FLAGS], plen = p[OFF_PATH_LEN], pidx = p[OFF_PATH_INDEX];
  if (!x || pidx != plen - 1) return false;
  /* relay.ts onData: from the sender (path[pidx] is us: the registered path ends here, and the path must
   * equal it); a forward packet; exit.ts: not a redundant copy (deduplication stays in JS) */
  if (be32(p + OFF_PATH + 4 * (pidx - 1)) != from_node) return false;
  if ((flags & (FLAG_REPLY | FLAG_REDUNDANT)) != 0) return false;
  /* exit.ts deliverForward: the flow JS registered, of this service, on this path, with its meter slot */
  flow_t *f = find(x, be32(p + OFF_PATH), be32(p + OFF_FLOW));
  if (!f || f->service != be32(p + OFF_SERVICE) || f->plen != plen) return false;
  for (unsigned i = 0; i < plen; i++)
    if (f->path[i] != be32(p + OFF_PATH + 4 * i)) return false;
  uint32_t slot = (uint32_t)(f - x->flows);
  if (f->meter >= x->nmeter || slot >= x->nseen || f->service_slot >= x->nservices) return false;
  double *m = x->meter + (size_t)f->meter * METER_FIELDS;
  if (m[MF_GEN] != f->meter_gen) return false;
  /* Committed: what Relay.onPathPacket and ExitSide.deliverForward do, in their order. */
  meter_arrival(m, p, now_ms);
  x->seen[slot] = now_ms;
  double *sv = x->services + (size_t)f->service_slot * SERVICE_FIELDS;
  if (udp_connected_send_now(f->sock, p + payload, n - payload) > 0) {
    sv[SV_TX_PACKETS]++;
    sv[SV_TX_BYTES] += (double)(n - payload);
  } else sv[SV_SEND_FAILED]++;
  return true;
}

static void drop_arrays(napi_env env, exit_flows_t *x) {
  if (x->seen_ref) napi_delete_reference(env, x->seen_ref);
  if (x->services_ref) napi_delete_reference(env, x->services_ref);
  if (x->meter_ref) napi_delete_reference(env, x->meter_ref);
  x->seen_ref = x->services_ref = x->meter_ref = NULL;
  x->seen = x->services = x->meter = NULL;
  x->nseen = x->nservices = x->nmeter = 0;
}

void exit_flows_free(napi_env env, exit_flows_t *x) {
  if (!x) return;
  drop_arrays(env, x);
  clear_flows(x);
  free(x->flows);
  free(x->buckets);
  free(x);
}

/* --- handing state over (JS, control path) ------------------------------ */

static exit_flows_t **(*table_slot)(napi_env env, napi_value v);

/* A Float64Array's storage and its length in `fields`-double entries, or NULL. */
static double *f64_entries(napi_env env, napi_value v, size_t fields, size_t *entries) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok || type != napi_float64_array) return NULL;
  *entries = len / fields;
  return data;
}

/* The arguments of a call on a table's exit flows: `want` of them, the first a transit table. */
static exit_flows_t **flows_call(napi_env env, napi_callback_info info, napi_value *argv, size_t want, const char *what) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  exit_flows_t **slot = argc == want ? table_slot(env, argv[0]) : NULL;
  if (!slot) throw_errno(env, what, EINVAL);
  return slot;
}

/* exitFlowsAttach(table, seen Float64Array, services Float64Array, meter Float64Array): the counters' arrays (again when JS grows one). */
static napi_value exit_attach(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  size_t ns = 0, nsv = 0, nm = 0;
  exit_flows_t **slot = flows_call(env, info, argv, 4, "exitFlowsAttach: arguments");
  if (!slot) return NULL;
  double *seen = f64_entries(env, argv[1], 1, &ns);
  double *services = f64_entries(env, argv[2], SERVICE_FIELDS, &nsv);
  double *meter = f64_entries(env, argv[3], METER_FIELDS, &nm);
  if (!seen || !services || !meter) return throw_errno(env, "exitFlowsAttach: arrays", EINVAL);
  if (!*slot && !(*slot = calloc(1, sizeof **slot))) return throw_errno(env, "exitFlowsAttach", ENOMEM);
  exit_flows_t *x = *slot;
  drop_arrays(env, x);
  CHECK(napi_create_reference(env, argv[1], 1, &x->seen_ref));
  CHECK(napi_create_reference(env, argv[2], 1, &x->services_ref));
  CHECK(napi_create_reference(env, argv[3], 1, &x->meter_ref));
  x->seen = seen;
  x->services = services;
  x->meter = meter;
  x->nseen = ns;
  x->nservices = nsv;
  x->nmeter = nm;
  return NULL;
}

static bool u32_arg(napi_env env, napi_value v, uint32_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) return false;
  *out = (uint32_t)d;
  return true;
}

/* exitFlowSet(table, slot, ingressNode, flowId, serviceId, serviceSlot, socket, path Uint32Array, pathLen, meterSlot, meterGen) -> bool.
 * False (and the slot empty): the socket is not an open connected socket, or a value is out of range. */
static napi_value exit_set(napi_env env, napi_callback_info info) {
  napi_value argv[11], result;
  uint32_t slot, ingress, flow, service, service_slot, plen, meter;
  double gen;
  napi_typedarray_type type;
  size_t len;
  void *data;
  exit_flows_t **xs = flows_call(env, info, argv, 11, "exitFlowSet: arguments");
  if (!xs) return NULL;
  exit_flows_t *x = *xs;
  bool ok = x && u32_arg(env, argv[1], &slot) && u32_arg(env, argv[2], &ingress) && u32_arg(env, argv[3], &flow) &&
            u32_arg(env, argv[4], &service) && u32_arg(env, argv[5], &service_slot) && u32_arg(env, argv[8], &plen) &&
            u32_arg(env, argv[9], &meter) && napi_get_value_double(env, argv[10], &gen) == napi_ok &&
            napi_get_typedarray_info(env, argv[7], &type, &len, &data, NULL, NULL) == napi_ok && type == napi_uint32_array &&
            plen >= MIN_PATH_RELAYS && plen <= MAX_PATH_RELAYS && len >= plen && slot < x->nseen && ensure(x, slot);
  if (ok) unlink_flow(x, slot);
  void *sock = ok ? udp_connected_from_value(env, argv[6]) : NULL;
  ok = ok && sock != NULL && find(x, ingress, flow) == NULL;
  if (ok) {
    flow_t *f = &x->flows[slot];
    f->used = true;
    f->ingress = ingress;
    f->flow = flow;
    f->service = service;
    f->service_slot = service_slot;
    f->sock = sock;
    udp_connected_hold(sock);
    f->plen = plen;
    memcpy(f->path, data, 4 * (size_t)plen);
    f->meter = meter;
    f->meter_gen = gen;
    link_flow(x, slot);
  }
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

/* exitFlowClear(table, slot): JS forgets the flow (before it closes its socket) or delivers it itself from now on. */
static napi_value exit_clear(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t slot;
  exit_flows_t **xs = flows_call(env, info, argv, 2, "exitFlowClear: arguments");
  if (!xs) return NULL;
  if (*xs && u32_arg(env, argv[1], &slot) && slot < (*xs)->cap) unlink_flow(*xs, slot);
  return NULL;
}

/* exitFlowsClear(table): every flow (a change of services). */
static napi_value exit_clear_all(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  exit_flows_t **xs = flows_call(env, info, argv, 1, "exitFlowsClear: arguments");
  if (!xs) return NULL;
  if (*xs) clear_flows(*xs);
  return NULL;
}

napi_status exit_flows_register(napi_env env, napi_value exports, exit_flows_t **(*table_of)(napi_env env, napi_value v)) {
  table_slot = table_of;
  napi_property_descriptor props[] = {
    {"exitFlowsAttach", NULL, exit_attach, NULL, NULL, NULL, napi_enumerable, NULL},
    {"exitFlowSet", NULL, exit_set, NULL, NULL, NULL, napi_enumerable, NULL},
    {"exitFlowClear", NULL, exit_clear, NULL, NULL, NULL, napi_enumerable, NULL},
    {"exitFlowsClear", NULL, exit_clear_all, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
