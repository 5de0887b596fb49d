/**
 * Count, sum, min, max, mean and variance of a stream of numbers in constant memory (Welford's
 * update, numerically stable): what a flow keeps per statistic instead of every packet's value.
 */
export class RunningStats {
  n = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  private mean_ = 0;
  private m2 = 0;

  add(x: number): void {
    this.n++;
    this.sum += x;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    const d = x - this.mean_;
    this.mean_ += d / this.n;
    this.m2 += d * (x - this.mean_);
  }

  /** The mean; 0 when empty. */
  mean(): number {
    return this.n === 0 ? 0 : this.mean_;
  }

  /** Sample variance (n − 1 denominator, as Apache Commons Math's, which CICFlowMeter uses); 0 below two values. */
  sampleVariance(): number {
    return this.n < 2 ? 0 : this.m2 / (this.n - 1);
  }

  /** Population variance (n denominator, numpy.var's default); 0 when empty. */
  populationVariance(): number {
    return this.n === 0 ? 0 : this.m2 / this.n;
  }

  /** min, or 0 when empty. */
  minOr0(): number {
    return this.n === 0 ? 0 : this.min;
  }

  /** max, or 0 when empty. */
  maxOr0(): number {
    return this.n === 0 ? 0 : this.max;
  }
}
