import diagnostics from 'node:diagnostics_channel'

/**
 * Diagnostics channels `secondary-certs:<area>` (STYLE §3). Subscribe with
 * `diagnostics_channel.subscribe('secondary-certs:frame', fn)`. Messages never carry key
 * material, exporter output or Finished values.
 */
export const channels: Readonly<Record<'frame' | 'violation' | 'error' | 'identity', diagnostics.Channel>> = {
  frame: diagnostics.channel('secondary-certs:frame'),
  violation: diagnostics.channel('secondary-certs:violation'),
  error: diagnostics.channel('secondary-certs:error'),
  identity: diagnostics.channel('secondary-certs:identity'),
}

/** Publishes when someone listens. */
export function publish(area: keyof typeof channels, message: object): void {
  const ch = channels[area]
  if (ch.hasSubscribers) ch.publish(message)
}
