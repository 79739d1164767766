import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { ApiError, isRefusal } from "../../src/errors";
import { constantTimeEqual } from "../../src/hash";
import { AccountIdOut, CountOut, MsatOut, SatOut, TimestampOut, hexOut } from "../../src/response-bounds";
import { addTotals, SOLVENCY_PUSH_DELAY_MS, SOLVENCY_SHARDS, solvencyReport } from "../../src/solvency";
import * as s from "../../src/schemas";
import { accountActor, isDevelopment, lightningNode, solvencyShard, walletActor, type AppEnv, type Env } from "../env";
import { errorResponses, jsonBody, jsonResponse, newRouter } from "../openapi";

/**
 * The operator's routes under /v1/admin/ (the contract's "Operations"): they take only the
 * `ADMIN_API_KEY` bearer, never an account's credential. Freezing and levels act in the account's
 * wallet, in the unit of work that checks its payments, and are audited there (docs/decisions/0016).
 */
export const admin = newRouter();

/** A configured admin key shorter than this is treated as none (the admin API stays shut). */
const MIN_ADMIN_KEY_LENGTH = 32;

const adminKeyOf = (env: Pick<Env, "ADMIN_API_KEY">): string | null => {
  const key = env.ADMIN_API_KEY?.trim();
  return key && key.length >= MIN_ADMIN_KEY_LENGTH ? key : null;
};

/** Only `Authorization: Bearer <ADMIN_API_KEY>`: anything else (an account's token or key too) is 401. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("Authorization");
  const presented = header?.startsWith("Bearer ") ? header.slice(7).trim() : "";
  const key = adminKeyOf(c.env);
  if (!key || !presented || !constantTimeEqual(presented, key)) throw new ApiError("unauthorized", "this needs the operator's ADMIN_API_KEY");
  await next();
});

export const adminSecurity = [{ AdminBearer: [] }];

const AccountParam = z.object({ account_id: z.string().regex(/^acc_[0-9a-f]{32}$/, "an account id (acc_ and 32 hex digits)").max(36) });
const FreezeBody = z.object({ reason: z.string().max(200).optional().openapi({ example: "chargeback under review" }) }).openapi("FreezeBody");
const Frozen = z.object({ account_id: AccountIdOut, frozen: z.boolean(), changed: z.boolean().openapi({ description: "false when it already was so (nothing audited)" }) }).openapi("AccountFrozen");
const LevelBody = z.object({ level: z.number().int().max(Number.MAX_SAFE_INTEGER).openapi({ description: "0, 1 or 2" }) }).openapi("LevelBody");
const Level = s.AccountLimits.omit({ totp_threshold_sat: true }).extend({ account_id: AccountIdOut }).openapi("AccountLevel");

/** The account's wallet, by its account id; 404 for an account that does not exist. */
async function walletOf(env: Env, account_id: string) {
  const identity = await accountActor(env, account_id).describe();
  if (!identity) throw new ApiError("not_found", "no such account");
  return walletActor(env, identity.wallet_id);
}

for (const [action, frozen] of [
  ["freeze", true],
  ["unfreeze", false],
] as const) {
  admin.openapi(
    createRoute({
      method: "post",
      path: `/v1/admin/accounts/{account_id}/${action}`,
      operationId: `${action}Account`,
      summary: frozen ? "Freeze an account: it can read, not move money (403 account_frozen); receiving goes on" : "Unfreeze an account",
      security: adminSecurity,
      middleware: [requireAdmin],
      request: { params: AccountParam, body: { content: { "application/json": { schema: FreezeBody } }, required: false } },
      responses: { 200: jsonResponse(Frozen, frozen ? "frozen" : "not frozen"), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const { account_id } = c.req.valid("param");
      const reason = c.req.valid("json")?.reason ?? null;
      const result = await (await walletOf(c.env, account_id)).setFrozen(frozen, reason);
      return c.json({ account_id, frozen: result.frozen, changed: result.changed }, 200);
    },
  );
}

admin.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/accounts/{account_id}/level",
    operationId: "setAccountLevel",
    summary: "Set an account's level (0, 1 or 2): its rolling 24 h limits apply at once",
    security: adminSecurity,
    middleware: [requireAdmin],
    request: { params: AccountParam, ...jsonBody(LevelBody) },
    responses: { 200: jsonResponse(Level, "the level and its limits"), ...errorResponses(400, 401, 404) },
  }),
  async (c) => {
    const { account_id } = c.req.valid("param");
    const result = await (await walletOf(c.env, account_id)).setLevel(c.req.valid("json").level);
    if (isRefusal(result)) throw new ApiError(result.code, result.message);
    return c.json({ account_id, level: result.level, limits: result.limits }, 200);
  },
);

