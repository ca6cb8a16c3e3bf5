/**
 * `overpass keygen [--json]` prints a fresh X25519 key pair and the
 * Ed25519 `sign_key` derived from it (what other relays list for this one);
 * `overpass pubkey [--sign]` reads a private key on stdin and prints its
 * public key (or its sign_key).
 * Private keys never appear in argv, where `ps` and shell history would see them.
 */
import type { Command } from 'commander'
import { outputOf, type Output } from '../output.js'
import { parseKey, encodeKey, extractPrivateKeyText, generatePrivateKey, publicKeyOf, signPublicKeyOf } from '../../config/index.js'


export const EXIT_BAD_KEY = 2
/** A key is 44 characters; anything far larger is not a key, so stop reading. */
const MAX_STDIN_BYTES = 64 * 1024

export function register(program: Command): void {
  program
    .command('keygen')
    .description('print a new X25519 key pair and its signing key (private_key, public_key and sign_key lines)')
    .option('--json', 'print {"private_key": ..., "public_key": ..., "sign_key": ...}')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const privateKey = generatePrivateKey()
      const pair = { private_key: encodeKey(privateKey), public_key: encodeKey(publicKeyOf(privateKey)), sign_key: encodeKey(signPublicKeyOf(privateKey)) }
      const text = opts.json ? JSON.stringify(pair) : `private_key: ${pair.private_key}\npublic_key: ${pair.public_key}\nsign_key: ${pair.sign_key}`
      outputOf(cmd).writeOut(text + '\n')
    })
  program
    .command('pubkey')
    .description('read a base64 private key on stdin and print its public key (--sign: its sign_key)')
    .option('--sign', "print the Ed25519 sign_key other relays list for this one instead")
    .action(async (opts: { sign?: boolean }, cmd: Command) => {
      const out = outputOf(cmd)
      const text = await readStdin(MAX_STDIN_BYTES)
      const key = parseKey(extractPrivateKeyText(text ?? ''))
      if (text === undefined || !key.ok) {
        const why = text === undefined ? `input is larger than ${MAX_STDIN_BYTES} bytes` : key.ok ? '' : key.error
        out.writeErr(`error: stdin is not a private key: ${why} (fix: pipe in the private_key printed by \`overpass keygen\`, e.g. \`overpass pubkey < lax.key\`)\n`)
        process.exitCode = EXIT_BAD_KEY
        return
      }
      out.writeOut(encodeKey(opts.sign === true ? signPublicKeyOf(key.value) : publicKeyOf(key.value)) + '\n')
    })
}

/** All of stdin as text, or undefined when it exceeds `maxBytes`. */
async function readStdin(maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of process.stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    total += buf.length
    if (total > maxBytes) return undefined
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}
