/* Connected per-peer UDP sockets (udp-connected.c), registered on the overpass_udp addon's exports. */
#ifndef OVERPASS_UDP_CONNECTED_H
#define OVERPASS_UDP_CONNECTED_H
#include <node_api.h>
#include <stddef.h>
napi_status udp_connected_register(napi_env env, napi_value exports);
/* The open connected socket behind a JS external from openConnected, or NULL (exit-flows.c keeps it). */
void *udp_connected_from_value(napi_env env, napi_value v);
/* A C holder of the socket (exit-flows.c) takes a hold; the struct is freed after its close only once every hold is released. */
void udp_connected_hold(void *sock);
void udp_connected_release(void *sock);
/* One send(2) at once, counted in the socket's stats as sendConnected counts: 1 sent, 0 dropped (buffer full), -errno. */
int udp_connected_send_now(void *sock, const unsigned char *data, size_t n);
#endif
