// SimNetwork: the one Durable Object ("default") that holds the whole
// simulated network on its SQLite storage and serves both LND's REST routes
// and the /sim/ control routes. Open streams live in its memory; timed work
// (invoice expiry, held payments) runs from its alarm and on every request.

import { DurableObject } from "cloudflare:workers";
import { Chain } from "./chain";
import { ChannelOpens } from "./channel-opens";
import { SimContext } from "./context";
import { Control, type KnobAccess } from "./control";
import { Events } from "./events";
import { InvoiceBook } from "./invoices";
import { DEFAULT_KNOBS, scopeOf, type Knobs } from "./knobs";
import { LndApi } from "./lnd-api";
import { PaymentBook } from "./payments";
import { Store } from "./store";

export interface SimEnv {
  SIM: DurableObjectNamespace<SimNetwork>;
  /** when set, LND routes require this macaroon (hex) in Grpc-Metadata-macaroon. */
  SIM_MACAROON_HEX?: string;
}

/** Marks a response the Worker turns into a dropped connection. */
export const DROP_HEADER = "X-Sim-Drop-Connection";

/** What a Cloudflare Tunnel answers when the origin behind it is down. */
const TUNNEL_DOWN_PAGE =
  "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>" +
  "<body><h1>Service Unavailable</h1><p>The origin is unreachable (simulated).</p></body></html>";

export class SimNetwork extends DurableObject<SimEnv> implements KnobAccess {
  private readonly store: Store;
  private readonly events = new Events();
  private readonly sim: SimContext;
  private readonly invoices: InvoiceBook;
  private readonly payments: PaymentBook;
  private readonly chain: Chain;
  private readonly opens: ChannelOpens;
  private readonly lnd: LndApi;
  private readonly control: Control;
  private alarmAtMs: number | null = null;

  constructor(ctx: DurableObjectState, env: SimEnv) {
    super(ctx, env);
    this.store = new Store(ctx.storage.sql);
    this.sim = new SimContext(this.store, this.events, () => this.schedule());
    let payments: PaymentBook | undefined;
    this.invoices = new InvoiceBook(this.sim, (chain, preimage) => payments?.chainResolved(chain, preimage));
    this.payments = payments = new PaymentBook(this.sim, this.invoices);
    this.chain = new Chain(ctx.storage.sql, this.sim);
    this.opens = new ChannelOpens(ctx.storage.sql, this.chain);
    this.lnd = new LndApi(this.sim, this.invoices, this.payments, this.chain, this.opens);
    this.control = new Control(this.sim, this.invoices, this.payments, this, this.chain);
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const { scope, path } = scopeOf(request, url);
    this.runDue();
    if (path === "/sim" || path.startsWith("/sim/")) return this.control.handle(request, path, scope);

    const knobs = this.effective(scope);
    if (knobs.unreachable === "503") {
      return new Response(TUNNEL_DOWN_PAGE, { status: 503, headers: { "Content-Type": "text/html" } });
    }
    if (knobs.unreachable === "drop") return new Response(null, { status: 502, headers: { [DROP_HEADER]: "1" } });
    if (knobs.slow_ms > 0) {
      await new Promise((resolve) => setTimeout(resolve, knobs.slow_ms));
      this.runDue();
    }
    return this.lnd.handle(request, path, knobs, this.env.SIM_MACAROON_HEX);
  }

  override async alarm(): Promise<void> {
    this.alarmAtMs = null;
    this.runDue();
  }

  /** Expires invoices and resolves held payments whose time has come, then sets the next alarm. */
  private runDue(): void {
    this.invoices.expireDue();
    this.payments.resolveDue();
    this.schedule();
  }

  private schedule(): void {
    const next = [this.store.nextInvoiceExpiryMs(), this.store.nextPaymentResolveMs()]
      .filter((t): t is number => t !== null)
      .reduce<number | null>((min, t) => (min === null || t < min ? t : min), null);
    if (next === null || next === this.alarmAtMs) return;
    this.alarmAtMs = next;
    void this.ctx.storage.setAlarm(next);
  }

  // ---- knobs (KnobAccess) ----

  effective(scope: string): Knobs {
    return { ...DEFAULT_KNOBS, ...this.store.knobs(scope) } as Knobs;
  }

  set(scope: string, knobs: Partial<Knobs>): Knobs {
    this.store.setKnobs(scope, knobs);
    return this.effective(scope);
  }

  reset(scope: string): void {
    this.store.deleteKnobs(scope);
  }

  resetNetwork(): void {
    this.events.closeAll();
    this.chain.wipe();
    this.opens.wipe();
    this.store.wipe();
    this.alarmAtMs = null;
    void this.ctx.storage.deleteAlarm();
  }
}
