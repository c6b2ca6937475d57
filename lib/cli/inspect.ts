import { X509Certificate } from 'node:crypto'
import { decodeFrameHeader } from '../wire/h2/frame-header.js'
import { decodeAuthenticatorRequests } from '../wire/h2/authenticator-requests-frame.js'
import { decodeCertificateRequest } from '../wire/tls/certificate-request.js'
import type { CertificateRequest } from '../wire/tls/certificate-request.js'
import { decodeAuthenticator } from '../wire/tls/authenticator.js'
import { schemeName } from '../wire/tls/signature-scheme.js'
import { DEFAULT_CODEPOINTS } from '../config.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function describeRequest(r: CertificateRequest, indent: string): string[] {
  const out = [
    `${indent}${r.type === 13 ? 'CertificateRequest (13)' : 'ClientCertificateRequest (17)'}, ${r.raw.length} bytes`,
    `${indent}  context: ${hex(r.context)} (${r.context.length} bytes)`,
    `${indent}  signature_algorithms: ${r.signatureAlgorithms.map(schemeName).join(', ')}`,
  ]
  if (r.signatureAlgorithmsCert) out.push(`${indent}  signature_algorithms_cert: ${r.signatureAlgorithmsCert.map(schemeName).join(', ')}`)
  if (r.certificateAuthorities) out.push(`${indent}  certificate_authorities: ${r.certificateAuthorities.length} name(s)`)
  if (r.oidFilters) out.push(`${indent}  oid_filters: ${r.oidFilters.map((f) => `${hex(f.oid)}=${hex(f.values)}`).join(', ')}`)
  if (r.statusRequest) out.push(`${indent}  status_request`)
  if (r.signedCertificateTimestamp) out.push(`${indent}  signed_certificate_timestamp`)
  if (r.serverName) out.push(`${indent}  server_name: ${r.serverName.join(', ')}`)
  const known = new Set([0, 5, 13, 18, 47, 48, 50])
  for (const e of r.extensions) if (!known.has(e.type)) out.push(`${indent}  unknown extension ${e.type} (${e.data.length} bytes, ignored)`)
  return out
}

function describeAuthenticator(bytes: Uint8Array, indent: string): string[] {
  const a = decodeAuthenticator(bytes)
  if (a.kind === 'empty') {
    return [`${indent}empty authenticator (Finished only, ${a.finished.verifyData.length}-byte MAC): declines a request`]
  }
  const out = [`${indent}authenticator, ${bytes.length} bytes`, `${indent}  context: ${hex(a.certificate.context)}`]
  a.certificate.entries.forEach((e, i) => {
    let subject = '(not parseable as X.509)'
    try {
      subject = new X509Certificate(e.certData).subject.replace(/\n/g, ', ')
    } catch {
      // keep the placeholder
    }
    out.push(`${indent}  certificate[${i}]: ${subject} (${e.certData.length} bytes${e.extensions.length ? `, ${e.extensions.length} extension(s)` : ''})`)
  })
  out.push(`${indent}  CertificateVerify: ${schemeName(a.certificateVerify.algorithm)}, ${a.certificateVerify.signature.length}-byte signature`)
  out.push(`${indent}  Finished: ${a.finished.verifyData.length}-byte MAC`)
  return out
}

/**
 * Decodes an HTTP/2 extension frame (9-byte header + payload), a request, or an authenticator,
 * trying each in turn, into readable lines. Uses the default codepoints to name frames.
 */
export function inspectBytes(bytes: Uint8Array): string {
  const errors: string[] = []
  const first = bytes[0]
  if (first === 13 || first === 17) {
    try {
      return describeRequest(decodeCertificateRequest(bytes), '').join('\n')
    } catch (e) {
      errors.push(`request: ${(e as Error).message}`)
    }
  }
  if (first === 11 || first === 20) {
    try {
      return describeAuthenticator(bytes, '').join('\n')
    } catch (e) {
      errors.push(`authenticator: ${(e as Error).message}`)
    }
  }
  if (bytes.length >= 9) {
    try {
      const h = decodeFrameHeader(bytes)
      const payload = bytes.subarray(9)
      const cp = DEFAULT_CODEPOINTS
      const name =
        h.type === cp.frameAuthenticatorRequests ? 'AUTHENTICATOR_REQUESTS' : h.type === cp.frameServerCertificate ? 'SERVER_CERTIFICATE' : h.type === cp.frameClientCertificate ? 'CLIENT_CERTIFICATE' : `type 0x${h.type.toString(16)}`
      const out = [`frame ${name}, length ${h.length}, flags 0x${h.flags.toString(16)}, stream ${h.streamId}`]
      if (h.length !== payload.length) out.push(`  (header says ${h.length} bytes, ${payload.length} present)`)
      if (h.type === cp.frameAuthenticatorRequests) {
        for (const r of decodeAuthenticatorRequests(payload.subarray(0, h.length))) out.push(...describeRequest(decodeCertificateRequest(r), '  '))
      } else if (h.type === cp.frameServerCertificate || h.type === cp.frameClientCertificate) {
        out.push(...describeAuthenticator(payload.subarray(0, h.length), '  '))
      }
      return out.join('\n')
    } catch (e) {
      errors.push(`frame: ${(e as Error).message}`)
    }
  }
  return `could not decode ${bytes.length} bytes:\n  ${errors.join('\n  ') || 'not a frame, request or authenticator'}`
}