const Solvency = z
  .object({
    liabilities_msat: MsatOut.openapi({
      description: "what the hub owes its users: their balances and what is reserved for their payments not yet final (transfers credited by the receiver but not yet acknowledged to the sender counted once)",
    }),
    in_flight_msat: MsatOut.openapi({ description: "the part of the liabilities reserved for payments not yet final: transfers not yet acknowledged, Lightning payments' holds (Σ pending_out_msat)" }),
    lnd_balance_msat: MsatOut.openapi({ description: "LND's funds: the channels' local balance, HTLCs in flight on them, channels being opened, confirmed coins on chain" }),
    books_balanced: z.boolean().openapi({ description: "every wallet's own books balance (its ledger's accounts sum to zero, nothing negative)" }),
    ok: z.boolean().openapi({ description: "the books balance and, outside development (where the faucet issues unbacked money), LND's balance covers the liabilities" }),
    wallets: CountOut.openapi({ description: "wallets counted (a wallet that never had money is not)" }),
    unbalanced_wallets: CountOut,
  })
  .openapi("Solvency");

admin.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/solvency",
    operationId: "getSolvency",
    summary: "The hub's liabilities against LND's balance, and whether every wallet's books balance",
    description:
      `Summed from an aggregate the wallets feed (docs/decisions/0020): each wallet pushes a snapshot of its books to one of ${SOLVENCY_SHARDS} shards ` +
      `at most once per ${SOLVENCY_PUSH_DELAY_MS / 1000} s after its money moved, so the figures lag the wallets by about that much. ` +
      "LND's balance is read now; 503 when LND cannot be reached. Outside development `ok` also needs LND's balance to cover the liabilities.",
    security: adminSecurity,
    middleware: [requireAdmin],
    responses: { 200: jsonResponse(Solvency, "the solvency report"), ...errorResponses(401, 503) },
  }),
  async (c) => {
    const shards = Array.from({ length: SOLVENCY_SHARDS }, (_, n) => solvencyShard(c.env, n).totals());
    const [totals, lnd] = await Promise.all([Promise.all(shards), lightningNode(c.env).balance()]);
    if (isRefusal(lnd)) throw new ApiError(lnd.code, lnd.message);
    return c.json(solvencyReport(addTotals(...totals), lnd.balance_msat, isDevelopment(c.env)), 200);
  },
);

const Ratio = z.number().min(0).max(1);
const Pubkey = hexOut(33);
const LiquidityPolicyOut = z
  .object({
    min_channel_size_sat: SatOut,
    max_channel_size_sat: SatOut,
    target_utilization: Ratio.openapi({ description: "the overall utilisation (remote / (local + remote)) above which a channel is opened" }),
    rebalance_threshold: Ratio.openapi({ description: "a channel whose utilisation is further than this from the hub's overall utilisation is to be rebalanced" }),
    auto_open_channels: z.boolean(),
    preferred_peers: z.array(z.object({ pubkey: Pubkey, host: z.string().max(250).nullable() })).max(50),
    evaluate_every_s: CountOut,
  });
const ChannelLiquidity = z
  .object({
    chan_id: z.string().openapi({ pattern: "^\\d{1,20}$", maxLength: 20 }),
    remote_pubkey: Pubkey,
    capacity_sat: SatOut,
    local_sat: SatOut,
    remote_sat: SatOut,
    active: z.boolean(),
    utilization: Ratio.openapi({ description: "remote / (local + remote): 0 when the hub could send all of it, 1 when it can only receive" }),
    imbalance: Ratio.openapi({ description: "|utilization − the hub's overall utilization|" }),
  })
  .openapi("ChannelLiquidity");
