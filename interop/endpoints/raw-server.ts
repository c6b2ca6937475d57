/**
 * Interop endpoint: the raw-frame server (lib/conformance/raw-peer.ts). On the first connection it
 * waits for the client's SETTINGS, then misbehaves as the scenario says and reports the GOAWAY
 * code it got back.
 */
import { loadCredential } from '../../lib/binding/credentials.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { Ext, encodeRequestList, extensionSettings, listenRaw } from '../../lib/conformance/raw-peer.js'
import type { RawPeer } from '../../lib/conformance/raw-peer.js'
import { scenarioByName } from '../scenarios.js'
import { log, pki, scenarioName, serverResult, unsupported } from './common.js'

const sc = scenarioByName(scenarioName)
if (!sc) unsupported(`unknown scenario ${scenarioName}`)
if (sc.expect?.detector !== 'client') unsupported('the raw server plays client-detected error paths only')
const A = pki('p256')
const origin2 = loadCredential({ cert: A.origin2, key: A.origin2Key }, nodeCrypto, 'origin2')

function corruptSignature(auth: Uint8Array): Uint8Array {
  const out = new Uint8Array(auth)
  const certLen = (out[1]! << 16) | (out[2]! << 8) | out[3]!
  out[4 + certLen + 10] = out[4 + certLen + 10]! ^ 1
  return out
}

async function misbehave(p: RawPeer): Promise<void> {
  await p.waitForSettings(5000)
  const ea = p.ea()
  switch (sc!.name) {
    case 'err-requests-on-stream':
      p.sendFrame(Ext.AUTHENTICATOR_REQUESTS, 0, 1, encodeRequestList([ea.request()]))
      break
    case 'err-requests-empty':
      p.sendFrame(Ext.AUTHENTICATOR_REQUESTS, 0, 0)
      break
    case 'err-requests-malformed': {
      const r = ea.request()
      p.sendFrame(Ext.AUTHENTICATOR_REQUESTS, 0, 0, encodeRequestList([r]).subarray(0, r.length - 3))
      break
    }
    case 'err-too-many-outstanding': {
      const n = p.settings.get(Ext.SETTINGS_HTTP_CLIENT_CERT_AUTH) ?? 1
      p.sendFrame(Ext.AUTHENTICATOR_REQUESTS, 0, 0, encodeRequestList(Array.from({ length: n + 1 }, () => ea.request())))
      break
    }
    case 'err-invalid-server-certificate':
      p.sendFrame(Ext.SERVER_CERTIFICATE, 0, 0, corruptSignature(ea.authenticate({ credential: origin2 })))
      break
    case 'err-replayed-server-certificate': {
      const auth = ea.authenticate({ credential: origin2 })
      p.sendFrame(Ext.SERVER_CERTIFICATE, 0, 0, auth)
      p.sendFrame(Ext.SERVER_CERTIFICATE, 0, 0, auth)
      break
    }
    case 'err-client-certificate-from-server':
      p.sendFrame(Ext.CLIENT_CERTIFICATE, 0, 0, new Uint8Array(52))
      break
  }
  const g = await p.waitForGoaway(5000)
  serverResult(g.code === sc!.expect!.code, `GOAWAY code 0x${g.code.toString(16)}`)
}

const server = await listenRaw({
  key: A.serverKey,
  cert: A.server,
  settings: extensionSettings(1),
  onPeer: (p) => {
    misbehave(p).catch((e: unknown) => serverResult(false, (e as Error).message))
  },
})
log(`listening ${server.port}`)
process.on('SIGTERM', () => process.exit(0))
