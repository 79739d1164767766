import { DurableObject } from "cloudflare:workers";
export class WalletActor extends DurableObject { async ping() { this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t(x)"); return "pong"; } }
export class AccountActor extends DurableObject {}
export class UsernameActor extends DurableObject {}
export default { fetch() { return new Response("ok"); } };
