/**
 * How long a request whose client fell behind waits, once its socket drains, before it takes its
 * slots back. A client that reads frees megabytes of socket buffer between two lags and resumes at
 * once. One that does not read, but whose socket still takes a little now and then (the kernel
 * compacting its buffers), would be resumed, recomputed and paused again after every such trickle:
 * each resume after which its socket took less than `progressBytes` before it lagged again doubles
 * its wait, up to `maxMs`; a resume followed by real progress resets it. (A slow reader that is
 * kept waiting has emptied its buffers meanwhile, so its next resume shows progress.)
 */
export class LagBackoff {
  private shortResumes = 0;

  constructor(
    private readonly progressBytes = 1 << 20,
    private readonly baseMs = 250,
    private readonly maxMs = 30_000,
  ) {}

  /**
   * The request lags; `bytesSinceResume` is what its socket took since it last resumed (undefined
   * on its first lag). Returns how long to wait after the socket drains, in ms.
   */
  onLag(bytesSinceResume: number | undefined): number {
    if (bytesSinceResume === undefined || bytesSinceResume >= this.progressBytes) {
      this.shortResumes = 0;
      return 0;
    }
    this.shortResumes++;
    return Math.min(this.maxMs, this.baseMs * 2 ** (this.shortResumes - 1));
  }
}
