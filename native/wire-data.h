/*
 * The data header of src/wire/data.ts, for the native fast paths (transit.c,
 * exit-flows.c): one copy of its offsets, flags and limits in C. The
 * differential tests (test/dataplane/transit-offload.test.ts) hold it to
 * the TypeScript decoder.
 */
#ifndef OVERPASS_WIRE_DATA_H
#define OVERPASS_WIRE_DATA_H

#define KIND_DATA 1
#define FLAG_REPLY 0x01
#define FLAG_CLIENT_ADDR 0x02
#define FLAG_REDUNDANT 0x04
/* Bytes 5..7 hold the writer's send stamp (path reports); a transit carries it unchanged. */
#define FLAG_STAMPED 0x08
#define KNOWN_FLAGS 0x0f
#define OFF_FLAGS 1
#define OFF_HOPS 2
#define OFF_PATH_LEN 3
#define OFF_PATH_INDEX 4
#define OFF_STAMP 5
#define OFF_SERVICE 8
#define OFF_FLOW 12
#define OFF_PATH 20
#define DATA_FIXED_LEN 20
#define MIN_PATH_RELAYS 2
#define MAX_PATH_RELAYS 8
#define CLIENT_ADDR_V4_LEN 14
#define CLIENT_ADDR_V6_LEN 38
#define STAMP_UNIT_US 10
#define STAMP_MODULUS 0x1000000

#endif
