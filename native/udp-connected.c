/*
 * Connected UDP sockets for one peer each: the exit's per-flow sockets
 * towards its origin (one per client flow, so the origin sees one source
 * port per client). A batched socket (udp.c) carries ~130 KB of buffers
 * and tables; at 10k flows that is over a GB. These carry none of their
 * own:
 *
 *   - receive: every connected socket reads into ONE arena per env (per
 *     worker thread: a JS Buffer of LIGHT_BATCH + 1 slots and a shared
 *     Int32Array of (slot, length) rows, kept in the env's udp_env_t),
 *     set once by `arena()`. A wake reads one socket
 *     with recvmmsg and calls JS once for the batch before any other socket
 *     is read, so sharing is safe. The kernel drops datagrams from any
 *     other source (the socket is connected), so no address is passed up.
 *   - send: one send(2) at once, no queue. A wake counts as a batch for
 *     the batched sockets (udp.c): what JS sends on them meanwhile (an
 *     exit's replies on the overlay socket) leaves in one sendmmsg each.
 *
 * ECONNREFUSED (the peer's port answered ICMP unreachable) is counted and
 * reading goes on. Counters live in the struct; JS reads them on demand.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define ADDON_ERROR_CODE "EOVERPASS_UDP"
#include "napi-util.h"
#include "udp-addr.h"
#include "poll-handle.h"
#include "udp-connected.h"

#define LIGHT_ROUNDS 4

enum { CS_RX, CS_RX_TRUNCATED, CS_RX_ERRORS, CS_TX, CS_TX_DROPPED, CS_TX_ERRORS, CS_TX_LAST_ERRNO, CS_COUNT };

typedef struct {
  poll_handle_t ph; /* first member: the uv handle pointer is the struct */
  udp_env_t *ue;    /* its env's state: the arena */
  double stats[CS_COUNT];
  /* Holders in C besides JS (an exit flow table entry, exit-flows.c): the struct outlives its close until they let go. */
  int holds;
  bool destroyed;
} csock_t;

static void cs_destroy(poll_handle_t *ph) {
  csock_t *s = (csock_t *)ph;
  udp_env_unref(s->ue);
  s->ue = NULL;
  /* Closed (ph.closing stays true): a holder's send gets -EBADF instead of touching freed memory. */
  if (s->holds > 0) s->destroyed = true;
  else free(s);
}

void udp_connected_hold(void *sock) {
  ((csock_t *)sock)->holds++;
}

void udp_connected_release(void *sock) {
  csock_t *s = sock;
  if (--s->holds == 0 && s->destroyed) free(s);
}

/* arena(buffer, meta Int32Array, slotBytes): (LIGHT_BATCH + 1) slots; meta 1 + 2 * LIGHT_BATCH ints. */
static napi_value cs_arena(napi_env env, napi_callback_info info) {
  size_t argc = 3, len;
  napi_value argv[3];
  void *data;
  int slot;
  void *inst = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_buffer_info(env, argv[0], &data, &len));
  CHECK(napi_get_value_int32(env, argv[2], &slot));
  CHECK(napi_get_instance_data(env, &inst));
  udp_env_t *ue = inst;
  int32_t *meta = typed_array_data(env, argv[1], napi_int32_array, 1 + 2 * LIGHT_BATCH);
  if (!ue || slot < 64 || len < (size_t)slot * (LIGHT_BATCH + 1) || !meta) return throw_errno(env, "arena: buffers", EINVAL);
  if (ue->arena_buf_ref) napi_delete_reference(env, ue->arena_buf_ref);
  if (ue->arena_meta_ref) napi_delete_reference(env, ue->arena_meta_ref);
  CHECK(napi_create_reference(env, argv[0], 1, &ue->arena_buf_ref));
  CHECK(napi_create_reference(env, argv[1], 1, &ue->arena_meta_ref));
  ue->arena_data = data;
  ue->arena_slot = (size_t)slot;
  ue->arena_meta = meta;
  for (int i = 0; i < LIGHT_BATCH; i++) {
    ue->arena_iov[i].iov_base = ue->arena_data + (size_t)(i + 1) * ue->arena_slot;
    ue->arena_iov[i].iov_len = ue->arena_slot;
    memset(&ue->arena_msgs[i], 0, sizeof ue->arena_msgs[i]);
    ue->arena_msgs[i].msg_hdr.msg_iov = &ue->arena_iov[i];
    ue->arena_msgs[i].msg_hdr.msg_iovlen = 1;
  }
  return int_value(env, LIGHT_BATCH);
}

