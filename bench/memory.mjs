#!/usr/bin/env node
// Memory per warm account, JS heap and native apart, and after eviction:
// `node bench/memory.mjs [--accounts 1000] [--idle-seconds 30]` (bench/lib/memory-probe.mjs; `npm run bench` runs it too).
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { bundle, generateJwk, BUILD } from "./lib/build.mjs";
import { probeAccountMemory } from "./lib/memory-probe.mjs";

const { values: opt } = parseArgs({ options: { accounts: { type: "string", default: "1000" }, "idle-seconds": { type: "string", default: "30" } } });
const sim = !!bundle().sim;
const dataDir = existsSync("/dev/shm") ? `/dev/shm/flash-hub-memory-${process.pid}` : join(BUILD, "data-memory");
const result = await probeAccountMemory({ jwk: await generateJwk(), sim, dataDir, accounts: Number(opt.accounts), idleS: Number(opt["idle-seconds"]), log: (...a) => console.error(...a) });
console.log(JSON.stringify(result, null, 2));
