import type { Codepoints } from '../config.js'

import { SETTINGS_MAX_FRAME_SIZE } from '../wire/h2/settings.js'
import type { SettingsEntry } from '../wire/h2/settings.js'

export { SETTINGS_MAX_FRAME_SIZE }

/** The header of an extension frame too large to buffer (RFC 9113 §4.1 fields). */
export interface OversizedFrame {
  readonly type: number
  readonly streamId: number
  /** Payload length announced in the header. */
  readonly length: number
}

/**
 * Negotiation of the extension through SETTINGS (SERVER -02 §3.1, §4.1; CLIENT -00 §3.1):
 * nothing of a flow may be used until both endpoints sent and received a non-zero value.
 * Going back to 0 is forbidden; we ignore such a change (the feature stays on, digest §1.2).
 */
export class Negotiation {
  readonly codepoints: Codepoints
  /** What we advertise: client cert auth (client: N credentials; server: 1) and server cert auth. */
  readonly localClientCertAuth: number
  readonly localServerCertAuth: number
  private peerClientCertAuthValue = 0
  private peerServerCertAuthValue = 0
  private peerMaxFrameSizeValue = 16384
  private peerSettingsSeen = false

  constructor(codepoints: Codepoints, localClientCertAuth: number, localServerCertAuth: number) {
    this.codepoints = codepoints
    this.localClientCertAuth = localClientCertAuth
    this.localServerCertAuth = localServerCertAuth
  }

  /** Applies one SETTINGS frame of the peer (identifier/value pairs in wire order). */
  onPeerSettings(entries: Iterable<SettingsEntry>): void {
    this.peerSettingsSeen = true
    for (const [id, value] of entries) {
      if (id === this.codepoints.settingClientCertAuth) {
        if (value > 0 || this.peerClientCertAuthValue === 0) this.peerClientCertAuthValue = value
      } else if (id === this.codepoints.settingServerCertAuth) {
        if (value > 0 || this.peerServerCertAuthValue === 0) this.peerServerCertAuthValue = value
      } else if (id === SETTINGS_MAX_FRAME_SIZE) {
        this.peerMaxFrameSizeValue = value
      }
    }
  }

  get hasPeerSettings(): boolean {
    return this.peerSettingsSeen
  }

  /** The peer's SETTINGS_HTTP_CLIENT_CERT_AUTH (client: N; server: 1). */
  get peerClientCertAuth(): number {
    return this.peerClientCertAuthValue
  }

  get peerServerCertAuth(): number {
    return this.peerServerCertAuthValue
  }

  get peerMaxFrameSize(): number {
    return this.peerMaxFrameSizeValue
  }

  /** Both advertised SETTINGS_HTTP_CLIENT_CERT_AUTH. */
  get isClientCertAuthActive(): boolean {
    return this.localClientCertAuth > 0 && this.peerClientCertAuthValue > 0
  }

  /** Both advertised SETTINGS_HTTP_SERVER_CERT_AUTH. */
  get isServerCertAuthActive(): boolean {
    return this.localServerCertAuth > 0 && this.peerServerCertAuthValue > 0
  }
}