/* One recvmmsg into the arena; rows (slot, length) in its meta. Returns datagrams read (truncated included) or -errno. */
static int cs_receive(csock_t *s) {
  udp_env_t *ue = s->ue;
  int32_t *meta = ue->arena_meta;
  int n;
  do n = recvmmsg(s->ph.fd, ue->arena_msgs, LIGHT_BATCH, MSG_DONTWAIT, NULL); while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (ue->arena_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
      s->stats[CS_RX_TRUNCATED]++;
      continue;
    }
    meta[1 + 2 * k] = i + 1;
    meta[2 + 2 * k] = (int32_t)ue->arena_msgs[i].msg_len;
    k++;
  }
  meta[0] = k;
  s->stats[CS_RX] += k;
  return n;
}

static void cs_on_readable(uv_poll_t *handle, int status, int events) {
  csock_t *s = (csock_t *)handle;
  napi_env env = s->ph.env;
  js_scope_t sc;
  (void)events;
  if (!s->ue->arena_data) return; /* no arena yet: JS sets it before opening any socket */
  s->ph.in_call = true;
  udp_batch_begin(s->ue); /* the replies JS sends on the overlay socket leave in one sendmmsg */
  js_scope_open(env, &s->ph.cb, &sc);
  if (status < 0) {
    uv_poll_stop(&s->ph.poll);
    js_scope_call_int(env, &sc, status);
  } else {
    for (int round = 0; round < LIGHT_ROUNDS && !s->ph.closing; round++) {
      int n = cs_receive(s);
      if (n == -EAGAIN || n == -EWOULDBLOCK) break;
      if (n < 0) {
        /* ECONNREFUSED: the peer's port is closed (ICMP); the next read may succeed. */
        s->stats[CS_RX_ERRORS]++;
        if (n == -ECONNREFUSED) continue;
        js_scope_call_int(env, &sc, n);
        break;
      }
      int count = s->ue->arena_meta[0];
      bool ok = count <= 0 || js_scope_call_int(env, &sc, count);
      udp_batch_flush(s->ue);
      if (!ok) break;
      if (n < LIGHT_BATCH) break;
    }
  }
  udp_batch_end(s->ue);
  js_scope_close(env, &sc);
  s->ph.in_call = false;
  if (s->ph.closing) ph_release(&s->ph);
}

static csock_t *cs_get(napi_env env, napi_value v) {
  csock_t *s = NULL;
  napi_get_value_external(env, v, (void **)&s);
  return s;
}

/* openConnected(family 4|6, localHost, localPort, peerHost, peerPort, rcvbuf, sndbuf, onBatch) -> external */
static napi_value cs_open(napi_env env, napi_callback_info info) {
  size_t argc = 8, len;
  napi_value argv[8], out;
  char local[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], peer[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  int fam, lport, pport, rcvbuf, sndbuf, fd = -1, rc;
  addr_t pa;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) return throw_errno(env, "openConnected: arguments", EINVAL);
  CHECK(napi_get_value_int32(env, argv[0], &fam));
  CHECK(napi_get_value_string_utf8(env, argv[1], local, sizeof local, &len));
  CHECK(napi_get_value_int32(env, argv[2], &lport));
  CHECK(napi_get_value_string_utf8(env, argv[3], peer, sizeof peer, &len));
  CHECK(napi_get_value_int32(env, argv[4], &pport));
  CHECK(napi_get_value_int32(env, argv[5], &rcvbuf));
  CHECK(napi_get_value_int32(env, argv[6], &sndbuf));
  int family = fam == 6 ? AF_INET6 : AF_INET;
  if (!parse_addr(family, peer, pport, &pa)) return throw_errno(env, "connect: peer address", EINVAL);
  if ((rc = open_socket(family, local, lport, rcvbuf, sndbuf, 0, &fd)) != 0) return throw_errno(env, "bind", rc);
  if (connect(fd, &pa.u.sa, pa.u.sa.sa_family == AF_INET ? sizeof pa.u.v4 : sizeof pa.u.v6) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "connect", err);
  }
  csock_t *s = calloc(1, sizeof *s);
  if (!s || !(s->ue = udp_env_ref(env))) {
    free(s);
    close(fd);
    return throw_errno(env, "openConnected", ENOMEM);
  }
  /* One async resource for all of the env's connected sockets: an exit opens one per flow (napi-util.h). */
  udp_env_t *ue = s->ue;
  if (!ue->connected_async_ready) {
    if (js_async_init(env, "OverpassUdpConnectedRead", &ue->connected_async) != napi_ok) {
      udp_env_unref(ue);
      free(s);
      close(fd);
      return throw_errno(env, "openConnected", ENOMEM);
    }
    ue->connected_async_ready = true;
  }
  s->ph.own_fd = true;
  s->ph.destroy = cs_destroy;
  bool released;
  if ((rc = ph_start(env, &s->ph, fd, argv[7], "OverpassUdpConnectedRead", &ue->connected_async, cs_on_readable, &released)) < 0) {
    if (!released) {
      close(fd);
      cs_destroy(&s->ph);
    }
    return throw_errno(env, "openConnected", -rc);
  }
  CHECK(napi_create_external(env, s, NULL, NULL, &out));
  return out;
}

