import { ApiError, isRefusal, type Refusal } from "../../src/errors";
import { isUsername } from "../../src/identifiers";
import {
  addressUrl,
  callbackInvoiceProblem,
  callbackUrl,
  COMMENT_ALLOWED,
  commentLength,
  decodeLnurl,
  descriptionHash,
  isBech32Lnurl,
  LNURL_RESPONSE_MAX_BYTES,
  LnurlFormatError,
  MAX_SENDABLE_MSAT,
  metadataText,
  MIN_SENDABLE_MSAT,
  outsideUrlProblem,
  parseLightningAddress,
  payRequestMetadata,
  payRequestProblem,
  PayRequest,
  PayRequestInvoice,
  readLnurlAnswer,
  usernameOfWellKnownPath,
  type LnurlPayBody,
} from "../../src/lnurl";
import { satToMsat, type Msat } from "../../src/money";
import { selfPaymentRefusal } from "../../src/payment-rules";
import type { ApiAnswer, Invoice, LightningPayment } from "../../src/wallet-types";
import type { IdempotencyTag } from "../../durable/ports";
import { usernameActor, walletActor, type Env } from "../env";
import { throwRefusal } from "../errors";
import { createInvoice, decodeOrRefuse, payInvoice } from "./lightning";

/**
 * LNURL-pay for both sides (decision 0008): the hub's users as payees (their payRequest, the
 * invoices its callback issues, LUD-21 verification) and paying a Lightning Address or LNURL —
 * one of this hub's inside the hub, any other after checking what its server answers.
 */

/** How long paying an outside LNURL may spend on that server (both requests together). */
export const OUTSIDE_TIMEOUT_MS = 10_000;

/** Where a request reached the hub: the host names its users' addresses, development allows loopback servers. */
export interface Here {
  /** Host (and port) of the request URL. */
  host: string;
  development: boolean;
}

/** A hub user as an LNURL-pay payee, under one host. */
export interface Payee {
  /** Lower-cased, as in their address. */
  username: string;
  wallet_id: string;
  /** The payRequest's metadata: the exact string their invoices commit to. */
  metadata: string;
}

/** The user behind a name on this hub, or `unknown_recipient`. */
export async function hubPayee(env: Env, username: string, host: string): Promise<Payee> {
  const profile = isUsername(username) ? await usernameActor(env, username).profile() : null;
  if (!profile) throw new ApiError("unknown_recipient", `no user ${JSON.stringify(username.slice(0, 64))} on this hub`);
  return { username: profile.username.toLowerCase(), wallet_id: profile.wallet_id, metadata: payRequestMetadata(profile.username, host) };
}

/** A payee's payRequest (LUD-06, LUD-12, LUD-16); its callback lives under `origin`. */
export function payRequestOf(payee: Payee, origin: string): PayRequest {
  return {
    tag: "payRequest",
    callback: `${origin}/lnurlp/${payee.username}/callback`,
    minSendable: MIN_SENDABLE_MSAT,
    maxSendable: MAX_SENDABLE_MSAT,
    metadata: payee.metadata,
    commentAllowed: COMMENT_ALLOWED,
  };
}

/** The LUD-21 URL of one of a payee's LNURL invoices. */
export const verifyUrl = (payee: Payee, origin: string, payment_hash: string) => `${origin}/lnurlp/${payee.username}/verify/${payment_hash}`;

/**
 * The invoice the callback issues: exactly `amount_msat`, committed to the payee's metadata
 * (description hash), the payer's comment kept with it. The same for a payer inside the hub.
 */
export async function issueInvoice(env: Env, payee: Payee, amount_msat: Msat, comment: string | undefined): Promise<Invoice> {
  if (!Number.isSafeInteger(amount_msat) || amount_msat < MIN_SENDABLE_MSAT || amount_msat > MAX_SENDABLE_MSAT) {
    throw new ApiError("invalid_request", `amount must be ${MIN_SENDABLE_MSAT} to ${MAX_SENDABLE_MSAT} msat`);
  }
  if (comment !== undefined && commentLength(comment) > COMMENT_ALLOWED) {
    throw new ApiError("invalid_request", `comment is limited to ${COMMENT_ALLOWED} characters`);
  }
  const created = await createInvoice(env, payee.wallet_id, {
    amount_msat,
    memo: metadataText(payee.metadata),
    description_hash: descriptionHash(payee.metadata),
    comment: comment || null,
  });
  if (isRefusal(created)) throwRefusal(created);
  return created.body;
}

/** LUD-21: one of the payee's LNURL invoices (committed to their metadata here), or null. */
export async function verification(env: Env, payee: Payee, payment_hash: string): Promise<{ settled: boolean; preimage: string | null; pr: string } | null> {
  const found = await walletActor(env, payee.wallet_id).verifyInvoice(payment_hash);
  // Only invoices issued for this address answer: others of the wallet are none of a payer's business.
  if (!found || decodeOrRefuse(found.pr).description_hash !== descriptionHash(payee.metadata)) return null;
  return found;
}

// ── Paying a Lightning Address or LNURL ────────────────────────────────────

type Destination = { local: true; username: string } | { local: false; url: URL };

const refuse = (message: string): never => {
  throw new ApiError("invalid_request", message);
};

