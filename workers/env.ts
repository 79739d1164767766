import type { Env } from "../durable/env";
import type { Principal } from "../src/auth/tokens";

export { accountActor, conversationActor, isDevelopment, lightningNode, limitsOff, rewardDirectory, rewardProgramActor, solvencyShard, usernameActor, walletActor, webhookActor, type Env } from "../durable/env";

export interface AppEnv {
  Bindings: Env;
  Variables: { principal: Principal };
}
