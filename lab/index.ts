/**
 * lab/ owns the test bed: everything that exercises relays from outside
 * rather than being part of one.
 * - The network-namespace lab (root, iproute2): scenario files (scenario/),
 *   the namespace topology (topo/), the WAN backends (wan/, and the
 *   user-space WAN emulator in the `wan` namespace, emulator/), the
 *   `overpass lab run` orchestration (run/), its text/HTML reports (report/)
 *   and the `overpass lab` commands (commands.ts).
 * - The loopback test bed (no root): the user-space UDP link emulator
 *   (linkemu/), the measured game/voip test traffic (traffic/) and
 *   `npm run demo` (demo/).
 *
 * Why at the top level and not under src/: like bench/ and test/, the test
 * bed is a user of the relay, not a part of it; a relay never loads it.
 * Imports run one way: lab/ imports src/, nothing in src/ imports lab/.
 * The `overpass lab` command is added by the entry point (bin/overpass.js).
 * The WAN emulator and linkemu decide each packet's fate with the link
 * model they share with the in-process fakes and the simulator
 * (src/io/link-model.ts).
 */
export * from './scenario/index.js'
