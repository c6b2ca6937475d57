import { expect } from 'chai'
import { ExportedAuthenticators } from '../../lib/ea/authenticators.js'
import type { Credential, Verdict } from '../../lib/ea/authenticators.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { decodeAuthenticator } from '../../lib/wire/tls/authenticator.js'
import { encodeCertificate } from '../../lib/wire/tls/certificate.js'
import { encodeCertificateVerify } from '../../lib/wire/tls/certificate-verify.js'
import { encodeFinished } from '../../lib/wire/tls/finished.js'
import { encodeCertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import { ExtensionType } from '../../lib/wire/tls/extensions.js'
import { SignatureScheme } from '../../lib/wire/tls/signature-scheme.js'
import { finishedMac, signedContent, deriveKeys } from '../../lib/ea/transcript.js'
import { fakeExporter } from '../../interop/support/fake-exporter.js'
import { testPki } from '../support/pki.js'
import type { Exporter } from '../../lib/ea/exporter.js'

function pair(exporter: Exporter = fakeExporter(), hash: 'sha256' | 'sha384' = 'sha384') {
  return {
    server: new ExportedAuthenticators({ role: 'server', exporter, hash }),
    client: new ExportedAuthenticators({ role: 'client', exporter, hash }),
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts)
}

async function credential(keyType: Parameters<typeof testPki>[0] = 'p256', which: 'user' | 'device' | 'server' = 'user'): Promise<Credential> {
  const pki = await testPki(keyType)
  const c = pki[which]
  return { chain: c.chainDer, key: nodeCrypto.importPrivateKey(c.keyPem) }
}

function expectInvalid(v: Verdict, reason: string): void {
  expect(v.kind).to.equal('invalid')
  if (v.kind === 'invalid') {
    expect(v.reason).to.equal(reason)
    expect(v.error.code).to.equal('ERR_SC_AUTHENTICATOR_INVALID')
  }
}

describe('ea/authenticators', () => {
  it('validates a client authenticator answering a server request', async () => {
    const { server, client } = pair()
    const req = server.request()
    expect(req[0]).to.equal(13)
    client.receiveRequest(req)
    const auth = client.authenticate({ request: req, credential: await credential() })
    const v = server.validate(auth, { request: req })
    expect(v.kind).to.equal('identity')
    if (v.kind === 'identity') {
      expect(Buffer.from(v.chain[0]!)).to.deep.equal(Buffer.from((await credential()).chain[0]!))
      expect(v.scheme).to.equal(SignatureScheme.ecdsa_secp256r1_sha256)
    }
  })

  it('reports a correct empty authenticator as declined', () => {
    const { server, client } = pair()
    const req = server.request()
    const auth = client.authenticate({ request: req })
    expect(auth.length).to.equal(4 + 48)
    expect(server.validate(auth, { request: req }).kind).to.equal('declined')
  })

  it('makes requests of type 17 on the client and type 13 on the server', () => {
    const { server, client } = pair()
    expect(server.request()[0]).to.equal(13)
    expect(client.request()[0]).to.equal(17)
  })

  it('gives each request a fresh 32-byte context', () => {
    const { server } = pair()
    const a = server.getContext(server.request())!
    const b = server.getContext(server.request())!
    expect(a.length).to.equal(32)
    expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(false)
  })

  it('returns the context of a full authenticator and null for an empty one', async () => {
    const { server, client } = pair()
    const req = server.request()
    const full = client.authenticate({ request: req, credential: await credential() })
    expect(Buffer.from(client.getContext(full)!)).to.deep.equal(Buffer.from(server.getContext(req)!))
    const req2 = server.request()
    expect(client.getContext(client.authenticate({ request: req2 }))).to.equal(null)
  })

  it('validates a spontaneous server authenticator on the client', async () => {
    const { server, client } = pair()
    const auth = server.authenticate({ credential: await credential('p256', 'server') })
    const v = client.validate(auth)
    expect(v.kind).to.equal('identity')
  })

  it('refuses to let a client authenticate without a request', async () => {
    const { client } = pair()
    const cred = await credential()
    expect(() => client.authenticate({ credential: cred })).to.throw().with.property('code', 'ERR_SC_USAGE')
  })

  it('refuses a second authenticator for one context', async () => {
    const { server, client } = pair()
    const req = server.request()
    client.authenticate({ request: req, credential: await credential() })
    expect(() => client.authenticate({ request: req })).to.throw().with.property('code', 'ERR_SC_USAGE')
  })

  it('refuses to build a request with a context already used', () => {
    const { server } = pair()
    const req = server.request()
    const ctx = server.getContext(req)!
    expect(() => server.request({ context: ctx })).to.throw().with.property('code', 'ERR_SC_USAGE')
  })

  it('rejects a received request whose context was already used, across request types', () => {
    const { server, client } = pair()
    const clientReq = client.request()
    const ctx = client.getContext(clientReq)!
    const serverReq = encodeCertificateRequest({ type: 13, context: ctx, signatureAlgorithms: [0x0403] })
    expect(() => client.receiveRequest(serverReq)).to.throw().with.property('reason', 'context-reused')
    void server
  })

  it('accepts only type 13 requests on the client unless configured for type 17', () => {
    const exporter = fakeExporter()
    const strict = new ExportedAuthenticators({ role: 'client', exporter, hash: 'sha256' })
    const lenient = new ExportedAuthenticators({ role: 'client', exporter, hash: 'sha256', acceptType17FromServer: true })
    const t17 = encodeCertificateRequest({ type: 17, context: new Uint8Array([1]), signatureAlgorithms: [0x0403] })
    expect(() => strict.receiveRequest(t17)).to.throw().with.property('code', 'ERR_SC_DECODE')
    expect(lenient.receiveRequest(t17).type).to.equal(17)
  })

  it('leaves out entry extensions the request did not ask for', async () => {
    const { server, client } = pair()
    const base = await credential()
    const ocsp = { type: ExtensionType.status_request, data: new Uint8Array([1, 0, 0, 1, 0xaa]) }
    const cred: Credential = { ...base, entryExtensions: [[ocsp]] }
    const plain = server.request()
    const a1 = decodeAuthenticator(client.authenticate({ request: plain, credential: cred }))
    expect(a1.kind === 'full' && a1.certificate.entries[0]!.extensions.length).to.equal(0)
    const withOcsp = server.request({ statusRequest: true })
    const auth = client.authenticate({ request: withOcsp, credential: cred })
    const a2 = decodeAuthenticator(auth)
    expect(a2.kind === 'full' && a2.certificate.entries[0]!.extensions[0]!.type).to.equal(ExtensionType.status_request)
    expect(server.validate(auth, { request: withOcsp }).kind).to.equal('identity')
  })

  describe('validator checklist (digest rfc9261 §9)', () => {
    it('rejects an authenticator for a different request context (item 7)', async () => {
      const { server, client } = pair()
      const r1 = server.request()
      const r2 = server.request()
      const auth = client.authenticate({ request: r1, credential: await credential() })
      expectInvalid(server.validate(auth, { request: r2 }), 'context-mismatch')
    })

    it('rejects a tampered signature (item 10)', async () => {
      const { server, client } = pair()
      const req = server.request()
      const auth = client.authenticate({ request: req, credential: await credential() })
      const a = decodeAuthenticator(auth)
      if (a.kind !== 'full') throw new Error('expected full')
      const sig = Uint8Array.from(a.certificateVerify.signature)
      sig[sig.length - 1]! ^= 1
      const cv = encodeCertificateVerify({ algorithm: a.certificateVerify.algorithm, signature: sig })
      const tampered = concat(a.rawCertificate, cv, a.rawFinished)
      expectInvalid(server.validate(tampered, { request: req }), 'bad-signature')
    })

    it('rejects a tampered Finished (item 11)', async () => {
      const { server, client } = pair()
      const req = server.request()
      const auth = Uint8Array.from(client.authenticate({ request: req, credential: await credential() }))
      auth[auth.length - 1]! ^= 0x80
      expectInvalid(server.validate(auth, { request: req }), 'bad-finished')
    })

    it('rejects a tampered empty authenticator (item 5)', () => {
      const { server, client } = pair()
      const req = server.request()
      const auth = Uint8Array.from(client.authenticate({ request: req }))
      auth[10]! ^= 1
      expectInvalid(server.validate(auth, { request: req }), 'bad-finished')
    })

    it('rejects an empty authenticator with no request', () => {
      const { server, client } = pair()
      const req = server.request()
      const auth = client.authenticate({ request: req })
      expectInvalid(client.validate(auth), 'empty-without-request')
    })

    it('rejects a scheme the request did not offer (item 9)', async () => {
      const { server, client } = pair()
      const req = server.request({ signatureAlgorithms: [SignatureScheme.ed25519] })
      // Sign with P-256 anyway by building the authenticator by hand.
      const cred = await credential('p256')
      const keys = deriveKeys(fakeExporterOf(client), 'sha384', 'client')
      const auth = handBuilt(req, cred, SignatureScheme.ecdsa_secp256r1_sha256, keys)
      expectInvalid(server.validate(auth, { request: req }), 'scheme-not-offered')
    })

    it('rejects a scheme that does not match the key (item 9)', async () => {
      const { server, client } = pair()
      const req = server.request({ signatureAlgorithms: [0x0403, 0x0503] })
      const cred = await credential('p256')
      const keys = deriveKeys(fakeExporterOf(client), 'sha384', 'client')
      const auth = handBuilt(req, cred, SignatureScheme.ecdsa_secp384r1_sha384, keys, SignatureScheme.ecdsa_secp256r1_sha256)
      expectInvalid(server.validate(auth, { request: req }), 'scheme-key-mismatch')
    })

    it('rejects rsae schemes for an RSA-PSS key and pss schemes for an rsaEncryption key (item 9)', async () => {
      const { server, client } = pair()
      const req = server.request({ signatureAlgorithms: [0x0804, 0x0809] })
      const rsa = await credential('rsa')
      const keys = deriveKeys(fakeExporterOf(client), 'sha384', 'client')
      const auth = handBuilt(req, rsa, SignatureScheme.rsa_pss_pss_sha256, keys, SignatureScheme.rsa_pss_rsae_sha256)
      expectInvalid(server.validate(auth, { request: req }), 'scheme-key-mismatch')
    })

    it('rejects a PKCS#1 v1.5 scheme even when offered (item 9)', async () => {
      const { server, client } = pair()
      const req = server.request({ signatureAlgorithms: [0x0401, 0x0804] })
      const rsa = await credential('rsa')
      const keys = deriveKeys(fakeExporterOf(client), 'sha384', 'client')
      const auth = handBuilt(req, rsa, SignatureScheme.rsa_pkcs1_sha256, keys, SignatureScheme.rsa_pss_rsae_sha256)
      expectInvalid(server.validate(auth, { request: req }), 'scheme-not-tls13')
    })

    it("rejects an authenticator made with the wrong role's labels (item 3)", async () => {
      const { server, client } = pair()
      const req = server.request()
      const cred = await credential('p256')
      const wrong = deriveKeys(fakeExporterOf(client), 'sha384', 'server')
      const auth = handBuilt(req, cred, SignatureScheme.ecdsa_secp256r1_sha256, wrong)
      expectInvalid(server.validate(auth, { request: req }), 'bad-signature')
    })

    it('rejects a replayed authenticator for an already validated context (item 12)', async () => {
      const { server, client } = pair()
      const req = server.request()
      const auth = client.authenticate({ request: req, credential: await credential() })
      expect(server.validate(auth, { request: req }).kind).to.equal('identity')
      expectInvalid(server.validate(auth, { request: req }), 'already-validated')
    })

    it('rejects a spontaneous authenticator that reuses a context of this connection (item 7)', async () => {
      const { server, client } = pair()
      const clientReq = client.request()
      const ctx = client.getContext(clientReq)!
      const auth = server.authenticate({ credential: await credential('p256', 'server'), context: ctx })
      expectInvalid(client.validate(auth), 'context-reused')
    })

    it('rejects an authenticator carried over from another connection', async () => {
      const a = pair(fakeExporter())
      const b = pair(fakeExporter())
      const req = a.server.request()
      const auth = a.client.authenticate({ request: req, credential: await credential() })
      // The same request bytes registered on connection b, so only the keys differ.
      const reqB = b.server.request({ context: a.server.getContext(req)! })
      expect(Buffer.from(reqB).equals(Buffer.from(req))).to.equal(true)
      expectInvalid(b.server.validate(auth, { request: reqB }), 'bad-signature')
    })

    it('rejects entry extensions that the request did not carry (item 8)', async () => {
      const { server, client } = pair()
      const req = server.request()
      const cred = await credential()
      const keys = deriveKeys(fakeExporterOf(client), 'sha384', 'client')
      const auth = handBuilt(req, cred, SignatureScheme.ecdsa_secp256r1_sha256, keys, undefined, [
        { type: ExtensionType.signed_certificate_timestamp, data: new Uint8Array([0, 1, 2]) },
      ])
      expectInvalid(server.validate(auth, { request: req }), 'unrequested-extension')
    })

    it('rejects an empty certificate list (item 6)', () => {
      const { server, client } = pair()
      const req = server.request()
      const ctx = server.getContext(req)!
      const keys = deriveKeys(fakeExporterOf(client), 'sha384', 'client')
      const cert = encodeCertificate({ context: ctx, entries: [] })
      const cv = encodeCertificateVerify({ algorithm: 0x0403, signature: new Uint8Array(8) })
      const fin = encodeFinished({ verifyData: finishedMac(nodeCrypto, keys, req, cert, cv) })
      expectInvalid(server.validate(concat(cert, cv, fin), { request: req }), 'empty-certificate-list')
    })

    it('rejects a certificate that is not DER X.509 (item 6)', () => {
      const { server, client } = pair()
      const req = server.request()
      const ctx = server.getContext(req)!
      const keys = deriveKeys(fakeExporterOf(client), 'sha384', 'client')
      const cert = encodeCertificate({ context: ctx, entries: [{ certData: new Uint8Array([1, 2, 3]), extensions: [] }] })
      const cv = encodeCertificateVerify({ algorithm: 0x0403, signature: new Uint8Array(8) })
      const fin = encodeFinished({ verifyData: finishedMac(nodeCrypto, keys, req, cert, cv) })
      expectInvalid(server.validate(concat(cert, cv, fin), { request: req }), 'bad-certificate')
    })

    it('reports malformed bytes as invalid, never throwing (item 4)', () => {
      const { server } = pair()
      const req = server.request()
      expectInvalid(server.validate(new Uint8Array([0x0b, 0, 0, 9, 1]), { request: req }), 'malformed')
      expectInvalid(server.validate(new Uint8Array([0x0f, 0, 0, 0]), { request: req }), 'malformed')
    })
  })
})

// The fake exporter is shared by both sides of a pair; recover it for hand-built authenticators.
function fakeExporterOf(ea: ExportedAuthenticators): Exporter {
  return (ea as unknown as { exporter: Exporter }).exporter
}

function handBuilt(
  request: Uint8Array,
  cred: Credential,
  claimedScheme: number,
  keys: ReturnType<typeof deriveKeys>,
  signWith: number = claimedScheme,
  leafExtensions: { type: number; data: Uint8Array }[] = [],
): Uint8Array {
  const ctx = request.subarray(5, 5 + request[4]!)
  const cert = encodeCertificate({
    context: ctx,
    entries: cred.chain.map((d, i) => ({ certData: d, extensions: i === 0 ? leafExtensions : [] })),
  })
  const content = signedContent(nodeCrypto, keys, request, cert)
  const signature = signWithScheme(signWith, cred, content)
  const cv = encodeCertificateVerify({ algorithm: claimedScheme, signature })
  const fin = encodeFinished({ verifyData: finishedMac(nodeCrypto, keys, request, cert, cv) })
  return concat(cert, cv, fin)
}

function signWithScheme(scheme: number, cred: Credential, content: Uint8Array): Uint8Array {
  return nodeCrypto.sign(scheme, cred.key, content)
}
