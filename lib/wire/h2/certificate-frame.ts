import { DecodeError, UsageError } from '../../errors.js'
import { FRAME_HEADER_BYTES, MAX_FRAME_LENGTH, writeFrameHeader } from './frame-header.js'

/**
 * Payload of SERVER_CERTIFICATE (SERVER -02 §5.1; `CERTIFICATE` in -00/-01) and of the
 * client-sent CERTIFICATE frame (CLIENT -00 §4.2; our separate CLIENT_CERTIFICATE codepoint in
 * split mode, digest §2.3):
 *   SERVER_CERTIFICATE Frame {
 *     Length (24), Type (8) = 0xTBD, Unused Flags (8), Reserved (1),
 *     Stream Identifier (31) = 0,
 *     Authenticator (..),
 *   }
 * One frame carries exactly one authenticator (SERVER -02 §5: no fragmentation; digest §4). The
 * authenticator is opaque here; `wire/tls/authenticator.ts` decodes it.
 *
 * @returns the authenticator bytes (a view into `payload`, no copy).
 * @throws DecodeError (`ERR_SC_DECODE`, structure `CERTIFICATE frame`) on an empty payload: every
 *   authenticator holds at least a Finished message (RFC 9261 §5.2.3).
 */
export function decodeCertificateFrame(payload: Uint8Array): Uint8Array {
  if (payload.length === 0) throw new DecodeError('CERTIFICATE frame', 0, 'empty payload: an authenticator is required')
  return payload
}

/**
 * The CERTIFICATE / SERVER_CERTIFICATE payload for one authenticator (the bytes themselves).
 * @throws UsageError (`ERR_SC_USAGE`) for an empty authenticator byte string.
 */
export function encodeCertificateFrame(authenticator: Uint8Array): Uint8Array {
  if (authenticator.length === 0) throw new UsageError('an authenticator cannot be empty')
  return authenticator
}

/**
 * A whole extension frame, 9-byte header (RFC 9113 §4.1) followed by `payload`, in one buffer.
 * Every frame of the drafts uses stream 0 and defines no flags (digest §2), hence the defaults.
 * @throws UsageError (`ERR_SC_USAGE`) when `type`, `flags` or `streamId` is out of range or the
 *   payload exceeds 2^24-1 bytes. The peer's SETTINGS_MAX_FRAME_SIZE is the sender's check.
 */
export function encodeExtensionFrame(type: number, payload: Uint8Array, streamId = 0, flags = 0): Uint8Array {
  if (payload.length > MAX_FRAME_LENGTH) throw new UsageError(`frame payload of ${payload.length} bytes exceeds 2^24-1`)
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length)
  writeFrameHeader(out, 0, { length: payload.length, type, flags, streamId })
  out.set(payload, FRAME_HEADER_BYTES)
  return out
}
