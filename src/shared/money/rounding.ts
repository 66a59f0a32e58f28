/**
 * `n / d` rounded to the nearest integer, halves away from zero (2.5 → 3, −2.5 → −3), for any signs.
 * BigInt division truncates toward zero, so the remainder carries the sign of `n`.
 */
export function divRoundHalfAwayFromZero(n: bigint, d: bigint): bigint {
  if (d === 0n) throw new RangeError('division by zero')
  const quotient = n / d
  const remainder = n % d
  if (2n * abs(remainder) < abs(d)) return quotient
  const awayFromZero = n < 0n === d < 0n ? 1n : -1n
  return quotient + awayFromZero
}

export function abs(n: bigint): bigint {
  return n < 0n ? -n : n
}
