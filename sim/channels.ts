// Channel balances in motion: an HTLC chain is one payment attempt's HTLCs
// along a route. Locking it takes each amount from the sending side; settling
// gives it to the receiving side; failing returns it. Also the hub node's
// channel and balance answers (ListChannels, ChannelBalance, WalletBalance).

import type { ChannelBalance as ChannelBalanceRow, PendingHtlc, Route, Store } from "./store";
import {
  CHANNELS,
  HUB_CHANNELS,
  NODES,
  channelById,
  peerOf,
  sideOf,
  type ChannelDef,
} from "./topology";
import { b64, int64, type JsonObject } from "./wire";

/** Takes the route's HTLC amounts from each sending side. */
export function lockChain(store: Store, chain: string, route: Route, hash: string): void {
  route.hops.forEach((hop, k) => {
    const channel = channelById(hop.chanId) as ChannelDef;
    const from = route.nodes[k]!;
    const amount = k === 0 ? route.totalAmtMsat : route.hops[k - 1]!.amtToForwardMsat;
    const expiry = k === 0 ? route.totalTimeLock : route.hops[k - 1]!.expiry;
    const side = sideOf(channel, from);
    store.adjustBalance(channel.chanId, side, -amount);
    store.insertHtlc({
      chain,
      chanId: channel.chanId,
      fromA: side === "a",
      amountMsat: amount,
      hash,
      expiryHeight: expiry,
      htlcIndex: store.next(`htlc_index:${channel.chanId}:${side}`) - 1,
    });
  });
}

export function settleChain(store: Store, chain: string): void {
  for (const h of store.pendingHtlcs(chain)) {
    store.adjustBalance(h.chanId, h.fromA ? "b" : "a", h.amountMsat);
    store.addSent(h.chanId, h.fromA ? "a" : "b", h.amountMsat);
    store.resolveHtlc(h.id, "settled");
  }
}

export function failChain(store: Store, chain: string): void {
  for (const h of store.pendingHtlcs(chain)) {
    store.adjustBalance(h.chanId, h.fromA ? "a" : "b", h.amountMsat);
    store.resolveHtlc(h.id, "failed");
  }
}

// ---- wire answers ----

const sat = (msat: number) => Math.floor(msat / 1000);
const amount = (msat: number) => ({ sat: int64(sat(msat)), msat: int64(msat) });

const constraints = (csvDelay: number, capacitySat: number) => ({
  csv_delay: csvDelay,
  chan_reserve_sat: int64(Math.floor(capacitySat / 100)),
  dust_limit_sat: int64(DUST_LIMIT_SAT),
  // LND's default: 99 % of the capacity may be in flight.
  max_pending_amt_msat: int64(capacitySat * 990),
  min_htlc_msat: "1",
  max_accepted_htlcs: 483,
});

function hubSides(channel: ChannelDef) {
  const local = sideOf(channel, "hub");
  return { local, remote: local === "a" ? ("b" as const) : ("a" as const) };
}

/** The commitment's fee rate (sat per kiloweight) and what one HTLC output adds to its weight. */
const FEE_PER_KW = 2500;
const HTLC_OUTPUT_WEIGHT = 172;
const COMMIT_WEIGHT = 1116;
const DUST_LIMIT_SAT = 354;
/** Anchor outputs: 330 sat for each side (both sides always have an output here). */
const ANCHOR_SAT = 330;

/**
 * The commitment as LND reports it: every HTLC above the dust limit is an output that makes the
 * commitment heavier, and the channel's initiator pays the extra fee out of its balance while
 * the HTLC is in flight. Balances in msat, with that fee taken from the initiator's side.
 */
function commitment(channel: ChannelDef, b: ChannelBalanceRow, htlcs: PendingHtlc[]) {
  const outputs = htlcs.filter((h) => h.amountMsat >= DUST_LIMIT_SAT * 1000).length;
  const htlcFeeSat = Math.floor((FEE_PER_KW * HTLC_OUTPUT_WEIGHT * outputs) / 1000);
  const initiatorSide = sideOf(channel, channel.initiator);
  const aMsat = b.aMsat - (initiatorSide === "a" ? htlcFeeSat * 1000 : 0);
  const bMsat = b.bMsat - (initiatorSide === "b" ? htlcFeeSat * 1000 : 0);
  return { aMsat, bMsat, weight: COMMIT_WEIGHT + HTLC_OUTPUT_WEIGHT * outputs };
}

