import { createApp } from "./app";

export { WalletActor } from "../durable/wallet-actor";
export { AccountActor } from "../durable/account-actor";
export { UsernameActor } from "../durable/username-actor";
export { LightningNodeActor } from "../durable/lightning-node-actor";
export { ConversationActor } from "../durable/conversation-actor";
export { WebhookActor } from "../durable/webhook-actor";
export { SolvencyShardActor } from "../durable/solvency-shard-actor";
export { MetricsActor } from "../durable/metrics-actor";
export { RewardProgramActor } from "../durable/reward-program-actor";
export { RewardDirectoryActor } from "../durable/reward-directory-actor";

export default createApp();
