/*
 * The exit's native local delivery (exit-flows.c): the flows JS hands over,
 * and the per-datagram routine transit.c runs on a plaintext it opened that
 * ends at this relay. See exit-flows.c for the contract.
 */
#ifndef OVERPASS_EXIT_FLOWS_H
#define OVERPASS_EXIT_FLOWS_H
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct exit_flows exit_flows_t;

/*
 * Delivers the data plaintext p[0, n) from the peer `from_node` (at this relay) to its
 * flow's origin, when every check of the TypeScript path would pass
 * identically (see exit-flows.c); true: sent (or counted as a failed
 * send) and every counter advanced. False: nothing changed, JS delivers it.
 */
bool exit_flows_deliver(exit_flows_t *x, const unsigned char *p, size_t n, size_t payload, uint32_t from_node, double now_ms);

void exit_flows_free(napi_env env, exit_flows_t *x);

/* Registers exitFlowsAttach, exitFlowSet, exitFlowClear and exitFlowsClear; `table_of` finds a table's exit_flows_t slot. */
napi_status exit_flows_register(napi_env env, napi_value exports, exit_flows_t **(*table_of)(napi_env env, napi_value v));
#endif
