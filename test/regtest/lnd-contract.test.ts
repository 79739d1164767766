// The LND contract suite (test/contract/lnd-suite.ts) against real lnd 0.21.3: the hub node of
// the regtest network (alice and bob play the outside world). `npm run test:regtest`.
// The same suite runs against the simulator in test/lnd-contract.test.ts.

import { describe, it } from "vitest";
import { lndContractSuite } from "../contract/lnd-suite";
import { lndHarness, regtestContext } from "./regtest";

const ctx = regtestContext();
if (ctx) lndContractSuite(lndHarness(ctx));
else describe.skip("LND contract suite against real lnd (run with npm run test:regtest)", () => it("needs the regtest network"));
