/** Flags of the lab's own child processes (emulator, netem backend, agents), which the lab itself writes. */

/** The value after `flag` in process.argv; throws naming the flag when it is missing. */
export function argValue(flag: string): string {
  const i = process.argv.indexOf(flag)
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`missing ${flag}`)
  return process.argv[i + 1]
}
