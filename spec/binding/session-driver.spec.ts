/**
 * lib/binding/session-driver.ts through both sides' extension objects, with a fake interposer
 * (an EventEmitter recording what would be written) and a fake exporter: no sockets.
 */
import { expect } from 'chai'
import { EventEmitter } from 'node:events'
import { ServerSessionCerts } from '../../lib/binding/attach-server.js'
import { ClientSessionCerts } from '../../lib/binding/attach-client.js'
import { resolveClientOptions, resolveServerOptions } from '../../lib/binding/options.js'
import type { FrameInterposer } from '../../lib/binding/interposer.js'
import { ExportedAuthenticators } from '../../lib/ea/authenticators.js'
import { DEFAULT_CODEPOINTS as CP } from '../../lib/config.js'
import type { ProtocolError } from '../../lib/errors.js'
import { encodeAuthenticatorRequests } from '../../lib/wire/h2/authenticator-requests-frame.js'
import { fakeExporter } from '../../interop/support/fake-exporter.js'
import { loadCredential } from '../../lib/binding/credentials.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { testPki } from '../support/pki.js'

/** What the driver needs of an interposer, recording sends, GOAWAYs and destroys. */
class FakeInterposer extends EventEmitter {
  readonly sent: { type: number; streamId: number; payload: Uint8Array }[] = []
  readonly goaways: number[] = []
  destroyedWith: (Error | null)[] = []
  peerMaxFrameSize = 16384
  sendExtensionFrame(type: number, _flags: number, streamId: number, payload: Uint8Array): void {
    if (this.goaways.length > 0) throw Object.assign(new Error('closing'), { code: 'ERR_SC_CLOSED' })
    this.sent.push({ type, streamId, payload: new Uint8Array(payload) })
  }
  goaway(code: number): void {
    this.goaways.push(code)
  }
  destroy(error?: Error): void {
    this.destroyedWith.push(error ?? null)
  }
}

const settings: [number, number][] = [
  [CP.settingClientCertAuth, 2],
  [CP.settingServerCertAuth, 1],
]

