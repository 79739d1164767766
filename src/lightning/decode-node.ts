// LND REST JSON → node, channel, balance and payment-request types.

import { asObject, bool, bytesHex, enumOf, hexString, int, list, optObject, str, uint64Id } from "./wire-values";
import {
  WALLET_STATES,
  type Amount,
  type Channel,
  type ChannelBalance,
  type FeeEstimate,
  type NodeInfo,
  type ChannelPoint,
  type OnchainTransaction,
  type PendingChannels,
  type TransactionDetails,
  type PayReq,
  type PayReqFeature,
  type WalletBalance,
  type WalletState,
} from "./types";

export function decodeGetInfo(json: unknown): NodeInfo {
  const o = asObject(json, "GetInfoResponse");
  return {
    version: str(o, "version"),
    commit_hash: str(o, "commit_hash"),
    identity_pubkey: str(o, "identity_pubkey"),
    alias: str(o, "alias"),
    color: str(o, "color"),
    num_pending_channels: int(o, "num_pending_channels"),
    num_active_channels: int(o, "num_active_channels"),
    num_inactive_channels: int(o, "num_inactive_channels"),
    num_peers: int(o, "num_peers"),
    block_height: int(o, "block_height"),
    block_hash: str(o, "block_hash"),
    best_header_timestamp: int(o, "best_header_timestamp"),
    synced_to_chain: bool(o, "synced_to_chain"),
    synced_to_graph: bool(o, "synced_to_graph"),
    chains: list(o, "chains").map((c) => {
      const chain = asObject(c, "Chain");
      return { chain: str(chain, "chain"), network: str(chain, "network") };
    }),
    uris: list(o, "uris").map((u) => String(u)),
  };
}

export function decodeWalletState(json: unknown): WalletState {
  return enumOf(asObject(json, "GetStateResponse"), "state", WALLET_STATES);
}

export function decodeListChannels(json: unknown): Channel[] {
  return list(asObject(json, "ListChannelsResponse"), "channels").map((c): Channel => {
    const o = asObject(c, "Channel");
    return {
      active: bool(o, "active"),
      remote_pubkey: str(o, "remote_pubkey"),
      channel_point: str(o, "channel_point"),
      chan_id: uint64Id(o, "chan_id"),
      capacity: int(o, "capacity"),
      local_balance: int(o, "local_balance"),
      remote_balance: int(o, "remote_balance"),
      commit_fee: int(o, "commit_fee"),
      unsettled_balance: int(o, "unsettled_balance"),
      total_satoshis_sent: int(o, "total_satoshis_sent"),
      total_satoshis_received: int(o, "total_satoshis_received"),
      num_updates: int(o, "num_updates"),
      pending_htlcs: list(o, "pending_htlcs").map((h) => {
        const htlc = asObject(h, "HTLC");
        return {
          incoming: bool(htlc, "incoming"),
          amount: int(htlc, "amount"),
          hash_lock: bytesHex(htlc, "hash_lock"),
          expiration_height: int(htlc, "expiration_height"),
          htlc_index: uint64Id(htlc, "htlc_index"),
        };
      }),
      private: bool(o, "private"),
      initiator: bool(o, "initiator"),
      chan_status_flags: str(o, "chan_status_flags"),
      // Passed through as LND names it: new commitment types appear over time.
      commitment_type: typeof o.commitment_type === "string" ? o.commitment_type : "UNKNOWN_COMMITMENT_TYPE",
      peer_alias: str(o, "peer_alias"),
    };
  });
}

function decodeAmount(o: Record<string, unknown>, key: string): Amount {
  const a = optObject(o, key);
  return a ? { sat: int(a, "sat"), msat: int(a, "msat") } : { sat: 0, msat: 0 };
}

export function decodeChannelBalance(json: unknown): ChannelBalance {
  const o = asObject(json, "ChannelBalanceResponse");
  return {
    local_balance: decodeAmount(o, "local_balance"),
    remote_balance: decodeAmount(o, "remote_balance"),
    unsettled_local_balance: decodeAmount(o, "unsettled_local_balance"),
    unsettled_remote_balance: decodeAmount(o, "unsettled_remote_balance"),
    pending_open_local_balance: decodeAmount(o, "pending_open_local_balance"),
    pending_open_remote_balance: decodeAmount(o, "pending_open_remote_balance"),
  };
}

