// LND REST client: the only module other code should import from.
export { createLndClient, LndRestClient, type LndClientConfig, type WaitOptions } from "./client";
export { GrpcCode, LndError, LndUnreachableError, type UnreachableReason } from "./errors";
export { isFinalPayment } from "./payment-outcome";
export type { CallOptions, FetchLike, StreamOptions } from "./transport";
export * from "./types";
