/* Connected per-peer UDP sockets (udp-connected.c), registered on the overpass_udp addon's exports. */
#ifndef OVERPASS_UDP_CONNECTED_H
#define OVERPASS_UDP_CONNECTED_H
#include <node_api.h>
napi_status udp_connected_register(napi_env env, napi_value exports);
#endif
