/** Thrown by decodeInvoice for any payment request that is not a valid BOLT 11 invoice. */
export class InvalidInvoiceError extends Error {
  override readonly name = "InvalidInvoiceError";
  constructor(message: string) {
    super(message);
  }
}
