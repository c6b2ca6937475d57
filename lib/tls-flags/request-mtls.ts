/**
 * The request-mTLS flag (draft-jhoyla-req-mtls-flag, "REQMTLS"), server side, without I/O: find
 * the flag in a decoded ClientHello and decide whether to send a TLS CertificateRequest.
 * Digest: shared/spec/tls-flags-request-mtls.md §2.
 *
 * Both codepoints are TBD in the drafts, so both are configuration:
 * - the `tls_flags` extension type: by default we look at 62 (0x003E, what implementations use)
 *   and 0xFE01 (what the Cloudflare Research demo put on the wire), digest §1.1;
 * - the flag number: default 80, the experimental value of that demo (digest §2.1).
 *
 * We implement the -00…-02 server behaviour: the flag means the client holds a certificate
 * suitable for mTLS and the server MAY then send a CertificateRequest (REQMTLS §3). The editor's
 * copy asks the server to echo the flag inside the CertificateRequest; servers built on Node (or
 * any stack without custom-extension hooks) cannot, digest §4 item 6.
 */
import type { DecodeError } from '../errors.js'
import type { ClientHello } from './client-hello.js'
import { decodeTlsFlags, TLS_FLAGS_EXPERIMENTAL_EXTENSION_TYPE, TLS_FLAGS_EXTENSION_TYPE } from './tls-flags.js'

/** Experimental request-mTLS flag number (Cloudflare Research; the drafts say TBD). */
export const REQUEST_MTLS_FLAG_EXPERIMENTAL = 80

/** Codepoints to look for. */
export interface RequestMtlsCodepoints {
  /** `tls_flags` extension types to read, in order (default `[62, 0xFE01]`). */
  readonly extensionTypes?: readonly number[]
  /** Flag number of request-mTLS (default 80). */
  readonly flag?: number
}

/** Defaults of {@link RequestMtlsCodepoints}. */
export const DEFAULT_REQUEST_MTLS_CODEPOINTS: Readonly<Required<RequestMtlsCodepoints>> = Object.freeze({
  extensionTypes: Object.freeze([TLS_FLAGS_EXTENSION_TYPE, TLS_FLAGS_EXPERIMENTAL_EXTENSION_TYPE]),
  flag: REQUEST_MTLS_FLAG_EXPERIMENTAL,
})

/** What a ClientHello says about request-mTLS. */
export type RequestMtlsSignal =
  /** No `tls_flags` extension under any configured codepoint. */
  | { readonly kind: 'absent' }
  /**
   * At least one well-formed `tls_flags` extension. `requested` is true when the flag is set in
   * any of them; `flags` is the union of their flags.
   */
  | {
      readonly kind: 'flags'
      readonly requested: boolean
      readonly flags: ReadonlySet<number>
      /** Extension types that carried the request-mTLS flag. */
      readonly requestedBy: readonly number[]
    }
  /**
   * A `tls_flags` extension that does not decode (FLAGS §2: a TLS stack answers with a fatal
   * `illegal_parameter`). A peeking front end cannot send that alert; it treats this as "no flag"
   * and leaves the rejection to the TLS stack, if it knows the codepoint (digest §3.2 step 3).
   */
  | { readonly kind: 'malformed'; readonly extensionType: number; readonly error: DecodeError }

/**
 * Reads the request-mTLS flag from a ClientHello.
 * @param hello - a decoded ClientHello.
 * @param codepoints - extension types and flag number (defaults: 62 and 0xFE01, flag 80).
 * @returns absent, the flags found, or the first malformed extension.
 */
export function requestMtlsSignal(hello: ClientHello, codepoints: RequestMtlsCodepoints = {}): RequestMtlsSignal {
  const types = codepoints.extensionTypes ?? DEFAULT_REQUEST_MTLS_CODEPOINTS.extensionTypes
  const flag = codepoints.flag ?? DEFAULT_REQUEST_MTLS_CODEPOINTS.flag
  const flags = new Set<number>()
  const requestedBy: number[] = []
  let seen = false
  for (const t of types) {
    const data = hello.extensions.get(t)
    if (data === undefined) continue
    let decoded: Set<number>
    try {
      decoded = decodeTlsFlags(data)
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ERR_SC_DECODE') {
        return { kind: 'malformed', extensionType: t, error: e as DecodeError }
      }
      throw e
    }
    seen = true
    for (const n of decoded) flags.add(n)
    if (decoded.has(flag)) requestedBy.push(t)
  }
  if (!seen) return { kind: 'absent' }
  return { kind: 'flags', requested: requestedBy.length > 0, flags, requestedBy }
}

/** True when the ClientHello carries the request-mTLS flag (malformed extensions count as no). */
export function hasRequestMtlsFlag(hello: ClientHello, codepoints: RequestMtlsCodepoints = {}): boolean {
  const s = requestMtlsSignal(hello, codepoints)
  return s.kind === 'flags' && s.requested
}

/** What a certificate-request policy sees for one connection. */
export interface CertificateRequestContext {
  readonly hello: ClientHello
  readonly signal: RequestMtlsSignal
  /** Shorthand for `signal.kind === 'flags' && signal.requested`. */
  readonly requestMtls: boolean
}

/**
 * Server policy: send a CertificateRequest for this connection? `'flag'` (default) asks exactly
 * when the client set the request-mTLS flag (REQMTLS §3 "MAY send a CertificateRequest");
 * `'always'`/`'never'` ignore it; a function decides from the hello and the flag.
 */
export type CertificateRequestPolicy = 'flag' | 'always' | 'never' | ((context: CertificateRequestContext) => boolean)

/** Options of {@link decideClientCertificateRequest}. */
export interface CertificateRequestOptions extends RequestMtlsCodepoints {
  readonly policy?: CertificateRequestPolicy
}

/**
 * Decides whether the server sends a TLS CertificateRequest on this connection.
 * @param hello - the connection's ClientHello.
 * @param options - codepoints and policy (default: ask when the flag is present).
 * @returns true to request a client certificate.
 */
export function decideClientCertificateRequest(hello: ClientHello, options: CertificateRequestOptions = {}): boolean {
  const signal = requestMtlsSignal(hello, options)
  const requestMtls = signal.kind === 'flags' && signal.requested
  const policy = options.policy ?? 'flag'
  if (policy === 'always') return true
  if (policy === 'never') return false
  if (policy === 'flag') return requestMtls
  return policy({ hello, signal, requestMtls })
}
