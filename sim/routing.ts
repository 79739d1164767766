// Pathfinding over the simulated graph, as LND's router sees it: it knows
// every channel's policy, only its own channels' balances, and charges no
// fee on its own first hop. Routes come cheapest first; remote liquidity is
// discovered when an attempt is made (see attemptFailure).

import type { ChannelBalance, Route, RouteHop } from "./store";
import {
  BLOCK_PADDING,
  CHANNELS,
  NODES,
  peerOf,
  routingFee,
  sideOf,
  type ChannelDef,
  type NodeName,
} from "./topology";

const MAX_HOPS = 6;

interface Step {
  channel: ChannelDef;
  from: NodeName;
  to: NodeName;
}

/** Simple paths from `from` to `to` (a cycle back to `from` when they are equal). */
function paths(from: NodeName, to: NodeName): Step[][] {
  const out: Step[][] = [];
  const walk = (at: NodeName, visited: Set<NodeName>, steps: Step[]) => {
    if (steps.length >= MAX_HOPS) return;
    for (const channel of CHANNELS) {
      if (channel.a !== at && channel.b !== at) continue;
      const next = peerOf(channel, at);
      const step = { channel, from: at, to: next };
      if (next === to) {
        if (steps.length > 0 || to !== from) out.push([...steps, step]);
        continue;
      }
      if (visited.has(next)) continue;
      visited.add(next);
      walk(next, visited, [...steps, step]);
      visited.delete(next);
    }
  };
  walk(from, new Set([from]), []);
  return out;
}

/** Fees and time locks backwards from the destination, as LND's newRoute does. */
function buildRoute(steps: Step[], amountMsat: number, finalCltvDelta: number, height: number): Route {
  const n = steps.length;
  const htlcAmt = new Array<number>(n);
  const htlcExpiry = new Array<number>(n);
  htlcAmt[n - 1] = amountMsat;
  htlcExpiry[n - 1] = height + finalCltvDelta + BLOCK_PADDING;
  for (let k = n - 2; k >= 0; k--) {
    const forward = steps[k + 1] as Step;
    const policy = forward.channel.policy[sideOf(forward.channel, forward.from)];
    htlcAmt[k] = (htlcAmt[k + 1] as number) + routingFee(policy, htlcAmt[k + 1] as number);
    htlcExpiry[k] = (htlcExpiry[k + 1] as number) + policy.cltvDelta;
  }
  const hops: RouteHop[] = steps.map((s, k) => {
    const forwarded = k === n - 1 ? amountMsat : (htlcAmt[k + 1] as number);
    return {
      chanId: s.channel.chanId,
      chanCapacitySat: s.channel.capacitySat,
      pubkey: NODES[s.to].pubkey,
      node: s.to,
      amtToForwardMsat: forwarded,
      feeMsat: (htlcAmt[k] as number) - forwarded,
      expiry: k === n - 1 ? (htlcExpiry[k] as number) : (htlcExpiry[k + 1] as number),
    };
  });
  return {
    totalTimeLock: htlcExpiry[0] as number,
    totalFeesMsat: (htlcAmt[0] as number) - amountMsat,
    totalAmtMsat: htlcAmt[0] as number,
    hops,
    nodes: [steps[0]!.from, ...steps.map((s) => s.to)],
  };
}

export interface RouteRequest {
  from: NodeName;
  to: NodeName;
  amountMsat: number;
  finalCltvDelta: number;
  height: number;
  balances: Map<string, ChannelBalance>;
  feeLimitMsat?: number;
  /** allowed first-hop channels (empty: any). */
  outgoingChanIds?: string[];
  lastHopPubkey?: string;
}

/** Candidate routes, cheapest first; the sender's own balances and every policy limit are respected. */
export function findRoutes(req: RouteRequest): Route[] {
  const routes: Route[] = [];
  for (const steps of paths(req.from, req.to)) {
    const route = buildRoute(steps, req.amountMsat, req.finalCltvDelta, req.height);
    if (req.feeLimitMsat !== undefined && route.totalFeesMsat > req.feeLimitMsat) continue;
    const first = steps[0] as Step;
    if (req.outgoingChanIds?.length && !req.outgoingChanIds.includes(first.channel.chanId)) continue;
    if (req.lastHopPubkey && NODES[steps[steps.length - 1]!.from].pubkey !== req.lastHopPubkey) continue;
    if (localBalance(req.balances, first.channel, first.from) < route.totalAmtMsat) continue;
    const withinLimits = steps.every((s, k) => {
      const p = s.channel.policy[sideOf(s.channel, s.from)];
      const amt = k === 0 ? route.totalAmtMsat : route.hops[k - 1]!.amtToForwardMsat;
      return amt >= p.minHtlcMsat && amt <= p.maxHtlcMsat;
    });
    if (withinLimits) routes.push(route);
  }
  return routes.sort((x, y) => x.totalFeesMsat - y.totalFeesMsat || x.hops.length - y.hops.length);
}

/** A node's spendable balance on one of its channels. */
export function localBalance(balances: Map<string, ChannelBalance>, channel: ChannelDef, node: NodeName): number {
  const b = balances.get(channel.chanId);
  if (!b) return 0;
  return sideOf(channel, node) === "a" ? b.aMsat : b.bMsat;
}

/** Total spendable balance of a node over all its channels. */
export function totalOutbound(balances: Map<string, ChannelBalance>, node: NodeName): number {
  return CHANNELS.filter((c) => c.a === node || c.b === node).reduce((sum, c) => sum + localBalance(balances, c, node), 0);
}

/** The position (0 = sender) of the first node that cannot forward along `route`, or null. */
export function attemptFailure(route: Route, balances: Map<string, ChannelBalance>): number | null {
  for (let k = 0; k < route.hops.length; k++) {
    const channel = CHANNELS.find((c) => c.chanId === route.hops[k]!.chanId) as ChannelDef;
    const amt = k === 0 ? route.totalAmtMsat : route.hops[k - 1]!.amtToForwardMsat;
    if (localBalance(balances, channel, route.nodes[k] as NodeName) < amt) return k;
  }
  return null;
}
