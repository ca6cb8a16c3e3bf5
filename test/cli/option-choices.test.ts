/** Options with a fixed set of values reject anything else, name the allowed values, and exit 2 (the real CLI). */
import { readFileSync, rmSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { runCli } from '../integration/harness.js'
import { writeKit } from '../config/network-kit.js'

describe('option values', () => {
  it.each([
    [['up', '-c', 'x.yaml', '--log-level', 'verbose'], /'verbose' is invalid\. Allowed choices are debug, info, warn, error\./],
    [['up', '-c', 'x.yaml', '--log-format', 'txt'], /'txt' is invalid\. Allowed choices are json, text\./],
    [['up', '-c', 'x.yaml', '--crypto', 'openssl'], /'openssl' is invalid\. Allowed choices are auto, sodium, tweetnacl\./],
    [['status', '-s', '/nonexistent.sock', '--watch', 'fast'], /use a number of seconds/],
    [['lab', 'run', 'us-sites', '--wan', 'carrier'], /'carrier' is invalid\. Allowed choices are auto, emulator, netem\./],
    [['up', '-c', 'x.yaml', '--no-such-option'], /unknown option '--no-such-option'/],
    [['reflector', '--listen', 'nonsense'], /argument 'nonsense' is invalid\. --listen: "nonsense" is not HOST:PORT/],
    [['reflector', '--listen', '127.0.0.1:0', '--allow', '10.0.0.0/8', '10.0.0.0/33'], /argument '10\.0\.0\.0\/33' is invalid\. invalid prefix "10\.0\.0\.0\/33".*fix: use a length from 0 to 32/],
    [['map', '-s', '/nonexistent.sock', '--watch', '0'], /use a number of seconds, at least 0\.1/],
    [['routes', '-s', '/nonexistent.sock', '--watch', 'x'], /use a number of seconds, at least 0\.1/],
  ])('overpass %j exits 2 naming what is allowed', async (args, message) => {
    const r = await runCli(args)
    expect(r.stderr).toMatch(message)
    expect(r.code).toBe(2)
  })

  it('still exits 0 for --help and --version', async () => {
    expect((await runCli(['--version'])).code).toBe(0)
    expect((await runCli(['up', '--help'])).code).toBe(0)
  })

  it('gives a subcommand its own --version: network sign --version N signs N instead of printing the program version', async () => {
    const k = writeKit()
    try {
      const r = await runCli(['network', 'sign', '--key', k.operatorKeyFile, '--version', '5', k.network])
      expect(r.stdout).toBe(`signed ${k.network} version 5 into ${k.network}.sig\n`)
      expect(r.code).toBe(0)
      expect(readFileSync(`${k.network}.sig`, 'utf8')).toMatch(/^version: 5$/m)
    } finally {
      rmSync(k.dir, { recursive: true, force: true })
    }
  })
})