export function decodeWalletBalance(json: unknown): WalletBalance {
  const o = asObject(json, "WalletBalanceResponse");
  return {
    total_balance: int(o, "total_balance"),
    confirmed_balance: int(o, "confirmed_balance"),
    unconfirmed_balance: int(o, "unconfirmed_balance"),
    locked_balance: int(o, "locked_balance"),
    reserved_balance_anchor_chan: int(o, "reserved_balance_anchor_chan"),
  };
}

/** PayReq.payment_hash and description_hash are hex strings; payment_addr is bytes. */
export function decodePayReq(json: unknown): PayReq {
  const o = asObject(json, "PayReq");
  const features: Record<string, PayReqFeature> = {};
  const rawFeatures = optObject(o, "features") ?? {};
  for (const [bit, f] of Object.entries(rawFeatures)) {
    const feature = asObject(f, `features.${bit}`);
    features[bit] = {
      name: str(feature, "name"),
      is_required: bool(feature, "is_required"),
      is_known: bool(feature, "is_known"),
    };
  }
  return {
    destination: str(o, "destination"),
    payment_hash: hexString(o, "payment_hash") ?? "",
    num_satoshis: int(o, "num_satoshis"),
    num_msat: int(o, "num_msat"),
    timestamp: int(o, "timestamp"),
    expiry: int(o, "expiry"),
    description: str(o, "description"),
    description_hash: hexString(o, "description_hash"),
    fallback_addr: str(o, "fallback_addr"),
    cltv_expiry: int(o, "cltv_expiry"),
    payment_addr: bytesHex(o, "payment_addr"),
    features,
  };
}

// ---- on-chain wallet ----

export function decodeNewAddress(json: unknown): { address: string } {
  return { address: str(asObject(json, "NewAddressResponse"), "address") };
}

export function decodeOnchainTransaction(json: unknown): OnchainTransaction {
  const o = asObject(json, "Transaction");
  return {
    tx_hash: str(o, "tx_hash"),
    amount: int(o, "amount"),
    num_confirmations: int(o, "num_confirmations"),
    block_hash: str(o, "block_hash"),
    block_height: int(o, "block_height"),
    time_stamp: int(o, "time_stamp"),
    total_fees: int(o, "total_fees"),
    output_details: list(o, "output_details").map((d, i) => {
      const od = asObject(d, `output_details[${i}]`);
      return {
        output_type: str(od, "output_type"),
        address: str(od, "address"),
        pk_script: str(od, "pk_script"),
        output_index: int(od, "output_index"),
        amount: int(od, "amount"),
        is_our_address: bool(od, "is_our_address"),
      };
    }),
    raw_tx_hex: str(o, "raw_tx_hex"),
    label: str(o, "label"),
  };
}

export function decodeTransactionDetails(json: unknown): TransactionDetails {
  const o = asObject(json, "TransactionDetails");
  return {
    transactions: list(o, "transactions").map(decodeOnchainTransaction),
    last_index: int(o, "last_index"),
    first_index: int(o, "first_index"),
  };
}

export function decodeFeeEstimate(json: unknown): FeeEstimate {
  const o = asObject(json, "EstimateFeeResponse");
  return { fee_sat: int(o, "fee_sat"), sat_per_vbyte: int(o, "sat_per_vbyte") };
}

export function decodeSendCoins(json: unknown): { txid: string } {
  return { txid: str(asObject(json, "SendCoinsResponse"), "txid") };
}

// ---- channel opening ----

export function decodePendingChannels(json: unknown): PendingChannels {
  const o = asObject(json, "PendingChannelsResponse");
  return {
    total_limbo_balance: int(o, "total_limbo_balance"),
    pending_open_channels: list(o, "pending_open_channels").map((p, i) => {
      const c = optObject(asObject(p, `pending_open_channels[${i}]`), "channel") ?? {};
      return {
        remote_node_pub: str(c, "remote_node_pub"),
        channel_point: str(c, "channel_point"),
        capacity: int(c, "capacity"),
        local_balance: int(c, "local_balance"),
        remote_balance: int(c, "remote_balance"),
        initiator: str(c, "initiator") === "INITIATOR_LOCAL" || c.initiator === 1,
      };
    }),
  };
}

/** lnrpc.ChannelPoint: funding_txid_bytes is the txid in internal (reversed) byte order; funding_txid_str as displayed. */
export function decodeChannelPoint(json: unknown): ChannelPoint {
  const o = asObject(json, "ChannelPoint");
  const text = str(o, "funding_txid_str");
  const bytes = bytesHex(o, "funding_txid_bytes");
  const funding_txid = text !== "" ? text : (bytes?.match(/../g) ?? []).reverse().join("");
  return { funding_txid, output_index: int(o, "output_index") };
}
