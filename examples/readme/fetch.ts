/**
 * README "fetch (undici)": the five-line fetch snippet, verbatim between the markers (two
 * regions: the imports, then the body, joined). `origin` is the test's.
 */
import { caPem as ca, deviceChainPem, deviceKeyPem, userChainPem, userKeyPem } from './setup.js'
// README:begin fetch
import { fetch } from 'undici'
import { SecondaryCertsAgent } from '../../lib/index.js'
// README:end

/** Fetches `${origin}/whoami` as the README does; returns the status, body and the agent. */
export async function readmeFetch(origin: string): Promise<{ status: number; body: string; dispatcher: SecondaryCertsAgent }> {
  // README:begin fetch
  const dispatcher = new SecondaryCertsAgent({ ca, credentials: [
    { label: 'device', cert: deviceChainPem, key: deviceKeyPem },
    { label: 'user', cert: userChainPem, key: userKeyPem },
  ] })
  const res = await fetch(`${origin}/whoami`, { dispatcher })
  // README:end
  return { status: res.status, body: await res.text(), dispatcher }
}