/** Where a destination's payRequest is: this hub (by the request's host) or a URL the hub may fetch. */
export function resolveDestination(destination: string, here: Here): Destination {
  const host = here.host.toLowerCase();
  if (isBech32Lnurl(destination)) {
    let url: URL;
    try {
      url = decodeLnurl(destination);
    } catch (error) {
      if (error instanceof LnurlFormatError) return refuse(`destination: ${error.message}`);
      throw error;
    }
    if (url.host.toLowerCase() === host) {
      const username = usernameOfWellKnownPath(url.pathname);
      return username ? { local: true, username } : refuse(`destination: this hub serves LNURL-pay at /.well-known/lnurlp/{username}, not ${url.pathname.slice(0, 100)}`);
    }
    const problem = outsideUrlProblem(url, here.development);
    return problem ? refuse(`destination: ${problem}`) : { local: false, url };
  }
  const address = parseLightningAddress(destination.trim());
  if (!address) return refuse("destination: not a Lightning Address (user@host) or an LNURL (lnurl1…)");
  if (address.domain === host) return { local: true, username: address.username };
  // Development may pay a local LNURL server over plain http; outsideUrlProblem allows nothing else.
  const loopback = /^(localhost|127\.0\.0\.1)(:\d+)?$/.test(address.domain);
  const url = addressUrl(address, here.development && loopback ? "http" : "https");
  const problem = outsideUrlProblem(url, here.development);
  return problem ? refuse(`destination: ${problem}`) : { local: false, url };
}

/**
 * Pays a Lightning Address or LNURL from the payer's wallet and answers as
 * `POST /v1/payments/lightning` does. `idempotency` comes from the caller's request, not from
 * the invoice: a replay is answered by the wallet from what it stored (decision 0008).
 */
export async function payLnurl(env: Env, here: Here, payerWalletId: string, body: LnurlPayBody, idempotency: IdempotencyTag): Promise<ApiAnswer<LightningPayment> | Refusal> {
  // A replay is answered from what the wallet stored, before anyone is asked for a new invoice.
  const stored = await walletActor(env, payerWalletId).storedAnswer(idempotency);
  if (stored) return stored as ApiAnswer<LightningPayment> | Refusal;
  const amount_msat = satToMsat(body.amount_sat);
  const destination = resolveDestination(body.destination, here);
  let payment_request: string;
  if (destination.local) {
    // One of ours: the invoice its callback would issue, created directly; paid inside the hub.
    const payee = await hubPayee(env, destination.username, here.host);
    const self = selfPaymentRefusal(payerWalletId, payee.wallet_id);
    if (self) return self;
    payment_request = (await issueInvoice(env, payee, amount_msat, body.comment)).payment_request;
  } else {
    payment_request = await invoiceFromOutside(destination.url, amount_msat, body.comment, here.development);
  }
  return payInvoice(env, payerWalletId, { payment_request }, idempotency);
}

/**
 * Asks another LNURL server for an invoice and checks it before anything is paid: its payRequest
 * (tag, bounds, comment), then the invoice (exactly the amount, committed to the metadata).
 * Network, expiry and the amount bound are checked by `payInvoice`, also before paying.
 */
async function invoiceFromOutside(url: URL, amount_msat: Msat, comment: string | undefined, development: boolean): Promise<string> {
  const signal = AbortSignal.timeout(OUTSIDE_TIMEOUT_MS);
  const server = `the LNURL server at ${url.host}`;
  const payRequest = readLnurlAnswer(await getJson(url, signal, server), PayRequest);
  if (!payRequest.ok) return refuse(`${server}: ${payRequest.reason}`);
  const callback = new URL(payRequest.value.callback);
  const callbackProblem = outsideUrlProblem(callback, development);
  if (callbackProblem) return refuse(`${server}: callback: ${callbackProblem}`);
  const unfit = payRequestProblem(payRequest.value, amount_msat, comment);
  if (unfit) return refuse(unfit);

  const answer = readLnurlAnswer(await getJson(callbackUrl(payRequest.value.callback, amount_msat, comment), signal, server), PayRequestInvoice);
  if (!answer.ok) return refuse(`${server}: ${answer.reason}`);
  const problem = callbackInvoiceProblem(decodeOrRefuse(answer.value.pr), amount_msat, payRequest.value.metadata);
  if (problem) throw new ApiError("invalid_payment_request", `${server}: ${problem}`);
  return answer.value.pr;
}

/** One GET to an LNURL server: no redirects followed, bounded in time and size, JSON or a refusal. */
async function getJson(url: URL, signal: AbortSignal, server: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url.toString(), { method: "GET", headers: { accept: "application/json" }, redirect: "manual", signal });
  } catch {
    return refuse(`${server} could not be reached${signal.aborted ? ` within ${OUTSIDE_TIMEOUT_MS / 1000} s` : ""}`);
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    return refuse(`${server} answered with a redirect (HTTP ${res.status}); the hub does not follow redirects`);
  }
  const text = await readBounded(res, signal, server);
  try {
    return JSON.parse(text);
  } catch {
    return refuse(`${server} did not answer JSON (HTTP ${res.status})`);
  }
}

async function readBounded(res: Response, signal: AbortSignal, server: string): Promise<string> {
  const tooLarge = () => refuse(`${server} answered more than ${LNURL_RESPONSE_MAX_BYTES} bytes`);
  if (Number(res.headers.get("content-length") ?? 0) > LNURL_RESPONSE_MAX_BYTES) {
    await res.body?.cancel();
    return tooLarge();
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  // The deadline bounds the body too, whether or not the runtime ends it with the fetch's signal.
  const deadline = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  deadline.catch(() => {}); // only raced: a deadline after the body is read is nobody's error
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), deadline]);
      if (done) break;
      size += value.byteLength;
      if (size > LNURL_RESPONSE_MAX_BYTES) {
        await reader.cancel();
        return tooLarge();
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    await reader.cancel().catch(() => {});
    return refuse(`${server} stopped answering${signal.aborted ? ` within ${OUTSIDE_TIMEOUT_MS / 1000} s` : ""}`);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