/* One send(2) at once on a connected socket, counted: 1 sent, 0 dropped (buffer full), -errno refused. */
int udp_connected_send_now(void *sock, const unsigned char *data, size_t n) {
  csock_t *s = sock;
  if (!s || s->ph.closing) return -EBADF;
  ssize_t w;
  do w = send(s->ph.fd, data, n, MSG_DONTWAIT); while (w < 0 && errno == EINTR);
  if (w >= 0) {
    s->stats[CS_TX]++;
    return 1;
  }
  int err = errno;
  if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
    s->stats[CS_TX_DROPPED]++;
    return 0;
  }
  s->stats[CS_TX_ERRORS]++;
  s->stats[CS_TX_LAST_ERRNO] = err;
  return -err;
}

void *udp_connected_from_value(napi_env env, napi_value v) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external) return NULL;
  csock_t *s = cs_get(env, v);
  return s && !s->ph.closing ? s : NULL;
}

/* sendConnected(external, buffer, offset, length) -> 1 sent, 0 dropped (buffer full), -errno refused */
static napi_value cs_send(napi_env env, napi_callback_info info) {
  size_t argc = 4, len;
  napi_value argv[4];
  int off, n;
  void *data;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  csock_t *s = cs_get(env, argv[0]);
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  CHECK(napi_get_value_int32(env, argv[2], &off));
  CHECK(napi_get_value_int32(env, argv[3], &n));
  if (!s || s->ph.closing) return int_value(env, -EBADF);
  if (off < 0 || n < 0 || (size_t)off + (size_t)n > len) return int_value(env, -EINVAL);
  return int_value(env, udp_connected_send_now(s, (unsigned char *)data + off, (size_t)n));
}

/* closeConnected(external) */
static napi_value cs_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  csock_t *s = cs_get(env, argv[0]);
  if (s) ph_close(&s->ph);
  return NULL;
}

/* statsConnected(external) -> [rx, rxTruncated, rxErrors, tx, txDropped, txErrors, txLastErrno] */
static napi_value cs_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, v;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  csock_t *s = cs_get(env, argv[0]);
  CHECK(napi_create_array_with_length(env, CS_COUNT, &out));
  for (int i = 0; i < CS_COUNT; i++) {
    CHECK(napi_create_double(env, s ? s->stats[i] : 0, &v));
    CHECK(napi_set_element(env, out, (uint32_t)i, v));
  }
  return out;
}

/* localConnected(external) -> [address, port] of the bound side */
static napi_value cs_local(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, v;
  addr_t a;
  char host[INET6_ADDRSTRLEN];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  csock_t *s = cs_get(env, argv[0]);
  if (!s) return throw_errno(env, "localConnected", EBADF);
  a.len = sizeof a.u;
  if (getsockname(s->ph.fd, &a.u.sa, &a.len) < 0) return throw_errno(env, "getsockname", errno);
  int port = a.u.sa.sa_family == AF_INET ? ntohs(a.u.v4.sin_port) : ntohs(a.u.v6.sin6_port);
  if (a.u.sa.sa_family == AF_INET) inet_ntop(AF_INET, &a.u.v4.sin_addr, host, sizeof host);
  else inet_ntop(AF_INET6, &a.u.v6.sin6_addr, host, sizeof host);
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_string_utf8(env, host, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_element(env, out, 0, v));
  CHECK(napi_set_element(env, out, 1, int_value(env, port)));
  return out;
}

napi_status udp_connected_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"arena", NULL, cs_arena, NULL, NULL, NULL, napi_enumerable, NULL},
    {"openConnected", NULL, cs_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sendConnected", NULL, cs_send, NULL, NULL, NULL, napi_enumerable, NULL},
    {"closeConnected", NULL, cs_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"statsConnected", NULL, cs_stats, NULL, NULL, NULL, napi_enumerable, NULL},
    {"localConnected", NULL, cs_local, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value batch;
  napi_status st = napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  if (st != napi_ok) return st;
  if ((st = napi_create_int32(env, LIGHT_BATCH, &batch)) != napi_ok) return st;
  return napi_set_named_property(env, exports, "connectedBatch", batch);
}
