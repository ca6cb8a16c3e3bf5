/*
 * What native/udp.c and native/udp-connected.c share: socket addresses,
 * parsing an IP literal into one, opening a bound non-blocking UDP socket
 * (optionally in a SO_REUSEPORT group), reading a typed array's storage,
 * and the addon's per-env state. Include after napi-util.h.
 */
#ifndef OVERPASS_UDP_ADDR_H
#define OVERPASS_UDP_ADDR_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Datagrams per recvmmsg of a connected socket (udp-connected.c's arena). */
#define LIGHT_BATCH 8
/* Other sockets that queued sends during one batch (udp.c); beyond this they send at once. */
#define PENDING_CAP 32

/* open_socket flags */
#define OPEN_REUSEPORT 1

struct udp_sock;

/*
 * The addon's mutable state outside any socket, one per napi_env (instance
 * data, set in udp.c's init). A worker thread loads the addon into its own
 * env, so two threads never share it; each socket keeps a pointer to its
 * env's state, so the data path reads it without a lookup. Freed when the
 * env and every socket that points to it are gone (`refs`; all of them run
 * on the env's own thread, so a plain int).
 */
typedef struct {
  int refs;
  /* udp.c: batches in progress on this env's loop, and the other sockets
   * that queued sends during them (flushed when the batch's JS call returns). */
  int batch_depth;
  struct udp_sock *pending[PENDING_CAP];
  int npending;
  /* udp-connected.c: the receive arena every connected socket reads into. */
  unsigned char *arena_data;
  size_t arena_slot;
  int32_t *arena_meta;
  napi_ref arena_buf_ref, arena_meta_ref;
  /* udp-connected.c: one async resource and context for all of the env's connected sockets (napi-util.h). */
  js_callback_t connected_async;
  bool connected_async_ready;
  struct mmsghdr arena_msgs[LIGHT_BATCH];
  struct iovec arena_iov[LIGHT_BATCH];
} udp_env_t;

/*
 * A wake of another kind of socket (udp-connected.c) as a batch: between
 * begin and end, sends on the batched sockets (udp.c) are queued, and
 * flush (after each JS call) and end send them with one sendmmsg per
 * socket, as inside a batched socket's own wake. An exit's replies from
 * its origin sockets leave this way instead of one sendto each.
 */
void udp_batch_begin(udp_env_t *ue);
void udp_batch_flush(udp_env_t *ue);
void udp_batch_end(udp_env_t *ue);

static inline void udp_env_unref(udp_env_t *e) {
  if (--e->refs == 0) free(e);
}

/* The env's state with one more reference (a socket's), or NULL. */
static inline udp_env_t *udp_env_ref(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok || !data) return NULL;
  ((udp_env_t *)data)->refs++;
  return data;
}

typedef struct {
  union {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
  } u;
  socklen_t len;
} addr_t;

/* Parses an IP literal (IPv6 may carry %scope) into `a` for a socket of `family`. */
static inline bool parse_addr(int family, const char *host, int port, addr_t *a) {
  struct in_addr v4;
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  memset(a, 0, sizeof *a);
  if (port < 0 || port > 65535) return false;
  if (inet_pton(AF_INET, host, &v4) == 1) {
    if (family == AF_INET) {
      a->u.v4.sin_family = AF_INET;
      a->u.v4.sin_port = htons((uint16_t)port);
      a->u.v4.sin_addr = v4;
      return true;
    }
    /* An IPv4 destination from a dual-stack IPv6 socket: the v4-mapped form. */
    a->u.v6.sin6_family = AF_INET6;
    a->u.v6.sin6_port = htons((uint16_t)port);
    a->u.v6.sin6_addr.s6_addr[10] = 0xff;
    a->u.v6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&a->u.v6.sin6_addr.s6_addr[12], &v4, 4);
    return true;
  }
  if (family != AF_INET6) return false;
  snprintf(buf, sizeof buf, "%s", host);
  char *scope = strchr(buf, '%');
  if (scope) *scope++ = '\0';
  if (inet_pton(AF_INET6, buf, &a->u.v6.sin6_addr) != 1) return false;
  a->u.v6.sin6_family = AF_INET6;
  a->u.v6.sin6_port = htons((uint16_t)port);
  if (scope) {
    char *end;
    unsigned long idx = strtoul(scope, &end, 10);
    a->u.v6.sin6_scope_id = *end == '\0' ? (uint32_t)idx : if_nametoindex(scope);
  }
  return true;
}

static inline void *typed_array_data(napi_env env, napi_value v, napi_typedarray_type want, size_t min_len) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok) return NULL;
  return type == want && len >= min_len ? data : NULL;
}

/* A bound non-blocking UDP socket in *out_fd; 0 or an errno. OPEN_REUSEPORT
 * joins the port's SO_REUSEPORT group (every member must set it). */
static inline int open_socket(int family, const char *host, int port, int rcvbuf, int sndbuf, int flags, int *out_fd) {
  addr_t a;
  int one = 1;
  if (!parse_addr(family, host, port, &a)) return EINVAL;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  /* Buffer sizes are a hint; the kernel caps them at net.core.*mem_max. */
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if ((flags & OPEN_REUSEPORT) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
    int err = errno;
    close(fd);
    return err;
  }
  if (bind(fd, &a.u.sa, family == AF_INET ? sizeof a.u.v4 : sizeof a.u.v6) < 0) {
    int err = errno;
    close(fd);
    return err;
  }
  *out_fd = fd;
  return 0;
}

#endif
