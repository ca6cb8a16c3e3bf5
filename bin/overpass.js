#!/usr/bin/env node
// Entry point for `npx overpass`: runs the compiled CLI (built by `npm ci` via the prepare script).
import v8 from 'node:v8'

// A relay keeps V8's young generation at its initial size: under packet load it
// otherwise grows to 2 x 16 MB resident, which puts an exit with 10k flows over
// 100 MB (docs/performance.md, "Memory at 10k flows"). Only `up`: the simulator
// allocates far more per second and is faster with the default growth. The flag
// must be set before the CLI loads, hence the dynamic import.
if (process.argv[2] === 'up') v8.setFlagsFromString('--semi-space-growth-factor=1')
const { main } = await import('../dist/src/cli/main.js')
// The test bed's `overpass lab` lives in lab/ (lab/index.ts says why); it is
// added here, at the entry point, so that src/ never imports lab/.
const { register: lab } = await import('../dist/lab/commands.js')

main(process.argv, [lab]).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err))
  process.exit(1)
})
