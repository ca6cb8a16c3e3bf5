#!/usr/bin/env -S node --no-memory-reducer
// Entry point for `npx overpass`: runs the compiled CLI (built by `npm ci` via the prepare script).
import v8 from 'node:v8'

// A relay keeps V8's young generation at its initial size: under packet load it
// otherwise grows to 2 x 16 MB resident, which puts an exit with 10k flows over
// 100 MB (docs/performance.md, "Memory at 10k flows"). Only `up`: the simulator
// allocates far more per second and is faster with the default growth. The flag
// must be set before the CLI loads, hence the dynamic import.
if (process.argv[2] === 'up') v8.setFlagsFromString('--semi-space-growth-factor=1')
// V8's memory reducer runs three memory-reducing mark-compacts ~8 s after the
// start-up mark-compact, 0.5 s apart, once the allocation rate is low: a
// relay's loop stopped 10-25 ms each time, while it forwards (docs/performance.md,
// "The first seconds: V8's memory reducer"). The heap keeps its reducer from its creation on, so
// --no-memory-reducer acts only on node's command line: the shebang above
// (systemd, Docker, npx run this file directly). Started as `node
// bin/overpass.js up`, a relay can at least have one such GC instead of three.
if (process.argv[2] === 'up') v8.setFlagsFromString('--memory-reducer-single-gc')
const { main } = await import('../dist/src/cli/main.js')
// The test bed's `overpass lab` lives in lab/ (lab/index.ts says why); it is
// added here, at the entry point, so that src/ never imports lab/.
const { register: lab } = await import('../dist/lab/commands.js')

main(process.argv, [lab]).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err))
  process.exit(1)
})
