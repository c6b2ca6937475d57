import { expect } from 'chai'
import { ServerState } from '../../lib/proto/server-state.js'
import type { ServerAction } from '../../lib/proto/server-state.js'
import { ClientState } from '../../lib/proto/client-state.js'
import type { ClientAction } from '../../lib/proto/client-state.js'
import { ExportedAuthenticators } from '../../lib/ea/authenticators.js'
import type { Credential } from '../../lib/ea/authenticators.js'
import { DEFAULT_CODEPOINTS, resolveCodepoints } from '../../lib/config.js'
import type { Codepoints } from '../../lib/config.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { encodeAuthenticatorRequests } from '../../lib/wire/h2/authenticator-requests-frame.js'
import { encodeCertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import { fakeExporter } from '../../interop/support/fake-exporter.js'
import { testPki } from '../support/pki.js'

const CP = DEFAULT_CODEPOINTS
const PROTOCOL_ERROR = 0x1

function setup(opts: { n?: number; codepoints?: Codepoints; maxAuthenticatorBytes?: number } = {}) {
  const exporter = fakeExporter()
  const codepoints = opts.codepoints ?? CP
  const server = new ServerState({
    ea: new ExportedAuthenticators({ role: 'server', exporter, hash: 'sha384' }),
    codepoints,
    clientCertAuth: true,
    serverCertAuth: true,
    maxAuthenticatorBytes: opts.maxAuthenticatorBytes ?? 65536,
  })
  const serverEa = (server as unknown as { ea: ExportedAuthenticators }).ea
  const client = new ClientState({
    ea: new ExportedAuthenticators({ role: 'client', exporter, hash: 'sha384' }),
    codepoints,
    clientCertAuth: opts.n ?? 2,
    serverCertAuth: true,
    maxAuthenticatorBytes: opts.maxAuthenticatorBytes ?? 65536,
  })
  const clientEa = (client as unknown as { ea: ExportedAuthenticators }).ea
  return { server, client, serverEa, clientEa, codepoints }
}

function settingsOf(cp: Codepoints, clientN: number, server: 0 | 1): [number, number][] {
  return [
    [cp.settingClientCertAuth, clientN],
    [cp.settingServerCertAuth, server],
  ]
}

function sends(actions: readonly (ServerAction | ClientAction)[]): { frameType: number; payload: Uint8Array }[] {
  return actions.filter((a): a is Extract<ServerAction, { kind: 'send' }> => a.kind === 'send')
}

function goaway(actions: readonly (ServerAction | ClientAction)[]) {
  const g = actions.find((a) => a.kind === 'goaway')
  return g && g.kind === 'goaway' ? g.error : undefined
}

async function userCredential(): Promise<Credential> {
  const pki = await testPki('p256')
  return { chain: pki.user.chainDer, key: nodeCrypto.importPrivateKey(pki.user.keyPem) }
}

describe('proto/server-state + proto/client-state', () => {
  it('sends nothing before the client advertised SETTINGS_HTTP_CLIENT_CERT_AUTH', () => {
    const { server, serverEa } = setup()
    expect(server.requestAuthenticators([{ id: 1, bytes: serverEa.request() }])).to.deep.equal([])
    expect(server.queuedCount).to.equal(1)
    const out = server.onPeerSettings(settingsOf(CP, 2, 1))
    expect(sends(out)).to.have.length(1)
    expect(sends(out)[0]!.frameType).to.equal(CP.frameAuthenticatorRequests)
  })

  it('never has more outstanding requests than the client advertised, and replenishes', async () => {
    const { server, client, serverEa } = setup({ n: 1 })
    server.onPeerSettings(settingsOf(CP, 1, 1))
    client.onPeerSettings(settingsOf(CP, 1, 1))
    const out = server.requestAuthenticators([
      { id: 1, bytes: serverEa.request() },
      { id: 2, bytes: serverEa.request() },
    ])
    expect(sends(out)).to.have.length(1)
    expect(server.outstandingCount).to.equal(1)
    expect(server.queuedCount).to.equal(1)
    // Client answers the first; the server then sends the second.
    const reqs = client.onFrame(CP.frameAuthenticatorRequests, 0, sends(out)[0]!.payload)
    const first = reqs.find((a) => a.kind === 'requests')
    if (!first || first.kind !== 'requests') throw new Error('no requests action')
    const answer = sends(client.answer(first.items[0]!.id, await userCredential()))
    expect(answer[0]!.frameType).to.equal(CP.frameClientCertificate)
    const after = server.onFrame(CP.frameClientCertificate, 0, answer[0]!.payload)
    const result = after.find((a) => a.kind === 'result')
    expect(result && result.kind === 'result' && result.verdict.kind).to.equal('identity')
    expect(sends(after)).to.have.length(1)
    expect(server.outstandingCount).to.equal(1)
    expect(server.queuedCount).to.equal(0)
  })

  it('sends client answers in request order even when answered out of order', async () => {
    const { server, client, serverEa } = setup({ n: 2 })
    server.onPeerSettings(settingsOf(CP, 2, 1))
    client.onPeerSettings(settingsOf(CP, 2, 1))
    const out = server.requestAuthenticators([
      { id: 1, bytes: serverEa.request() },
      { id: 2, bytes: serverEa.request() },
    ])
    const r = client.onFrame(CP.frameAuthenticatorRequests, 0, sends(out)[0]!.payload)[0]
    if (!r || r.kind !== 'requests') throw new Error('no requests action')
    expect(r.items).to.have.length(2)
    expect(sends(client.answer(r.items[1]!.id, null))).to.have.length(0)
    const both = sends(client.answer(r.items[0]!.id, await userCredential()))
    expect(both).to.have.length(2)
    const v1 = server.onFrame(CP.frameClientCertificate, 0, both[0]!.payload)
    const v2 = server.onFrame(CP.frameClientCertificate, 0, both[1]!.payload)
    const k = (a: ServerAction[]) => a.find((x) => x.kind === 'result')
    expect((k(v1) as { id: number; verdict: { kind: string } }).verdict.kind).to.equal('identity')
    expect((k(v2) as { id: number; verdict: { kind: string } }).verdict.kind).to.equal('declined')
    expect((k(v1) as { id: number }).id).to.equal(1)
    expect((k(v2) as { id: number }).id).to.equal(2)
  })

  it('falls back to the empty authenticator when the answer exceeds the size limit', async () => {
    const { server, client, serverEa } = setup({ n: 1, maxAuthenticatorBytes: 200 })
    server.onPeerSettings(settingsOf(CP, 1, 1))
    client.onPeerSettings(settingsOf(CP, 1, 1))
    const out = server.requestAuthenticators([{ id: 1, bytes: serverEa.request() }])
    const r = client.onFrame(CP.frameAuthenticatorRequests, 0, sends(out)[0]!.payload)[0]
    if (!r || r.kind !== 'requests') throw new Error('no requests action')
    const actions = client.answer(r.items[0]!.id, await userCredential())
    expect(actions.some((a) => a.kind === 'declined-instead')).to.equal(true)
    const v = server.onFrame(CP.frameClientCertificate, 0, sends(actions)[0]!.payload)
    expect(v.find((a) => a.kind === 'result')).to.have.nested.property('verdict.kind', 'declined')
  })

  it('shared mode: the client answers with the server frame type and the server accepts it', async () => {
    const cp = resolveCodepoints({}, 'shared')
    const { server, client, serverEa } = setup({ codepoints: cp, n: 1 })
    server.onPeerSettings(settingsOf(cp, 1, 1))
    client.onPeerSettings(settingsOf(cp, 1, 1))
    const out = server.requestAuthenticators([{ id: 7, bytes: serverEa.request() }])
    const r = client.onFrame(cp.frameAuthenticatorRequests, 0, sends(out)[0]!.payload)[0]
    if (!r || r.kind !== 'requests') throw new Error('no requests action')
    const ans = sends(client.answer(r.items[0]!.id, await userCredential()))
    expect(ans[0]!.frameType).to.equal(cp.frameServerCertificate)
    const v = server.onFrame(cp.frameServerCertificate, 0, ans[0]!.payload)
    expect(v.find((a) => a.kind === 'result')).to.have.nested.property('verdict.kind', 'identity')
  })

  it('delivers a valid spontaneous server certificate to the client', async () => {
    const { server, client, serverEa } = setup()
    const pki = await testPki('p256')
    server.onPeerSettings(settingsOf(CP, 2, 1))
    client.onPeerSettings(settingsOf(CP, 1, 1))
    const auth = serverEa.authenticate({ credential: { chain: pki.origin2.chainDer, key: nodeCrypto.importPrivateKey(pki.origin2.keyPem) } })
    const out = sends(server.sendServerCertificate(auth))
    expect(out[0]!.frameType).to.equal(CP.frameServerCertificate)
    const got = client.onFrame(CP.frameServerCertificate, 0, out[0]!.payload)
    expect(got[0]!.kind).to.equal('server-certificate')
  })

  describe('violations (digest http2-secondary-certs §3.3)', () => {
    it('server: AUTHENTICATOR_REQUESTS received -> PROTOCOL_ERROR', () => {
      const { server } = setup()
      server.onPeerSettings(settingsOf(CP, 2, 1))
      const e = goaway(server.onFrame(CP.frameAuthenticatorRequests, 0, new Uint8Array([1, 0])))
      expect(e?.http2Code).to.equal(PROTOCOL_ERROR)
      expect(e?.violation).to.equal('authenticator-requests-at-server')
      expect(server.isClosed).to.equal(true)
    })

    it('client: AUTHENTICATOR_REQUESTS on a non-zero stream -> PROTOCOL_ERROR', () => {
      const { client, serverEa } = setup()
      client.onPeerSettings(settingsOf(CP, 1, 1))
      const e = goaway(client.onFrame(CP.frameAuthenticatorRequests, 3, encodeAuthenticatorRequests([serverEa.request()])))
      expect(e?.violation).to.equal('authenticator-requests-on-stream')
      expect(e?.http2Code).to.equal(PROTOCOL_ERROR)
    })

    it('client: empty AUTHENTICATOR_REQUESTS -> PROTOCOL_ERROR', () => {
      const { client } = setup()
      client.onPeerSettings(settingsOf(CP, 1, 1))
      const e = goaway(client.onFrame(CP.frameAuthenticatorRequests, 0, new Uint8Array(0)))
      expect(e?.violation).to.equal('authenticator-requests-malformed')
    })

    it('client: a malformed request inside the list -> PROTOCOL_ERROR', () => {
      const { client } = setup()
      client.onPeerSettings(settingsOf(CP, 1, 1))
      const e = goaway(client.onFrame(CP.frameAuthenticatorRequests, 0, encodeAuthenticatorRequests([new Uint8Array([13, 0, 0, 1, 0])])))
      expect(e?.violation).to.equal('authenticator-requests-malformed')
    })

    it('client: a request reusing a context -> PROTOCOL_ERROR', () => {
      const { client } = setup({ n: 3 })
      client.onPeerSettings(settingsOf(CP, 1, 1))
      const r = encodeCertificateRequest({ context: new Uint8Array([9, 9]), signatureAlgorithms: [0x0403] })
      expect(goaway(client.onFrame(CP.frameAuthenticatorRequests, 0, encodeAuthenticatorRequests([r])))).to.equal(undefined)
      const e = goaway(client.onFrame(CP.frameAuthenticatorRequests, 0, encodeAuthenticatorRequests([r])))
      expect(e?.violation).to.equal('authenticator-requests-malformed')
    })

    it('client: more outstanding requests than advertised -> PROTOCOL_ERROR', () => {
      const { client, serverEa } = setup({ n: 1 })
      client.onPeerSettings(settingsOf(CP, 1, 1))
      const e = goaway(client.onFrame(CP.frameAuthenticatorRequests, 0, encodeAuthenticatorRequests([serverEa.request(), serverEa.request()])))
      expect(e?.violation).to.equal('too-many-outstanding-requests')
    })

    it('client: AUTHENTICATOR_REQUESTS before the server advertised support -> PROTOCOL_ERROR', () => {
      const { client, serverEa } = setup()
      client.onPeerSettings(settingsOf(CP, 0, 1))
      const e = goaway(client.onFrame(CP.frameAuthenticatorRequests, 0, encodeAuthenticatorRequests([serverEa.request()])))
      expect(e?.violation).to.equal('frame-before-negotiation')
    })

    it('server: CLIENT_CERTIFICATE without an outstanding request -> PROTOCOL_ERROR', () => {
      const { server } = setup()
      server.onPeerSettings(settingsOf(CP, 2, 1))
      const e = goaway(server.onFrame(CP.frameClientCertificate, 0, new Uint8Array([20, 0, 0, 0])))
      expect(e?.violation).to.equal('unsolicited-client-certificate')
    })

    it('server: CLIENT_CERTIFICATE before negotiation -> PROTOCOL_ERROR', () => {
      const { server } = setup()
      const e = goaway(server.onFrame(CP.frameClientCertificate, 0, new Uint8Array([20, 0, 0, 0])))
      expect(e?.violation).to.equal('frame-before-negotiation')
    })

    it('server: CLIENT_CERTIFICATE on a non-zero stream -> PROTOCOL_ERROR', () => {
      const { server } = setup()
      server.onPeerSettings(settingsOf(CP, 2, 1))
      const e = goaway(server.onFrame(CP.frameClientCertificate, 5, new Uint8Array([20, 0, 0, 0])))
      expect(e?.violation).to.equal('certificate-on-stream')
    })

    it('server: an invalid client authenticator -> PROTOCOL_ERROR and an invalid result', () => {
      const { server, serverEa } = setup()
      server.onPeerSettings(settingsOf(CP, 2, 1))
      server.requestAuthenticators([{ id: 4, bytes: serverEa.request() }])
      const out = server.onFrame(CP.frameClientCertificate, 0, new Uint8Array([20, 0, 0, 48, ...new Uint8Array(48)]))
      expect(out.find((a) => a.kind === 'result')).to.have.nested.property('verdict.kind', 'invalid')
      expect(goaway(out)?.violation).to.equal('client-authenticator-invalid')
    })

    it('server: SERVER_CERTIFICATE from a client -> PROTOCOL_ERROR', () => {
      const { server } = setup()
      server.onPeerSettings(settingsOf(CP, 2, 1))
      const e = goaway(server.onFrame(CP.frameServerCertificate, 0, new Uint8Array([20, 0, 0, 0])))
      expect(e?.violation).to.equal('server-certificate-from-client')
    })

    it('server: an oversized CLIENT_CERTIFICATE -> FRAME_SIZE_ERROR', () => {
      const { server, serverEa } = setup({ maxAuthenticatorBytes: 100 })
      server.onPeerSettings(settingsOf(CP, 2, 1))
      server.requestAuthenticators([{ id: 1, bytes: serverEa.request() }])
      const e = goaway(server.onFrame(CP.frameClientCertificate, 0, new Uint8Array(101)))
      expect(e?.http2Code).to.equal(0x6)
    })

    it('client: an invalid SERVER_CERTIFICATE -> SERVER_CERTIFICATE_INVALID', () => {
      const { client } = setup()
      client.onPeerSettings(settingsOf(CP, 1, 1))
      const e = goaway(client.onFrame(CP.frameServerCertificate, 0, new Uint8Array([20, 0, 0, 48, ...new Uint8Array(48)])))
      expect(e?.http2Code).to.equal(CP.errorServerCertificateInvalid)
      expect(e?.violation).to.equal('server-authenticator-invalid')
    })

    it('client: SERVER_CERTIFICATE without SERVER_CERT_AUTH negotiation -> PROTOCOL_ERROR', () => {
      const { client } = setup()
      client.onPeerSettings(settingsOf(CP, 1, 0))
      const e = goaway(client.onFrame(CP.frameServerCertificate, 0, new Uint8Array([20, 0, 0, 0])))
      expect(e?.violation).to.equal('frame-before-negotiation')
    })

    it('client: SERVER_CERTIFICATE on a non-zero stream -> PROTOCOL_ERROR', () => {
      const { client } = setup()
      client.onPeerSettings(settingsOf(CP, 1, 1))
      const e = goaway(client.onFrame(CP.frameServerCertificate, 1, new Uint8Array([20, 0, 0, 0])))
      expect(e?.violation).to.equal('certificate-on-stream')
    })

    it('ignores input after a violation', () => {
      const { server } = setup()
      server.onPeerSettings(settingsOf(CP, 2, 1))
      server.onFrame(CP.frameAuthenticatorRequests, 0, new Uint8Array([1, 0]))
      expect(server.onFrame(CP.frameClientCertificate, 0, new Uint8Array(4))).to.deep.equal([])
    })
  })
})
