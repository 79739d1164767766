// Channels the hub node opens (OpenChannelSync, ConnectPeer, PendingChannels). The network's channels
// are fixed (topology.ts), so an opened channel stays pending: its funding transaction spends the hub's
// on-chain funds (chain.ts) and PendingChannels lists it, with its local balance counted by
// ChannelBalance as pending_open_local_balance; it never becomes one of ListChannels' channels.

import type { Chain } from "./chain";
import { HUB, HUB_CHANNELS, NODES, nodeByPubkey, peerOf } from "./topology";
import { b64, int64, lndError, type JsonObject } from "./wire";

/** LND's defaults: the smallest channel, and the largest without wumbo channels (the simulator allows them). */
const MIN_CHAN_SIZE_SAT = 20_000;
const MAX_WUMBO_SAT = 1_000_000_000;
/** What the initiator's balance gives up at opening (the topology's commitment fee and anchors). */
const OPENING_COST_SAT = 2_830 + 660;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sim_peers (pubkey TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS sim_channel_opens (txid TEXT PRIMARY KEY, pubkey TEXT NOT NULL, capacity_sat INTEGER NOT NULL, opened_at INTEGER NOT NULL);
`;

export class ChannelOpens {
  constructor(
    private readonly sql: SqlStorage,
    private readonly chain: Chain,
  ) {
    sql.exec(SCHEMA);
  }

  wipe(): void {
    this.sql.exec("DELETE FROM sim_peers");
    this.sql.exec("DELETE FROM sim_channel_opens");
  }

  /** The hub's channel peers are connected from the start; others once ConnectPeer reached them. */
  private connected(pubkey: string): boolean {
    if (HUB_CHANNELS.some((c) => NODES[peerOf(c, "hub")].pubkey === pubkey)) return true;
    return this.sql.exec("SELECT 1 FROM sim_peers WHERE pubkey = ?", pubkey).toArray().length > 0;
  }

  /** ConnectPeer: a node of the simulated network; LND refuses a peer it is already connected to. */
  connectPeer(addr: JsonObject): JsonObject {
    const pubkey = String(addr.pubkey ?? "").toLowerCase();
    const host = String(addr.host ?? "");
    if (pubkey === HUB.pubkey) throw lndError("cannot make connection to self");
    if (this.connected(pubkey)) throw lndError(`already connected to peer: ${pubkey}@${host}`);
    if (!nodeByPubkey(pubkey)) throw lndError(`dial tcp ${host}: connect: connection refused`);
    this.sql.exec("INSERT INTO sim_peers (pubkey) VALUES (?)", pubkey);
    return { status: `connection to ${pubkey}@${host} initiated` };
  }

  /** OpenChannelSync: funds the channel on chain and answers its funding outpoint (txid bytes in internal order). */
  open(pubkey: string, amount: number, satPerVbyte: number, targetConf: number): JsonObject {
    if (pubkey.length !== 66) throw lndError("invalid public key length");
    if (!this.connected(pubkey)) throw lndError(`peer ${pubkey} is not online`);
    if (amount < MIN_CHAN_SIZE_SAT) throw lndError(`chan size of ${amount / 1e8} BTC is below min chan size of ${MIN_CHAN_SIZE_SAT / 1e8} BTC`);
    if (amount > MAX_WUMBO_SAT) throw lndError(`funding amount is too large, the max channel size is: ${MAX_WUMBO_SAT / 1e8} BTC`);
    const txid = this.chain.fundChannel(amount, satPerVbyte, targetConf);
    this.sql.exec("INSERT INTO sim_channel_opens (txid, pubkey, capacity_sat, opened_at) VALUES (?, ?, ?, ?)", txid, pubkey, amount, Date.now());
    return { funding_txid_bytes: b64(txid.match(/../g)!.reverse().join("")), output_index: 0 };
  }

  private rows(): { txid: string; pubkey: string; capacity_sat: number }[] {
    return this.sql.exec("SELECT txid, pubkey, capacity_sat FROM sim_channel_opens ORDER BY opened_at").toArray() as never;
  }

  /** The hub's side of the channels being opened (sat). */
  pendingLocalSat(): number {
    return this.rows().reduce((s, r) => s + r.capacity_sat - OPENING_COST_SAT, 0);
  }

  /** lnrpc.PendingChannelsResponse: the channels being opened. */
  pending(): JsonObject {
    return {
      total_limbo_balance: "0",
      pending_open_channels: this.rows().map((r) => ({
        channel: {
          remote_node_pub: r.pubkey,
          channel_point: `${r.txid}:0`,
          capacity: int64(r.capacity_sat),
          local_balance: int64(r.capacity_sat - OPENING_COST_SAT),
          remote_balance: "0",
          local_chan_reserve_sat: int64(Math.floor(r.capacity_sat / 100)),
          remote_chan_reserve_sat: int64(Math.floor(r.capacity_sat / 100)),
          initiator: "INITIATOR_LOCAL",
          commitment_type: "ANCHORS",
          num_forwarding_packages: "0",
          chan_status_flags: "ChanStatusDefault",
          private: false,
          memo: "",
          custom_channel_data: "",
        },
        commit_fee: "2830",
        commit_weight: "1116",
        fee_per_kw: "2500",
        funding_expiry_blocks: 2016,
      })),
      pending_closing_channels: [],
      pending_force_closing_channels: [],
      waiting_close_channels: [],
    };
  }
}
