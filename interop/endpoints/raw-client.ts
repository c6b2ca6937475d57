/**
 * Interop endpoint: the raw-frame client (lib/conformance/raw-peer.ts) — hand-built frames over
 * TLS 1.3 against a server, for the server-detected error paths and a plain request.
 */
import { loadCredential } from '../../lib/binding/credentials.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { Ext, SETTINGS_MAX_FRAME_SIZE, connectRaw, decodeRequestList, encodeRequestList, extensionSettings, responseStatus } from '../../lib/conformance/raw-peer.js'
import type { RawPeer } from '../../lib/conformance/raw-peer.js'
import { scenarioByName } from '../scenarios.js'
import { finish, pki, port, scenarioName, unsupported } from './common.js'

const sc = scenarioByName(scenarioName)
if (!sc) unsupported(`unknown scenario ${scenarioName}`)
if (sc.name !== 'plain-request' && sc.expect?.detector !== 'server') unsupported('the raw client plays server-detected error paths and a plain request')
const A = pki('p256')

function corruptSignature(auth: Uint8Array): Uint8Array {
  const out = new Uint8Array(auth)
  const certLen = (out[1]! << 16) | (out[2]! << 8) | out[3]!
  out[4 + certLen + 10] = out[4 + certLen + 10]! ^ 1
  return out
}

async function askTwo(p: RawPeer): Promise<Uint8Array[]> {
  p.sendGet(1, '/ask2')
  const f = await p.waitFor((x) => x.type === Ext.AUTHENTICATOR_REQUESTS, 5000, 'AUTHENTICATOR_REQUESTS')
  const list = decodeRequestList(f.payload)
  for (const r of list) p.ea().receiveRequest(r)
  return list
}

async function main(): Promise<never> {
  const name = sc!.name
  const p = await connectRaw({ port, ca: A.ca, settings: name === 'err-before-negotiation' ? [[Ext.SETTINGS_HTTP_SERVER_CERT_AUTH, 1]] : extensionSettings(2) })
  await p.waitForSettings()
  if (name === 'plain-request') {
    p.sendGet(1, '/')
    const h = await p.waitForHeaders(1)
    finish(responseStatus(h) === 200, `status ${String(responseStatus(h))}`)
  }
  const cred = loadCredential({ cert: A.user, key: A.userKey }, nodeCrypto, 'user')
  switch (name) {
    case 'err-authenticator-requests-at-server':
      p.sendFrame(Ext.AUTHENTICATOR_REQUESTS, 0, 0, encodeRequestList([p.ea().request()]))
      break
    case 'err-unsolicited-client-certificate':
      p.sendFrame(Ext.CLIENT_CERTIFICATE, 0, 0, Buffer.concat([Buffer.from([0x14, 0, 0, 48]), Buffer.alloc(48)]))
      break
    case 'err-certificate-on-stream':
      p.sendFrame(Ext.CLIENT_CERTIFICATE, 0, 1, new Uint8Array(52))
      break
    case 'err-server-certificate-from-client':
      p.sendFrame(Ext.SERVER_CERTIFICATE, 0, 0, new Uint8Array(100))
      break
    case 'err-before-negotiation':
      p.sendFrame(Ext.CLIENT_CERTIFICATE, 0, 0, new Uint8Array(52))
      break
    case 'err-invalid-client-authenticator': {
      const [r1] = await askTwo(p)
      p.sendFrame(Ext.CLIENT_CERTIFICATE, 0, 0, corruptSignature(p.ea().authenticate({ request: r1!, credential: cred })))
      break
    }
    case 'err-replayed-client-authenticator': {
      const [r1] = await askTwo(p)
      const auth = p.ea().authenticate({ request: r1!, credential: cred })
      p.sendFrame(Ext.CLIENT_CERTIFICATE, 0, 0, auth)
      p.sendFrame(Ext.CLIENT_CERTIFICATE, 0, 0, auth)
      break
    }
    case 'err-frame-too-large':
      p.sendFrame(Ext.CLIENT_CERTIFICATE, 0, 0, new Uint8Array((p.settings.get(SETTINGS_MAX_FRAME_SIZE) ?? 16384) + 1))
      break
    default:
      unsupported(`raw client has no ${name}`)
  }
  const g = await p.waitForGoaway(5000)
  p.close()
  finish(g.code === sc!.expect!.code, `GOAWAY code 0x${g.code.toString(16)} (${g.debug})`)
}

main().catch((e: unknown) => finish(false, `error: ${(e as Error).message}`))