const Reason = z.string().max(300);
const LiquidityRecommendation = z
  .discriminatedUnion("kind", [
    z.object({
      kind: z.literal("open"),
      peer: Pubkey.nullable().openapi({ description: "a preferred peer without a channel being opened to it; null when there is none" }),
      amount_sat: SatOut.openapi({ description: "within the policy's size bounds" }),
      fundable: z.boolean().openapi({ description: "LND's confirmed on-chain funds cover it; only then is it opened automatically (autoOpenChannels)" }),
      reason: Reason,
    }),
    z.object({
      kind: z.literal("rebalance"),
      chan_id: z.string().openapi({ pattern: "^\\d{1,20}$", maxLength: 20 }),
      remote_pubkey: Pubkey,
      direction: z.enum(["increase_outbound", "increase_inbound"]),
      amount_sat: SatOut,
      reason: Reason,
    }),
  ])
  .openapi("LiquidityRecommendation");
const ChannelOpen = z
  .object({
    open_id: z.string().openapi({ pattern: "^open_[0-9a-f]{32}$", maxLength: 37 }),
    peer_pubkey: Pubkey,
    amount_sat: SatOut,
    state: z.enum(["opening", "pending", "failed", "abandoned"]).openapi({
      description: "opening: OpenChannel called, no answer yet; pending: funding published (LND's pending channel); failed: LND refused; abandoned: no answer and no pending channel found",
    }),
    funding_txid: hexOut(32).nullable(),
    failure_reason: z.string().max(300).nullable(),
    created_at: CountOut.openapi({ description: "epoch ms" }),
    updated_at: CountOut.openapi({ description: "epoch ms" }),
  })
  .openapi("ChannelOpen");
const Liquidity = z
  .object({
    policy: LiquidityPolicyOut.nullable().openapi({ description: "LIQUIDITY_POLICY; null when none is configured (nothing is evaluated)" }),
    evaluated_at: TimestampOut.nullable(),
    evaluation: z
      .object({
        totals: z.object({
          channels: CountOut,
          capacity_sat: SatOut,
          local_sat: SatOut,
          remote_sat: SatOut,
          pending_open_local_sat: SatOut,
          onchain_confirmed_sat: SatOut,
          utilization: Ratio.nullable(),
        }),
        channels: z.array(ChannelLiquidity).max(10_000),
        recommendations: z.array(LiquidityRecommendation).max(10_001).openapi({ description: "at most one open; rebalances; never a close" }),
      })
      .nullable()
      .openapi({ description: "null before the first evaluation, or when LND could not be read at it" }),
    opens: z.array(ChannelOpen).max(20).openapi({ description: "the 20 latest channel opens, newest first" }),
  })
  .openapi("Liquidity");

admin.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/liquidity",
    operationId: "getLiquidity",
    summary: "The liquidity policy's last evaluation of LND's channels: utilisation and imbalance per channel, recommendations, the channels it opened",
    description:
      "The LightningNodeActor evaluates LIQUIDITY_POLICY (the seed's channelStrategy) against LND's channels every evaluateEveryS seconds (docs/decisions/0025): " +
      "an open to a preferred peer when the overall utilisation is above the target, sized back to it within the size bounds; a rebalance for a channel past the threshold; " +
      "never a close. With autoOpenChannels the recommended open is made through LND, once.",
    security: adminSecurity,
    middleware: [requireAdmin],
    responses: { 200: jsonResponse(Liquidity, "the last evaluation"), ...errorResponses(401) },
  }),
  async (c) => {
    const report = await lightningNode(c.env).liquidity();
    if (isRefusal(report)) throw new ApiError(report.code, report.message);
    return c.json({ ...report, evaluated_at: report.evaluated_at === null ? null : new Date(report.evaluated_at).toISOString() }, 200);
  },
);
