import { AppError } from '../errors.ts'

/**
 * A money or decimal input the API refuses. It is a `VALIDATION_ERROR` (400) whose one detail names
 * the offending field as a JSON pointer (`/items/3/unitPrice`), so callers can let it propagate.
 */
export class MoneyInputError extends AppError {
  override name = 'MoneyInputError'
  readonly path: string
  readonly reason: string

  constructor(path: string, reason: string) {
    super('VALIDATION_ERROR', path === '' ? reason : `${path} ${reason}`, {
      details: [{ path, message: reason }],
    })
    this.path = path
    this.reason = reason
  }
}

/** Not a decimal we accept: not finite, negative, malformed, too many fraction digits, out of range. */
export class InvalidDecimalError extends MoneyInputError {
  override name = 'InvalidDecimalError'
}

/** A money amount that is not a safe integer of minor units or is outside its allowed range. */
export class InvalidAmountError extends MoneyInputError {
  override name = 'InvalidAmountError'
}

/** Valid inputs whose computed amount would leave the range a JSON number holds exactly. */
export class MoneyOverflowError extends MoneyInputError {
  override name = 'MoneyOverflowError'
}
