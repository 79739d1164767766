// The hub node's on-chain wallet and a regtest chain around it: addresses
// (the hub's from NewAddress, the outside world's from /sim/onchain/address),
// a mempool, blocks mined on demand (/sim/mine), confirmations, re-orgs, and
// LND's wallet routes over them (NewAddress, GetTransactions,
// SubscribeTransactions, EstimateFee, SendCoins, WalletBalance).
//
// The wallet is kept as amounts, not coins: a send spends exactly amount + fee
// of the confirmed balance (no change output), a deposit adds its outputs.
// Only blocks mined through /sim/mine hold transactions and count as
// confirmations; the timed blocks of the tip (topology.ts) are empty.

import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { bech32, bech32m, createBase58check } from "@scure/base";
import { checkAddress } from "../src/onchain";
import { randomHex32, type SimContext } from "./context";
import { NdjsonStream, Subscribers } from "./streams";
import { HUB_CHANNELS, ONCHAIN_CONFIRMED_SAT } from "./topology";
import { Code, GrpcError, bytesToHex, hexToBytes, int64, lndError, type JsonObject } from "./wire";

/** The sizes a P2WPKH-funded transaction has, in vbytes: the simulator's fee is rate × this. */
const TX_VSIZE = 141;
/** LND refuses an output below this (P2WPKH dust at the default relay fee). */
const DUST_SAT = 294;
/** LND's label limit. */
const MAX_LABEL = 500;
/** Feerates by target (sat/vB): what the simulated estimator answers. */
const feeRateFor = (targetConf: number) => (targetConf <= 1 ? 25 : targetConf <= 3 ? 15 : targetConf <= 6 ? 10 : 5);

interface Output {
  address: string;
  amount_sat: number;
  /** hex */
  script: string;
}

