/** BOLT 11 invoice codec: decode (with signature check) and encode (sign). Runtime-free. */
export { decodeInvoice, MAX_INVOICE_LENGTH } from "./decode";
export { encodeInvoice } from "./encode";
export { InvalidInvoiceError } from "./errors";
export { DEFAULT_INVOICE_FEATURES } from "./features";
export { DEFAULT_EXPIRY_S, DEFAULT_MIN_FINAL_CLTV_EXPIRY } from "./tagged-fields";
export type { DecodedInvoice, FallbackAddress, InvoiceFields, Network, RouteHint, RouteHintHop } from "./types";
