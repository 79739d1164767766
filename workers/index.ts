import { createApp } from "./app";

export { WalletActor } from "../durable/wallet-actor";
export { AccountActor } from "../durable/account-actor";
export { UsernameActor } from "../durable/username-actor";

export default createApp();