interface ChainTx {
  txid: string;
  seq: number;
  outputs: Output[];
  fee_sat: number;
  /** what the hub's wallet spent on it (amount + fee of a send; 0 for the outside world's). */
  hub_input_sat: number;
  label: string;
  time_stamp: number;
  /** the /sim/mine block it was mined in (1-based count of mined blocks), or null in the mempool. */
  block: number | null;
  height: number | null;
  /** never streamed (a lost SubscribeTransactions event): only GetTransactions shows it. */
  silent: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS chain_addresses (address TEXT PRIMARY KEY, owner TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chain_txs (txid TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, block INTEGER, height INTEGER, hub INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chain_txs_block ON chain_txs (block);
`;

const base58check = createBase58check(sha256);

export class Chain {
  private readonly streams = new Subscribers<null>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly ctx: SimContext,
  ) {
    sql.exec(SCHEMA);
  }

  wipe(): void {
    this.streams.closeAll();
    this.sql.exec("DELETE FROM chain_addresses");
    this.sql.exec("DELETE FROM chain_txs");
  }

  /** Blocks mined through /sim/mine so far (they add to the tip's height). */
  mined(): number {
    return this.ctx.store.counter("mined_blocks");
  }

  // ---- LND routes ----

  /** NewAddress: a fresh address of the hub's wallet (P2WPKH, P2TR or nested P2SH by type). */
  newAddress(type: string): JsonObject {
    const address = randomAddress(type);
    this.sql.exec("INSERT INTO chain_addresses (address, owner) VALUES (?, 'hub')", address);
    return { address };
  }

  /** GetTransactions: the hub wallet's transactions, oldest first; end_height 0 or -1 includes the mempool. */
  getTransactions(startHeight: number, endHeight: number, indexOffset: number, maxTransactions: number): JsonObject {
    let txs = this.hubTxs().filter((t) => {
      if (t.height === null) return endHeight === 0 || endHeight === -1;
      return t.height >= startHeight && (endHeight <= 0 || t.height <= endHeight);
    });
    const first = Math.min(indexOffset, txs.length);
    txs = txs.slice(first, maxTransactions > 0 ? first + maxTransactions : undefined);
    return {
      transactions: txs.map((t) => this.json(t)),
      last_index: int64(first + txs.length),
      first_index: int64(first),
    };
  }

  /** SubscribeTransactions: each hub transaction when it enters the mempool and when it is first mined. */
  subscribe(signal: AbortSignal): Promise<Response> {
    const stream = new NdjsonStream(signal);
    this.streams.add("*", stream, null);
    return stream.response;
  }

  estimateFee(addrToAmount: Record<string, string>, targetConf: number): JsonObject {
    const outputs = Object.entries(addrToAmount);
    if (outputs.length === 0) throw lndError("must provide at least one output");
    let total = 0;
    for (const [address, amount] of outputs) {
      this.outputTo(address, Number(amount));
      total += Number(amount);
    }
    const rate = feeRateFor(targetConf || 6);
    const fee = rate * TX_VSIZE;
    if (total + fee > this.balances().confirmed) throw lndError("insufficient funds available to construct transaction");
    return { fee_sat: int64(fee), feerate_sat_per_byte: int64(rate), sat_per_vbyte: int64(rate) };
  }

  /** SendCoins: pays an address from the confirmed balance; the transaction is in the mempool when it answers. */
  sendCoins(addr: string, amount: number, targetConf: number, satPerVbyte: number, label: string): JsonObject {
    if (label.length > MAX_LABEL) throw lndError(`label length: ${label.length} exceeds limit of ${MAX_LABEL}`);
    if (targetConf && satPerVbyte) throw lndError("either SatPerKw or TargetConfs may be set, but not both");
    const output = this.outputTo(addr, amount);
    const rate = satPerVbyte || feeRateFor(targetConf || 6);
    const fee = rate * TX_VSIZE;
    if (amount + fee > this.balances().confirmed) throw lndError("insufficient funds available to construct transaction");
    const tx = this.add([output], fee, amount + fee, label, false);
    return { txid: tx.txid };
  }

  /**
   * A channel's funding transaction (OpenChannel): pays `amount` to a fresh P2WSH output from the confirmed
   * balance, like SendCoins; its txid. The channel itself is kept by sim/channel-opens.ts.
   */
  fundChannel(amount: number, satPerVbyte: number, targetConf: number): string {
    const rate = satPerVbyte || feeRateFor(targetConf || 6);
    const fee = rate * TX_VSIZE;
    if (amount + fee > this.balances().confirmed) throw lndError(`not enough witness outputs to create funding transaction, need ${(amount + fee) / 1e8} BTC only have ${this.balances().confirmed / 1e8} BTC available`);
    const address = bech32.encode("bcrt", [0, ...bech32.toWords(hexToBytes(randomHex32()))]);
    return this.add([{ address, amount_sat: amount, script: scriptOf(address) }], fee, amount + fee, "", false).txid;
  }

  walletBalance(): JsonObject {
    const { confirmed, unconfirmed } = this.balances();
    const reserved = Math.min(10_000 * HUB_CHANNELS.length, 100_000);
    return {
      total_balance: int64(confirmed + unconfirmed),
      confirmed_balance: int64(confirmed),
      unconfirmed_balance: int64(unconfirmed),
      locked_balance: "0",
      reserved_balance_anchor_chan: int64(reserved),
      account_balance: { default: { confirmed_balance: int64(confirmed), unconfirmed_balance: int64(unconfirmed) } },
    };
  }

  // ---- the outside world (/sim/ routes) ----

  /** An address of no one the hub knows: where withdrawals go. */
  outsideAddress(): string {
    const address = randomAddress("WITNESS_PUBKEY_HASH");
    this.sql.exec("INSERT INTO chain_addresses (address, owner) VALUES (?, 'outside')", address);
    return address;
  }

  /** The outside world pays addresses: one transaction in the mempool (its outputs in the order given). */
  send(outputs: { address: string; amount_sat: number }[], silent: boolean): ChainTx {
    return this.add(
      outputs.map((o) => this.outputTo(o.address, o.amount_sat)),
      feeRateFor(6) * TX_VSIZE,
      0,
      "",
      silent,
    );
  }

  /** Mines blocks: the first takes the whole mempool. */
  mine(blocks: number): { mined: number; height: number; txids: string[] } {
    const first = this.mined() + 1;
    // The first block takes the mempool and is announced (1 confirmation), then the rest follow.
    this.ctx.store.setCounter("mined_blocks", first);
    const height = this.ctx.tip().height;
    const pending = this.all().filter((t) => t.block === null);
    for (const t of pending) {
      t.block = first;
      t.height = height;
      this.put(t);
    }
    for (const t of pending) if (this.isHub(t)) this.notify(t);
    this.ctx.store.setCounter("mined_blocks", first + blocks - 1);
    return { mined: blocks, height: this.ctx.tip().height, txids: pending.map((t) => t.txid) };
  }

  /**
   * A re-org: `txid` is double-spent away (gone from the chain, the mempool and the wallet), or the
   * last `blocks` mined blocks are replaced by as many empty ones (their transactions back in the mempool).
   */
  reorg(b: { txid?: string; blocks?: number }): { removed: string[]; unconfirmed: string[] } {
    if (b.txid !== undefined) {
      const gone = this.sql.exec("DELETE FROM chain_txs WHERE txid = ? RETURNING txid", b.txid).toArray();
      return { removed: gone.map((r) => String(r.txid)), unconfirmed: [] };
    }
    const from = this.mined() - (b.blocks ?? 0) + 1;
    const back = this.all().filter((t) => t.block !== null && t.block >= from);
    for (const t of back) {
      t.block = null;
      t.height = null;
      this.put(t);
    }
    return { removed: [], unconfirmed: back.map((t) => t.txid) };
  }

  /** One transaction as /sim/onchain/tx shows it: its outputs, fee and confirmations. */
  lookup(txid: string): JsonObject | null {
    const t = this.byId(txid);
    if (!t) return null;
    return { txid: t.txid, outputs: t.outputs.map((o) => ({ address: o.address, amount_sat: o.amount_sat })), fee_sat: t.fee_sat, confirmations: this.confirmations(t), label: t.label };
  }

  closeAll(): void {
    this.streams.closeAll();
  }

  // ---- internals ----

  private outputTo(address: string, amount: number): Output {
    const checked = checkAddress(address, "regtest");
    if (!checked.ok) throw lndError(`decoding address ${address}: ${checked.reason}`);
    if (!Number.isSafeInteger(amount) || amount <= 0) throw lndError("amount must be positive");
    if (amount < DUST_SAT) throw lndError("transaction output is dust");
    return { address: checked.address, amount_sat: amount, script: scriptOf(checked.address) };
  }

  private add(outputs: Output[], fee_sat: number, hub_input_sat: number, label: string, silent: boolean): ChainTx {
    const tx: ChainTx = {
      txid: randomHex32(),
      seq: this.ctx.store.next("chain_tx"),
      outputs,
      fee_sat,
      hub_input_sat,
      label,
      time_stamp: this.ctx.nowSeconds(),
      block: null,
      height: null,
      silent,
    };
    this.put(tx);
    if (this.isHub(tx)) this.notify(tx);
    return tx;
  }

  private put(t: ChainTx): void {
    this.sql.exec(
      `INSERT INTO chain_txs (txid, seq, block, height, hub, data) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (txid) DO UPDATE SET block = excluded.block, height = excluded.height, data = excluded.data`,
      t.txid,
      t.seq,
      t.block,
      t.height,
      this.isHub(t) ? 1 : 0,
      JSON.stringify(t),
    );
  }

  private all(): ChainTx[] {
    return this.sql.exec<{ data: string }>("SELECT data FROM chain_txs ORDER BY seq").toArray().map((r) => JSON.parse(r.data) as ChainTx);
  }

  private hubTxs(): ChainTx[] {
    return this.sql.exec<{ data: string }>("SELECT data FROM chain_txs WHERE hub = 1 ORDER BY seq").toArray().map((r) => JSON.parse(r.data) as ChainTx);
  }

  private byId(txid: string): ChainTx | null {
    const data = this.sql.exec<{ data: string }>("SELECT data FROM chain_txs WHERE txid = ?", txid).toArray()[0]?.data;
    return data ? (JSON.parse(data) as ChainTx) : null;
  }

  private hubAddresses(addresses: string[]): Set<string> {
    if (addresses.length === 0) return new Set();
    const rows = this.sql.exec<{ address: string }>(
      `SELECT address FROM chain_addresses WHERE owner = 'hub' AND address IN (${addresses.map(() => "?").join(",")})`,
      ...addresses,
    );
    return new Set(rows.toArray().map((r) => r.address));
  }

  private isHub(t: ChainTx): boolean {
    return t.hub_input_sat > 0 || this.hubAddresses(t.outputs.map((o) => o.address)).size > 0;
  }

  private confirmations(t: ChainTx): number {
    return t.block === null ? 0 : this.mined() - t.block + 1;
  }

  private balances(): { confirmed: number; unconfirmed: number } {
    let confirmed = ONCHAIN_CONFIRMED_SAT;
    let unconfirmed = 0;
    for (const t of this.hubTxs()) {
      const ours = this.hubAddresses(t.outputs.map((o) => o.address));
      const received = t.outputs.filter((o) => ours.has(o.address)).reduce((s, o) => s + o.amount_sat, 0);
      if (this.confirmations(t) > 0) confirmed += received;
      else unconfirmed += received;
      confirmed -= t.hub_input_sat;
    }
    return { confirmed, unconfirmed };
  }

  private notify(t: ChainTx): void {
    if (t.silent) return;
    const json = this.json(t);
    for (const [stream] of this.streams.of("*")) stream.send(json);
  }

  /** lnrpc.Transaction as the gateway writes it. */
  private json(t: ChainTx): JsonObject {
    const ours = this.hubAddresses(t.outputs.map((o) => o.address));
    const received = t.outputs.filter((o) => ours.has(o.address)).reduce((s, o) => s + o.amount_sat, 0);
    const height = t.height ?? 0;
    return {
      tx_hash: t.txid,
      amount: int64(received - t.hub_input_sat),
      num_confirmations: this.confirmations(t),
      block_hash: t.height === null ? "" : bytesToHex(sha256(utf8ToBytes(`flash-lnd-sim/v1/block/${height}`))),
      block_height: height,
      time_stamp: int64(t.time_stamp),
      total_fees: int64(t.hub_input_sat > 0 ? t.fee_sat : 0),
      dest_addresses: t.outputs.map((o) => o.address),
      output_details: t.outputs.map((o, i) => ({
        output_type: scriptType(o.script),
        address: o.address,
        pk_script: o.script,
        output_index: int64(i),
        amount: int64(o.amount_sat),
        is_our_address: ours.has(o.address),
      })),
      raw_tx_hex: "",
      label: t.label,
      previous_outpoints: [],
    };
  }
}

/** A fresh regtest address: P2WPKH (default), P2TR, or nested P2SH. */
function randomAddress(type: string): string {
  const bytes = hexToBytes(randomHex32());
  if (type === "TAPROOT_PUBKEY" || type === "UNUSED_TAPROOT_PUBKEY" || type === "4" || type === "5") return bech32m.encode("bcrt", [1, ...bech32m.toWords(bytes)]);
  if (type === "NESTED_PUBKEY_HASH" || type === "UNUSED_NESTED_PUBKEY_HASH" || type === "1" || type === "3") return base58check.encode(new Uint8Array([0xc4, ...bytes.slice(0, 20)]));
  if (type !== "" && type !== "WITNESS_PUBKEY_HASH" && type !== "UNUSED_WITNESS_PUBKEY_HASH" && type !== "0" && type !== "2") {
    throw new GrpcError(Code.INVALID_ARGUMENT, `unknown address type ${type}`);
  }
  return bech32.encode("bcrt", [0, ...bech32.toWords(bytes.slice(0, 20))]);
}

/** The output script paying an address (hex). */
function scriptOf(address: string): string {
  if (address.startsWith("bcrt1")) {
    const codec = address[5] === "q" ? bech32 : bech32m;
    const { words } = codec.decode(address as `${string}1${string}`, 90);
    const program = codec.fromWords(words.slice(1));
    const version = words[0]!;
    return (version === 0 ? "00" : (0x50 + version).toString(16)) + program.length.toString(16).padStart(2, "0") + bytesToHex(program);
  }
  const payload = base58check.decode(address);
  const hash = bytesToHex(payload.slice(1));
  return payload[0] === 0xc4 ? `a914${hash}87` : `76a914${hash}88ac`;
}

function scriptType(script: string): string {
  if (script.startsWith("0014")) return "SCRIPT_TYPE_WITNESS_V0_PUBKEY_HASH";
  if (script.startsWith("0020")) return "SCRIPT_TYPE_WITNESS_V0_SCRIPT_HASH";
  if (script.startsWith("5120")) return "SCRIPT_TYPE_WITNESS_V1_TAPROOT";
  if (script.startsWith("a914")) return "SCRIPT_TYPE_SCRIPT_HASH";
  return "SCRIPT_TYPE_PUBKEY_HASH";
}
