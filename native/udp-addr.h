/*
 * What native/udp.c and native/udp-connected.c share: socket addresses,
 * parsing an IP literal into one, opening a bound non-blocking UDP socket,
 * and reading a typed array's storage. Include after napi-util.h.
 */
#ifndef OVERPASS_UDP_ADDR_H
#define OVERPASS_UDP_ADDR_H

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

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

static inline int open_socket(int family, const char *host, int port, int rcvbuf, int sndbuf, int *out_fd) {
  addr_t a;
  if (!parse_addr(family, host, port, &a)) return EINVAL;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  /* Buffer sizes are a hint; the kernel caps them at net.core.*mem_max. */
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (bind(fd, &a.u.sa, family == AF_INET ? sizeof a.u.v4 : sizeof a.u.v6) < 0) {
    int err = errno;
    close(fd);
    return err;
  }
  *out_fd = fd;
  return 0;
}

#endif
