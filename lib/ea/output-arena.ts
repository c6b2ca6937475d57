/**
 * Output buffers for the authenticators of ONE connection (issue 14 item 4).
 *
 * On Node 20 a fresh `Uint8Array` of an authenticator's size (≈ 1.2 KB) costs 2.2–2.8 µs to
 * create and later collect (its ArrayBuffer backing store), more than the rest of authenticate's
 * own JavaScript; a view of a larger block costs 0.25–0.5 µs (measured with a 200 000-iteration
 * loop, slow and fast machine states). So a connection's outputs are views of blocks that only
 * this connection's authenticators share:
 *
 * - the first output of a connection is a buffer of its own (most connections authenticate once
 *   or twice, and then cost no extra memory);
 * - from the second on, outputs are cut from a block that doubles with each refill, from twice
 *   the output's size up to {@link BLOCK_MAX} bytes;
 * - outputs larger than {@link POOLED_MAX} bytes (ML-DSA chains) always get their own buffer.
 *
 * A view's `.buffer` therefore holds only authenticators of the same connection, which all go to
 * the same peer; never another connection's data, and never uninitialised memory (blocks are
 * zero-filled and each output is written in full before it is returned). Code that wants a
 * buffer of its own copies the view (`out.slice()`).
 */
export const POOLED_MAX = 4096
export const BLOCK_MAX = 16384

export class OutputArena {
  private block: Uint8Array | undefined
  private at = 0
  private nextBlock = 0

  /** `n` zero bytes for one output: a view of this connection's current block, or its own buffer. */
  alloc(n: number): Uint8Array {
    const b = this.block
    if (b !== undefined && b.length - this.at >= n) {
      const v = b.subarray(this.at, this.at + n)
      this.at += n
      return v
    }
    if (n > POOLED_MAX || this.nextBlock === 0) {
      // The first output of the connection (or a large one): exactly its size.
      if (this.nextBlock === 0) this.nextBlock = 2 * n
      return new Uint8Array(n)
    }
    const size = Math.min(BLOCK_MAX, Math.max(this.nextBlock, n))
    this.nextBlock = Math.min(BLOCK_MAX, size * 2)
    this.block = new Uint8Array(size)
    this.at = n
    return this.block.subarray(0, n)
  }
}