/** lnrpc.Channel for each of the hub node's channels (all active and public: the inactive/private filters match none). */
export function listChannels(store: Store, filter: { peer: string; inactiveOnly: boolean; privateOnly: boolean; peerAliasLookup: boolean }): JsonObject {
  const balances = store.balances();
  const pending = store.pendingHtlcs();
  const listed = filter.inactiveOnly || filter.privateOnly ? [] : HUB_CHANNELS;
  const channels = listed
    .filter((c) => !filter.peer || NODES[peerOf(c, "hub")].pubkey === filter.peer)
    .map((channel) => {
      const { local, remote } = hubSides(channel);
      const htlcs = pending.filter((h) => h.chanId === channel.chanId);
      const b = { ...balances.get(channel.chanId)!, ...commitment(channel, balances.get(channel.chanId)!, htlcs) };
      const reserve = Math.floor(channel.capacitySat / 100);
      return {
        active: true,
        remote_pubkey: NODES[peerOf(channel, "hub")].pubkey,
        channel_point: channel.channelPoint,
        chan_id: channel.chanId,
        capacity: int64(channel.capacitySat),
        local_balance: int64(sat(local === "a" ? b.aMsat : b.bMsat)),
        remote_balance: int64(sat(remote === "a" ? b.aMsat : b.bMsat)),
        // What the commitment leaves for fees (LND: capacity minus every output), which also
        // absorbs the msat the sat-denominated outputs round away.
        commit_fee: int64(
          channel.capacitySat - sat(b.aMsat) - sat(b.bMsat) - htlcs.reduce((s, h) => s + sat(h.amountMsat), 0) - 2 * ANCHOR_SAT,
        ),
        commit_weight: int64(b.weight),
        fee_per_kw: int64(FEE_PER_KW),
        unsettled_balance: int64(htlcs.reduce((s, h) => s + sat(h.amountMsat), 0)),
        total_satoshis_sent: int64(sat(local === "a" ? b.aSentMsat : b.bSentMsat)),
        total_satoshis_received: int64(sat(remote === "a" ? b.aSentMsat : b.bSentMsat)),
        num_updates: int64(b.numUpdates),
        pending_htlcs: htlcs.map((h) => ({
          incoming: (h.fromA ? "a" : "b") === remote,
          amount: int64(sat(h.amountMsat)),
          hash_lock: b64(h.hash),
          expiration_height: h.expiryHeight,
          htlc_index: int64(h.htlcIndex),
          forwarding_channel: "0",
          forwarding_htlc_index: "0",
          locked_in: true,
        })),
        csv_delay: 144,
        private: false,
        initiator: channel.initiator === "hub",
        chan_status_flags: "ChanStatusDefault",
        local_chan_reserve_sat: int64(reserve),
        remote_chan_reserve_sat: int64(reserve),
        static_remote_key: false,
        commitment_type: "ANCHORS",
        lifetime: "86400",
        uptime: "86400",
        close_address: "",
        push_amount_sat: int64(channel.initiator === "hub" ? channel.capacitySat / 2 : 0),
        thaw_height: 0,
        local_constraints: constraints(144, channel.capacitySat),
        remote_constraints: constraints(144, channel.capacitySat),
        alias_scids: [],
        zero_conf: false,
        zero_conf_confirmed_scid: "0",
        // Filled only when asked for (peer_alias_lookup).
        peer_alias: filter.peerAliasLookup ? NODES[peerOf(channel, "hub")].alias : "",
        peer_scid_alias: "0",
        memo: "",
        custom_channel_data: "",
      };
    });
  return { channels };
}

/** lnrpc.ChannelBalanceResponse over the hub node's channels. */
export function channelBalance(store: Store, pendingOpenLocalSat = 0): JsonObject {
  const balances = store.balances();
  const pending = store.pendingHtlcs();
  let local = 0;
  let remote = 0;
  let unsettledLocal = 0;
  let unsettledRemote = 0;
  for (const channel of HUB_CHANNELS) {
    const htlcs = pending.filter((p) => p.chanId === channel.chanId);
    const b = commitment(channel, balances.get(channel.chanId)!, htlcs);
    const sides = hubSides(channel);
    local += sides.local === "a" ? b.aMsat : b.bMsat;
    remote += sides.remote === "a" ? b.aMsat : b.bMsat;
    // As LND counts them: incoming HTLCs are unsettled *local* balance, outgoing ones remote.
    for (const h of htlcs) {
      if ((h.fromA ? "a" : "b") === sides.local) unsettledRemote += h.amountMsat;
      else unsettledLocal += h.amountMsat;
    }
  }
  return {
    balance: int64(sat(local)),
    pending_open_balance: int64(pendingOpenLocalSat),
    local_balance: amount(local),
    remote_balance: amount(remote),
    unsettled_local_balance: amount(unsettledLocal),
    unsettled_remote_balance: amount(unsettledRemote),
    pending_open_local_balance: amount(pendingOpenLocalSat * 1000),
    pending_open_remote_balance: amount(0),
    // What lnd 0.21 answers when no custom channels (taproot assets) exist.
    custom_channel_data: "AwAAAAA=",
  };
}

/** lnrpc.WalletBalanceResponse: static funds, 10k sat reserved per anchor channel (LND caps it at 100k). */
/** The whole network (for /sim/info): every channel with both sides' balances. */
export function networkView(store: Store): JsonObject[] {
  const balances = store.balances();
  return CHANNELS.map((c) => {
    const b = balances.get(c.chanId)!;
    return {
      chan_id: c.chanId,
      scid: c.scid,
      node1: c.a,
      node2: c.b,
      capacity_sat: c.capacitySat,
      node1_balance_msat: b.aMsat,
      node2_balance_msat: b.bMsat,
      node1_policy: { fee_base_msat: c.policy.a.baseMsat, fee_rate_ppm: c.policy.a.ppm, cltv_delta: c.policy.a.cltvDelta },
      node2_policy: { fee_base_msat: c.policy.b.baseMsat, fee_rate_ppm: c.policy.b.ppm, cltv_delta: c.policy.b.cltvDelta },
      hub_channel: c.a === "hub" || c.b === "hub",
    };
  });
}