describe('binding/session-driver', () => {
  let pki: TestPki
  before(async () => {
    pki = await testPki('p256')
  })

  function server(exporter = fakeExporter()) {
    const fake = new FakeInterposer()
    const ea = new ExportedAuthenticators({ role: 'server', exporter, hash: 'sha384' })
    const ctl = new ServerSessionCerts(ea, fake as unknown as FrameInterposer, resolveServerOptions({ requestTimeoutMs: 2000, serverCertAuth: true }))
    return { fake, ctl, exporter }
  }

  it('server: sends AUTHENTICATOR_REQUESTS once the client advertised the setting', async () => {
    const { fake, ctl } = server()
    const outcome = ctl.requestIdentities([{ label: 'user' }], { timeoutMs: 500 })
    outcome.catch(() => {})
    expect(fake.sent).to.deep.equal([])
    fake.emit('peerSettings', settings)
    expect(fake.sent.map((f) => f.type)).to.deep.equal([CP.frameAuthenticatorRequests])
    expect(fake.peerMaxFrameSize).to.equal(16384)
  })

  it('server: a violation writes GOAWAY with its code, fails the held request with the ProtocolError, emits once, ends the connection', async () => {
    const { fake, ctl } = server()
    fake.emit('peerSettings', settings)
    const outcome = ctl.requestIdentities([{ label: 'user' }])
    const violations: ProtocolError[] = []
    const closes: Error[] = []
    ctl.on('violation', (e) => violations.push(e))
    ctl.on('close', (e) => closes.push(e))
    fake.emit('extensionFrame', { type: CP.frameAuthenticatorRequests, flags: 0, streamId: 0, payload: new Uint8Array([1, 0]) })
    const e = await outcome.then(
      () => undefined,
      (x: ProtocolError) => x,
    )
    expect(e?.code).to.equal('ERR_SC_PROTOCOL')
    expect(e?.violation).to.equal('authenticator-requests-at-server')
    expect(fake.goaways).to.deep.equal([0x1])
    expect(fake.destroyedWith).to.deep.equal([null]) // server: no error event on the session
    expect(violations).to.deep.equal([e])
    expect(closes).to.deep.equal([e])
    expect(ctl.closedError).to.equal(e)
    // Later input changes nothing: no second GOAWAY, no second event.
    fake.emit('extensionFrame', { type: CP.frameAuthenticatorRequests, flags: 0, streamId: 0, payload: new Uint8Array([1, 0]) })
    expect(fake.goaways).to.deep.equal([0x1])
    expect(violations).to.have.length(1)
    await ctl.requestIdentities([{ label: 'x' }]).then(
      () => expect.fail('resolved after close'),
      (x: Error) => expect(x).to.equal(e),
    )
  })

  it('server: an oversized frame is judged from its header (type, stream, negotiation)', () => {
    const { fake, ctl } = server()
    const violations: ProtocolError[] = []
    ctl.on('violation', (e) => violations.push(e))
    fake.emit('extensionFrameTooLarge', { type: CP.frameClientCertificate, flags: 0, streamId: 0, length: 70000 })
    expect(violations.map((v) => v.violation)).to.deep.equal(['frame-before-negotiation'])
    expect(fake.goaways).to.deep.equal([0x1])
  })

  it('server: frames of other types are ignored; the interposer closing fails waiters with ERR_SC_CLOSED', async () => {
    const { fake, ctl } = server()
    fake.emit('peerSettings', settings)
    fake.emit('extensionFrame', { type: 0x0c, flags: 0, streamId: 0, payload: new Uint8Array(3) })
    expect(fake.goaways).to.deep.equal([])
    const outcome = ctl.requestIdentities([{ label: 'user' }])
    fake.emit('close')
    const e = await outcome.then(
      () => undefined,
      (x: Error & { code?: string }) => x,
    )
    expect(e?.code).to.equal('ERR_SC_CLOSED')
    expect(fake.goaways).to.deep.equal([])
  })

  it("server: a peer's non-zero GOAWAY after our SERVER_CERTIFICATE is a remote violation; NO_ERROR is not", () => {
    const { fake, ctl } = server()
    const violations: ProtocolError[] = []
    ctl.on('violation', (e) => violations.push(e))
    fake.emit('peerGoaway', { lastStreamId: 0, errorCode: 0x1 })
    expect(violations, 'nothing of ours was sent yet').to.deep.equal([])
    fake.emit('peerSettings', settings)
    ctl.sendServerCertificate(loadCredential({ cert: pki.origin2.chainPem, key: pki.origin2.keyPem }, nodeCrypto, 'origin2'))
    expect(fake.sent.map((f) => f.type)).to.deep.equal([CP.frameServerCertificate])
    fake.emit('peerGoaway', { lastStreamId: 0, errorCode: 0 })
    expect(violations).to.deep.equal([])
    fake.emit('peerGoaway', { lastStreamId: 0, errorCode: CP.errorServerCertificateInvalid })
    expect(violations.map((v) => [v.violation, v.remote, v.http2Code])).to.deep.equal([['server-authenticator-invalid', true, CP.errorServerCertificateInvalid]])
    expect(fake.goaways, 'no GOAWAY of ours answers a GOAWAY').to.deep.equal([])
  })

  it('server: a send the interposer refuses becomes a sendError, the session stays up', () => {
    const { fake, ctl } = server()
    fake.emit('peerSettings', settings)
    fake.goaways.push(0) // make the fake refuse sends
    const errors: unknown[] = []
    ctl.on('sendError', (e) => errors.push(e))
    ctl.requestIdentities([{ label: 'user' }], { timeoutMs: 50 }).catch(() => {})
    expect(errors).to.have.length(1)
    expect(ctl.isClosed).to.equal(false)
  })

  it('client: frames that arrive before the handshake finished wait and are handled in order once it did', async () => {
    const fake = new FakeInterposer()
    const resolved = resolveClientOptions({ credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }] })
    const ctl = new ClientSessionCerts(fake as unknown as FrameInterposer, resolved)
    const exporter = fakeExporter()
    const serverEa = new ExportedAuthenticators({ role: 'server', exporter, hash: 'sha384' })
    fake.emit('peerSettings', [[CP.settingClientCertAuth, 1], [CP.settingServerCertAuth, 1]])
    fake.emit('extensionFrame', { type: CP.frameAuthenticatorRequests, flags: 0, streamId: 0, payload: encodeAuthenticatorRequests([serverEa.request()]) })
    expect(fake.sent).to.deep.equal([])
    // What start() does with a TLS socket's exporter, with the fake one instead.
    ctl.begin(new ExportedAuthenticators({ role: 'client', exporter, hash: 'sha384' }))
    await new Promise((r) => setTimeout(r, 50))
    expect(fake.sent.map((f) => f.type)).to.deep.equal([CP.frameClientCertificate])
    expect(ctl.answers.map((a) => a.label)).to.deep.equal(['user'])
  })

  it('client: a violation destroys the interposer and the facade with the ProtocolError, after our GOAWAY', () => {
    const fake = new FakeInterposer()
    const ctl = new ClientSessionCerts(fake as unknown as FrameInterposer, resolveClientOptions({}))
    const facade = new FakeInterposer()
    ctl.bindFacade(facade as unknown as import('node:net').Socket)
    ;(ctl as unknown as { setState(s: unknown): void }).setState({
      negotiation: { peerMaxFrameSize: 16384 },
      onPeerSettings: () => [],
      onFrame: () => [{ kind: 'goaway', error: Object.assign(new Error('x'), { code: 'ERR_SC_PROTOCOL', violation: 'authenticator-requests-on-stream', http2Code: 1, remote: false }) }],
      onFrameTooLarge: () => [],
    })
    fake.emit('extensionFrame', { type: CP.frameAuthenticatorRequests, flags: 0, streamId: 3, payload: new Uint8Array(0) })
    expect(fake.goaways).to.deep.equal([1])
    expect(fake.destroyedWith.map((e) => (e as { violation?: string } | null)?.violation)).to.deep.equal(['authenticator-requests-on-stream'])
    expect(facade.destroyedWith.map((e) => (e as { violation?: string } | null)?.violation)).to.deep.equal(['authenticator-requests-on-stream'])
  })
})

