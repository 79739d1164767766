import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { InvalidInvoiceError } from "./errors";
import type { RouteHint, RouteHintHop } from "./types";

/** Each `r` entry: pubkey (33) + short_channel_id (8) + fee_base_msat (4) + fee_proportional_millionths (4) + cltv_expiry_delta (2). */
const HOP_BYTES = 51;

/** A short_channel_id is block height (3 bytes), transaction index (3 bytes), output index (2 bytes). */
function readShortChannelId(bytes: Uint8Array): string {
  const block = (bytes[0]! << 16) | (bytes[1]! << 8) | bytes[2]!;
  const tx = (bytes[3]! << 16) | (bytes[4]! << 8) | bytes[5]!;
  const out = (bytes[6]! << 8) | bytes[7]!;
  return `${block}x${tx}x${out}`;
}

function writeShortChannelId(scid: string): Uint8Array {
  const match = /^(\d+)x(\d+)x(\d+)$/.exec(scid);
  const [block, tx, out] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [NaN, NaN, NaN];
  if (!(block < 2 ** 24 && tx < 2 ** 24 && out < 2 ** 16)) {
    throw new RangeError(`short_channel_id must be "BLOCKxTXxOUT" within 24/24/16 bits, got "${scid}"`);
  }
  return Uint8Array.of(block >> 16, (block >> 8) & 255, block & 255, tx >> 16, (tx >> 8) & 255, tx & 255, out >> 8, out & 255);
}

/** Decodes the bytes of one `r` field into its hops. */
export function readRouteHint(bytes: Uint8Array): RouteHint {
  if (bytes.length === 0 || bytes.length % HOP_BYTES !== 0) {
    throw new InvalidInvoiceError(`route hint field of ${bytes.length} bytes is not a whole number of hops`);
  }
  const hops: RouteHint = [];
  for (let at = 0; at < bytes.length; at += HOP_BYTES) {
    const hop = bytes.subarray(at, at + HOP_BYTES);
    const view = new DataView(hop.buffer, hop.byteOffset, hop.byteLength);
    hops.push({
      pubkey: bytesToHex(hop.subarray(0, 33)),
      short_channel_id: readShortChannelId(hop.subarray(33, 41)),
      fee_base_msat: view.getUint32(41),
      fee_proportional_millionths: view.getUint32(45),
      cltv_expiry_delta: view.getUint16(49),
    });
  }
  return hops;
}

function checkUint(name: string, value: number, bits: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new RangeError(`route hint ${name} must be an unsigned ${bits}-bit integer, got ${value}`);
  }
}

/** Encodes one private route as the bytes of an `r` field. */
export function writeRouteHint(hint: RouteHint): Uint8Array {
  if (hint.length === 0) throw new RangeError("a route hint needs at least one hop");
  const bytes = new Uint8Array(hint.length * HOP_BYTES);
  hint.forEach((hop: RouteHintHop, i) => {
    const at = i * HOP_BYTES;
    const pubkey = hexToBytes(hop.pubkey);
    if (pubkey.length !== 33) throw new RangeError("route hint pubkey must be 33 bytes");
    checkUint("fee_base_msat", hop.fee_base_msat, 32);
    checkUint("fee_proportional_millionths", hop.fee_proportional_millionths, 32);
    checkUint("cltv_expiry_delta", hop.cltv_expiry_delta, 16);
    bytes.set(pubkey, at);
    bytes.set(writeShortChannelId(hop.short_channel_id), at + 33);
    const view = new DataView(bytes.buffer, at + 41, 10);
    view.setUint32(0, hop.fee_base_msat);
    view.setUint32(4, hop.fee_proportional_millionths);
    view.setUint16(8, hop.cltv_expiry_delta);
  });
  return bytes;
}
