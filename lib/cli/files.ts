/**
 * Reading and checking the files h2sc is given, before anything listens or connects: every
 * failure is one CliError line that names the flag and the file.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { loadCredential, pemToDerChain } from '../binding/credentials.js'
import { defaultCrypto } from '../crypto/default-provider.js'
import { ArgumentError } from './args.js'

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message
}

/**
 * Reads a text file given by a flag.
 * @param flag - the flag as typed (`--cert`), or '' for a positional.
 * @param what - what the file is (`certificate`, `key`, `CA`).
 * @throws ArgumentError `--cert: cannot read certificate file F: ENOENT`
 */
export function readFlagFile(flag: string, what: string, path: string): string {
  try {
    if (statSync(path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' })
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new ArgumentError(`${flag ? flag + ': ' : ''}cannot read ${what} file ${path}: ${errno(e)}`)
  }
}

/**
 * Reads a PEM file of trust anchors: at least one certificate, each readable X.509.
 * @returns the PEM text
 * @throws ArgumentError naming the flag and file
 */
export function readCaFile(flag: string, path: string): string {
  const text = readFlagFile(flag, 'CA', path)
  let ders: Uint8Array[]
  try {
    ders = pemToDerChain(text, `${flag} ${path}`)
  } catch (e) {
    throw new ArgumentError((e as Error).message)
  }
  ders.forEach((d, i) => {
    try {
      new X509Certificate(d)
    } catch {
      throw new ArgumentError(`${flag} ${path}: certificate ${i + 1} is not readable X.509`)
    }
  })
  return text
}

/** Where a credential's two files come from, for messages. */
export interface CredentialFiles {
  /** The flag naming the certificate as the user typed it: `--cert`, `--cred user certificate`. */
  readonly certFlag: string
  readonly certPath: string
  readonly keyFlag: string
  readonly keyPath: string
}

/**
 * Reads a certificate chain and its key and checks them the way the library will when it loads
 * them (loadCredential: readable PEM, readable leaf, readable key, key matches the leaf), so the
 * user hears about a wrong file before anything listens or connects.
 * @returns the PEM texts
 * @throws ArgumentError naming the flags and files
 */
export function readCredentialFiles(f: CredentialFiles): { cert: string; key: string } {
  const cert = readFlagFile(f.certFlag, 'certificate', f.certPath)
  const key = readFlagFile(f.keyFlag, 'key', f.keyPath)
  const certName = `${f.certFlag} ${f.certPath}`
  const keyName = `${f.keyFlag} ${f.keyPath}`
  let leaf: Uint8Array
  try {
    leaf = pemToDerChain(cert)[0]!
  } catch {
    throw new ArgumentError(`${certName}: no PEM certificate found`)
  }
  try {
    new X509Certificate(leaf)
  } catch {
    throw new ArgumentError(`${certName}: the first certificate is not readable X.509`)
  }
  try {
    defaultCrypto.importPrivateKey(key)
  } catch (e) {
    const unsupported = (e as { code?: string }).code === 'ERR_SC_UNSUPPORTED'
    throw new ArgumentError(`${keyName}: ${unsupported ? (e as Error).message : 'not a readable PKCS#8, SEC1 or PKCS#1 private key'}`)
  }
  try {
    loadCredential({ cert, key }, defaultCrypto, 'cli')
  } catch (e) {
    // loadCredential says `credential 'cli': the private key does not match ... (<detail>)`.
    const detail = /\(([^()]*)\)$/.exec((e as Error).message)?.[1]
    throw new ArgumentError(`${keyName} does not match ${certName}${detail ? ` (${detail})` : ''}`)
  }
  return { cert, key }
}
