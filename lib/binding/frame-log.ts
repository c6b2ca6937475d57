/** One extension frame as seen by a session (for diagnostics, the demo and tests). */
export interface FrameLogEntry {
  readonly dir: 'in' | 'out'
  readonly type: number
  readonly bytes: number
  readonly at: number
}
