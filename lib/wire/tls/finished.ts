import { encodeHandshake, HandshakeType, openHandshake } from './handshake.js'

/**
 * RFC 9261 §5.2.3 (layout of RFC 8446 §4.4.4), handshake type 20:
 *   struct { opaque verify_data[Hash.length]; } Finished;
 * The length is the authenticator hash's; the decoder takes whatever the header says and the
 * validator compares it with the expected length.
 */
export interface Finished {
  readonly verifyData: Uint8Array
}

/** @throws DecodeError (`ERR_SC_DECODE`) */
export function decodeFinished(bytes: Uint8Array): Finished {
  const { body } = openHandshake(bytes, [HandshakeType.finished], 'Finished')
  return { verifyData: body.take(body.remaining) }
}

export function encodeFinished(value: Finished): Uint8Array {
  return encodeHandshake(HandshakeType.finished, value.verifyData)
}
