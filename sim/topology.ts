// The simulated network's fixed shape: nodes with deterministic secp256k1
// keys, channels between them with their fee policies and opening balances,
// and the regtest chain tip. Balances change at run time (see store.ts);
// nothing else here does.

import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import * as secp from "@noble/secp256k1";
import { bytesToHex } from "./wire";

export type NodeName = "hub" | "alice" | "bob" | "carol" | "dave" | "erin";
export const OUTSIDE_NODES: readonly NodeName[] = ["alice", "bob", "carol", "dave", "erin"];

export interface SimNode {
  name: NodeName;
  alias: string;
  color: string;
  privateKey: Uint8Array;
  /** 33-byte compressed public key, hex. */
  pubkey: string;
}

/** One direction of a channel: what its sending node charges to forward over it. */
export interface Policy {
  baseMsat: number;
  ppm: number;
  cltvDelta: number;
  minHtlcMsat: number;
  maxHtlcMsat: number;
}

export interface ChannelDef {
  /** short channel id as a decimal uint64. */
  chanId: string;
  /** "BLOCKxTXxOUT". */
  scid: string;
  channelPoint: string;
  a: NodeName;
  b: NodeName;
  capacitySat: number;
  /** the side that opened (and funds the commitment fee and anchors). */
  initiator: NodeName;
  commitFeeSat: number;
  /** opening balances in msat, after the initiator's commitment fee and anchors. */
  openingMsat: Record<"a" | "b", number>;
  policy: Record<"a" | "b", Policy>;
}

/** Every key derives from this seed, so invoices verify across restarts. */
const SEED = "flash-lnd-sim/v1";
const ANCHORS_SAT = 660;
/** The hub node's CLTV delta and its default final CLTV delta for invoices. */
export const HUB_CLTV_DELTA = 80;
/** Outside nodes' invoices ask for this final CLTV delta. */
export const OUTSIDE_FINAL_CLTV = 40;
/** routing.BlockPadding: added by LND's router to the final hop's CLTV. */
export const BLOCK_PADDING = 3;

function makeNode(name: NodeName, alias: string, color: string): SimNode {
  const privateKey = sha256(utf8ToBytes(`${SEED}/node/${name}`));
  return { name, alias, color, privateKey, pubkey: bytesToHex(secp.getPublicKey(privateKey, true)) };
}

export const NODES: Record<NodeName, SimNode> = {
  hub: makeNode("hub", "flash-hub", "#f7931a"),
  alice: makeNode("alice", "alice", "#e91e63"),
  bob: makeNode("bob", "bob", "#3f51b5"),
  carol: makeNode("carol", "carol", "#009688"),
  dave: makeNode("dave", "dave", "#795548"),
  erin: makeNode("erin", "erin", "#607d8b"),
};

export const HUB = NODES.hub;

export function nodeByPubkey(pubkey: string): SimNode | undefined {
  return Object.values(NODES).find((n) => n.pubkey === pubkey.toLowerCase());
}

const policy = (baseMsat: number, ppm: number, cltvDelta = 40): Policy => ({
  baseMsat,
  ppm,
  cltvDelta,
  minHtlcMsat: 1000,
  maxHtlcMsat: 990_000_000_000,
});

function channel(
  block: number,
  a: NodeName,
  b: NodeName,
  capacitySat: number,
  initiator: "a" | "b",
  policies: [Policy, Policy],
): ChannelDef {
  const chanId = ((BigInt(block) << 40n) | (1n << 16n)).toString();
  const commitFeeSat = 2_830;
  const half = (capacitySat / 2) * 1000;
  const funded = half - (commitFeeSat + ANCHORS_SAT) * 1000;
  const txid = bytesToHex(sha256(utf8ToBytes(`${SEED}/funding/${a}-${b}`)));
  return {
    chanId,
    scid: `${block}x1x0`,
    channelPoint: `${txid}:0`,
    a,
    b,
    capacitySat,
    initiator: initiator === "a" ? a : b,
    commitFeeSat,
    openingMsat: initiator === "a" ? { a: funded, b: half } : { a: half, b: funded },
    policy: { a: policies[0], b: policies[1] },
  };
}

/**
 * The hub has four channels (three it opened, one carol opened to it). Dave,
 * the default payee and payer, is two hops away: through bob (cheapest for
 * small amounts), alice (cheapest for large ones) or carol (never cheapest).
 * Erin is a leaf with only a channel to the hub, which no route to anyone else
 * crosses: tests that check exact balance changes pay and get paid by erin.
 */
export const CHANNELS: readonly ChannelDef[] = [
  channel(101, "hub", "alice", 40_000_000, "a", [policy(1000, 1, HUB_CLTV_DELTA), policy(1000, 200)]),
  channel(102, "hub", "bob", 40_000_000, "a", [policy(1000, 1, HUB_CLTV_DELTA), policy(500, 400)]),
  channel(103, "hub", "carol", 10_000_000, "b", [policy(1000, 1, HUB_CLTV_DELTA), policy(2000, 2000)]),
  channel(104, "hub", "erin", 10_000_000, "a", [policy(1000, 1, HUB_CLTV_DELTA), policy(1000, 1)]),
  channel(105, "alice", "dave", 100_000_000, "a", [policy(1000, 100), policy(1000, 100)]),
  channel(106, "bob", "dave", 100_000_000, "a", [policy(0, 500), policy(0, 500)]),
  channel(107, "carol", "dave", 100_000_000, "b", [policy(2000, 1000), policy(2000, 1000)]),
  channel(108, "alice", "bob", 50_000_000, "a", [policy(500, 250), policy(500, 250)]),
];

export const HUB_CHANNELS = CHANNELS.filter((c) => c.a === "hub" || c.b === "hub");

export function channelById(chanId: string): ChannelDef | undefined {
  return CHANNELS.find((c) => c.chanId === chanId);
}

/** The side of `channel` that `node` is on. */
export const sideOf = (channel: ChannelDef, node: NodeName): "a" | "b" => (channel.a === node ? "a" : "b");
export const peerOf = (channel: ChannelDef, node: NodeName): NodeName => (channel.a === node ? channel.b : channel.a);

export const routingFee = (p: Policy, amountMsat: number): number => p.baseMsat + Math.floor((amountMsat * p.ppm) / 1_000_000);

// ---- chain ----

const FIRST_BLOCK = 500;
const BLOCK_INTERVAL_MS = 10 * 60_000;

/** A regtest chain that mines a block every ten minutes after `genesisMs`, and `minedOnDemand` more (/sim/mine). */
export function chainTip(genesisMs: number, nowMs: number, minedOnDemand = 0): { height: number; hash: string; timestamp: number } {
  const mined = Math.max(0, Math.floor((nowMs - genesisMs) / BLOCK_INTERVAL_MS));
  const height = FIRST_BLOCK + mined + minedOnDemand;
  const hash = bytesToHex(sha256(utf8ToBytes(`${SEED}/block/${height}`)));
  return { height, hash, timestamp: Math.floor((genesisMs + mined * BLOCK_INTERVAL_MS) / 1000) };
}

/** The hub node's confirmed on-chain funds at the start (deposits and withdrawals move them: sim/chain.ts). */
export const ONCHAIN_CONFIRMED_SAT = 200_000_000;
