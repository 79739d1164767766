import { Webhook } from "standardwebhooks";
import { createLndClient } from "../../src/lightning";
import { checkBooks, checkConservation, type BooksReport } from "../../src/books";
import { api, testEnv, walletStub } from "../helpers";
import type { Account, Keyed, World } from "./runner";

/**
 * The simulation's invariants (docs/decisions/0024). `checkpoint` holds at any moment between two
 * steps, whatever is still in flight; `finalChecks` after quiescence. Each returns nothing and adds
 * what it finds to the world's violations, named by invariant (the shrinker keeps a failure's name).
 */

export interface Violation {
  invariant: string;
  detail: string;
}

const lnd = createLndClient({ baseUrl: "http://lnd", fetch: (input, init) => testEnv.LND_SIM!.fetch(input, init) });

const add = (world: World, invariant: string, detail: string) => world.violations.push({ invariant, detail });

async function get(path: string, token: string) {
  try {
    return await api("GET", path, { token });
  } catch (e) {
    return { status: 0, json: { error: String(e) }, headers: new Headers() };
  }
}

/** An account's whole event log, page by page. */
async function readLog(a: Account): Promise<any[] | null> {
  const events: any[] = [];
  for (;;) {
    const r = await get(`/v1/events?after=${events.length}&limit=1000`, a.access_token);
    if (r.status !== 200) return null;
    events.push(...r.json.events);
    if (r.json.events.length < 1000) return events;
  }
}

const canonical = (x: unknown) => JSON.stringify(x);

/** The books of every wallet, read until two reads in a row agree (nothing moved between them), or null. */
async function stableBooks(world: World, tries: number): Promise<BooksReport[] | null> {
  const read = () => Promise.all([...world.accounts.values()].map((a) => walletStub(a.wallet_id).books()));
  let last = await read();
  for (let i = 0; i < tries; i++) {
    const next = await read();
    const strip = (bs: BooksReport[]) => canonical(bs.map(({ memory_balance_msat: _m, ...rest }) => rest));
    if (strip(next) === strip(last)) return next;
    last = next;
    await new Promise((r) => setTimeout(r, 10));
  }
  return null;
}

/** The invariants that hold between any two steps. */
export async function checkpoint(world: World, final = false): Promise<void> {
  world.stats.checkpoints++;
  for (const a of world.accounts.values()) {
    // One wallet's books, read in one call of its actor: always consistent (src/books.ts), never negative, its log gapless.
    const books = await walletStub(a.wallet_id).books();
    for (const p of checkBooks(books)) add(world, "books", `wallet #${a.n}: ${p}`);
    // Its event log: gapless, and what was seen before is still there, unchanged.
    const log = await readLog(a);
    if (!log) {
      add(world, "event log", `wallet #${a.n}: the log could not be read`);
      continue;
    }
    log.forEach((e, i) => {
      if (e.seq !== i + 1) add(world, "event log gapless", `wallet #${a.n}: event #${i} has seq ${e.seq}`);
    });
    const seen = world.logs.get(a.n) ?? [];
    if (log.length < seen.length) add(world, "event log never rewritten", `wallet #${a.n}: ${seen.length} events seen, now ${log.length}`);
    for (let i = 0; i < Math.min(seen.length, log.length); i++) {
      if (canonical(seen[i]) !== canonical(log[i])) {
        add(world, "event log never rewritten", `wallet #${a.n}: seq ${i + 1} was ${canonical(seen[i])}, now ${canonical(log[i])}`);
        break;
      }
    }
    world.logs.set(a.n, log);
    // A chat message reaches a member's log at most once.
    const ids = log.filter((e) => e.type === "chat.message").map((e) => e.data.message.id as string);
    if (new Set(ids).size !== ids.length) add(world, "chat delivered once", `wallet #${a.n}: a message twice in its log: ${ids.filter((id, i) => ids.indexOf(id) !== i)}`);
  }
  // Money conserved over every wallet, exactly: read when nothing moves between two reads.
  const books = await stableBooks(world, final ? 20 : 3);
  if (!books) {
    if (final) add(world, "conservation", "the books never held still after quiescence");
    world.stats.conservation_skipped++;
    return;
  }
  world.stats.conservation_checked++;
  for (const p of checkConservation(books)) add(world, "conservation", p);
}

const isOk = (status: number) => status >= 200 && status < 300;

/** Every answer under one key tells the same thing: the same subject, a status that only moves forward. */
function checkKey(world: World, rec: Keyed): void {
  const certain = rec.answers.filter((a) => !a.uncertain);
  const oks = certain.filter((a) => isOk(a.status));
  const ids = new Set(oks.map((a) => rec.identity(a.json)));
  if (ids.size > 1) add(world, "idempotency", `key ${rec.key} (op ${rec.op.n} ${rec.op.t}): answers name ${[...ids].join(", ")}`);
  if (new Set(oks.map((a) => a.status)).size > 1) add(world, "idempotency", `key ${rec.key} (op ${rec.op.n} ${rec.op.t}): statuses ${oks.map((a) => a.status)}`);
  // Once a key has an answer, the same request never gets a refusal: only a refusal is not stored.
  const first = certain.findIndex((a) => isOk(a.status));
  if (first >= 0) {
    const later = certain.slice(first + 1).filter((a) => !isOk(a.status));
    if (later.length) add(world, "idempotency", `key ${rec.key} (op ${rec.op.n} ${rec.op.t}): answered ${certain[first]!.status}, then ${later.map((a) => `${a.status} ${canonical(a.json)}`).join("; ")}`);
  }
  // A payment's status only moves forward (pending → succeeded or failed).
  const outcome = (j: any) => j?.status ?? j?.message?.payment?.status ?? null;
  let final: string | null = null;
  for (const a of oks) {
    const s = outcome(a.json);
    if (s === "succeeded" || s === "failed") {
      if (final && s !== final) add(world, "idempotency", `key ${rec.key} (op ${rec.op.n} ${rec.op.t}): was ${final}, then ${s}`);
      final = s;
    } else if (s === "pending" && final) add(world, "idempotency", `key ${rec.key} (op ${rec.op.n} ${rec.op.t}): was ${final}, then pending`);
  }
}

async function allPages(path: string, token: string, field: string): Promise<any[] | null> {
  const out: any[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 200; i++) {
    const r = await get(`${path}${path.includes("?") ? "&" : "?"}limit=100${cursor ? `&cursor=${cursor}` : ""}`, token);
    if (r.status !== 200) return null;
    out.push(...r.json[field]);
    cursor = r.json.next_cursor;
    if (!cursor) return out;
  }
  return out;
}

async function conversationMessages(id: string, token: string): Promise<any[] | null> {
  const out: any[] = [];
  for (;;) {
    const r = await get(`/v1/conversations/${id}/messages?after=${out.length}&limit=100`, token);
    if (r.status !== 200) return null;
    out.push(...r.json.messages);
    if (r.json.messages.length < 100) return out;
  }
}

/** After quiescence: everything above, exactly, and nothing left pending that should be final. */
export async function finalChecks(world: World): Promise<void> {
  // Every request with an answer, sent once more: the same answer, now final.
  for (const rec of world.keyed.values()) {
    if (!rec.answers.some((a) => !a.uncertain && isOk(a.status))) continue;
    const account = world.accounts.get(rec.who);
    if (!account) continue;
    const r = await api(rec.method, rec.path, { body: rec.body, token: account.access_token, key: rec.key });
    rec.answers.push({ status: r.status, json: r.json, uncertain: false, final: true, step: Number.MAX_SAFE_INTEGER });
    const status = r.json?.status ?? r.json?.message?.payment?.status;
    if (status === "pending") add(world, "final after quiescence", `key ${rec.key} (op ${rec.op.n} ${rec.op.t}) still answers pending`);
  }
  for (const rec of world.keyed.values()) checkKey(world, rec);

  await checkpoint(world, true);

  for (const a of world.accounts.values()) {
    const books = await walletStub(a.wallet_id).books();
    if (books.undelivered_transfers || books.in_flight_msat || books.holds_msat || books.pending_holds_amount_msat) {
      add(world, "final after quiescence", `wallet #${a.n}: ${books.undelivered_transfers} undelivered, ${books.in_flight_msat} in flight, ${books.holds_msat} held`);
    }
    const txs = await allPages("/v1/wallet/transactions", a.access_token, "transactions");
    const pending = (txs ?? []).filter((t) => t.status === "pending");
    if (pending.length) add(world, "final after quiescence", `wallet #${a.n}: ${pending.length} pending transactions: ${pending.map((t) => `${t.kind} ${t.id}`).join(", ")}`);
  }

  // Faucet credits: each key credited once, exactly what its answers say.
  let faucetModel = 0;
  for (const rec of world.keyed.values()) {
    if (rec.op.t === "faucet" && rec.answers.some((a) => !a.uncertain && isOk(a.status))) faucetModel += rec.op.sat * 1000;
  }
  const books = await Promise.all([...world.accounts.values()].map((a) => walletStub(a.wallet_id).books()));
  const faucetBooks = -books.reduce((s, b) => s + b.faucet_msat, 0);
  if (faucetModel !== faucetBooks) add(world, "conservation", `faucet: the answers credited ${faucetModel} msat, the books ${faucetBooks}`);

  // Hub invoices: LND and the hub agree. Settled in LND (the outside world's HTLC taken) is paid in the hub, for
  // what LND took; an HTLC the outside world holds is settled or given back, never left; what the outside
  // world was told succeeded is settled.
  for (const [n, invoice] of world.invoices) {
    const a = world.accounts.get(invoice.account)!;
    const hub = (await get(`/v1/invoices/${invoice.payment_hash}`, a.access_token)).json;
    const node = await lnd.lookupInvoice(invoice.payment_hash).catch((e) => ({ state: `lookup failed: ${String(e)}`, amt_paid_msat: "0" }));
    const outside = world.paidIn.get(invoice.payment_hash);
    const where = `invoice of op ${n} (#${invoice.account}, ${invoice.payment_hash.slice(0, 12)}…)`;
    if (node.state === "SETTLED" && (hub?.status !== "paid" || hub?.paid_msat !== Number(node.amt_paid_msat))) {
      add(world, "invoices paid once", `${where}: LND settled ${node.amt_paid_msat} msat, the hub says ${hub?.status} ${hub?.paid_msat}`);
    }
    if (node.state !== "SETTLED" && node.state !== "CANCELED" && node.state !== "OPEN") add(world, "final after quiescence", `${where}: LND says ${node.state}`);
    if (outside?.status === "succeeded" && node.state !== "SETTLED") add(world, "invoices paid once", `${where}: the outside world was told it paid, LND says ${node.state}`);
    if (hub?.status === "paid" && node.state === "OPEN" && outside) add(world, "final after quiescence", `${where}: paid in the hub, and the outside world's HTLC is still open in LND`);
  }

  // Each wallet's balance is what the final answers say moved in and out of it (money to the right wallet,
  // not only conserved): faucet credits, intraledger, chat and Lightning payments as their answers finally
  // stand, request shares as their request's paid_by finally lists them, hub invoices as the hub says paid.
  await checkBalances(world);

  // Chat: every message of a conversation reaches each member's log exactly once, and only those; payments final.
  const byConversation = new Map<string, Set<string>>();
  for (const c of world.conversations.values()) {
    const owner = world.accounts.get(c.members[0]!)!;
    const messages = await conversationMessages(c.id, owner.access_token);
    if (!messages) {
      add(world, "chat delivered once", `conversation #${c.n}: its messages could not be read`);
      continue;
    }
    messages.forEach((m, i) => {
      if (m.seq !== i + 1) add(world, "chat delivered once", `conversation #${c.n}: message #${i} has seq ${m.seq}`);
      if (m.payment && m.payment.status === "pending") add(world, "final after quiescence", `conversation #${c.n}: payment message ${m.id} still pending`);
    });
    byConversation.set(c.id, new Set(messages.map((m) => m.id as string)));
    for (const [id, conv] of world.messages) if (conv === c.n && !messages.some((m) => m.id === id)) add(world, "chat delivered once", `conversation #${c.n}: message ${id} was answered 201 but is not in the conversation`);
  }
  for (const c of world.conversations.values()) {
    const ids = byConversation.get(c.id);
    if (!ids) continue;
    for (const m of c.members) {
      const log = world.logs.get(m) ?? [];
      const got = log.filter((e) => e.type === "chat.message" && e.data.conversation_id === c.id).map((e) => e.data.message.id as string);
      const missing = [...ids].filter((id) => !got.includes(id));
      const extra = got.filter((id) => !ids.has(id));
      if (missing.length || extra.length || got.length !== ids.size) {
        add(world, "chat delivered once", `conversation #${c.n}, member #${m}: ${missing.length} missing (${missing.slice(0, 3)}), ${extra.length} not in the conversation, ${got.length} logged of ${ids.size}`);
      }
    }
  }

  // Webhooks: every event after the endpoint's creation delivered at least once, signed, as the log has it.
  for (const e of world.endpoints) {
    const a = world.accounts.get(e.account)!;
    const received = (await (await fetch(`http://127.0.0.1:9999/_outside/recorded/${e.token}`)).json()) as { headers: Record<string, string>; body: string }[];
    const log = world.logs.get(e.account) ?? [];
    const verifiers = e.secrets.map((secret) => new Webhook(secret));
    const delivered = new Set<string>();
    received.forEach((d, i) => {
      // Signed by one of the endpoint's secrets (a rotation's old one signs alongside the new for 24 h).
      let payload: any = null;
      const errors: string[] = [];
      for (const verifier of verifiers) {
        try {
          payload = verifier.verify(d.body, d.headers);
          break;
        } catch (err) {
          errors.push(String(err));
        }
      }
      if (payload === null) {
        add(world, "webhooks signed", `endpoint of #${e.account}: delivery ${i} does not verify: ${errors.join("; ")}`);
        return;
      }
      const id = d.headers["webhook-id"]!;
      const seq = Number(id.split("_").pop());
      const event = log[seq - 1];
      const expected = event && { type: event.type, timestamp: event.created_at, data: { ...event.data, account_id: a.account_id } };
      if (id !== `evt_${a.account_id}_${seq}` || canonical(payload) !== canonical(expected)) {
        add(world, "webhooks as logged", `endpoint of #${e.account}: ${id} carries ${d.body.slice(0, 200)}, the log has ${canonical(event).slice(0, 200)}`);
      }
      if (i >= e.fail_first) delivered.add(id); // the receiver answered 2xx from then on
    });
    const missing = log.filter((ev) => ev.seq > e.after_seq && !delivered.has(`evt_${a.account_id}_${ev.seq}`)).map((ev) => ev.seq);
    if (missing.length) add(world, "webhooks delivered", `endpoint of #${e.account} (after seq ${e.after_seq}): ${missing.length} events never delivered (seq ${missing.slice(0, 10)})`);
    for (const status of ["pending", "failed"]) {
      const left = await get(`/v1/webhooks/${e.id}/deliveries?status=${status}&limit=100`, a.access_token);
      if (left.json?.deliveries?.length) add(world, "webhooks delivered", `endpoint of #${e.account}: ${left.json.deliveries.length} deliveries ${status} after quiescence`);
    }
  }
}

/** The last answer a key got: its replay after quiescence, else its last certain 2xx. */
function finalAnswer(rec: Keyed): any | null {
  const oks = rec.answers.filter((a) => !a.uncertain && isOk(a.status));
  return (rec.answers.find((a) => a.final && isOk(a.status)) ?? oks[oks.length - 1])?.json ?? null;
}

async function checkBalances(world: World): Promise<void> {
  // A request whose outcome is still unknown leaves the model unknown: nothing to compare.
  if ([...world.keyed.values()].some((rec) => rec.answers.length && rec.answers.every((a) => a.uncertain))) return;
  world.stats.balances_checked++;
  const expected = new Map<number, number>([...world.accounts.keys()].map((n) => [n, 0]));
  const byName = new Map([...world.accounts.values()].map((a) => [a.username, a.n]));
  const move = (n: number | undefined, msat: number) => {
    if (n !== undefined && expected.has(n)) expected.set(n, expected.get(n)! + msat);
  };
  for (const rec of world.keyed.values()) {
    const j = finalAnswer(rec);
    if (!j) continue;
    const op = rec.op;
    if (op.t === "faucet") move(rec.who, j.transaction.amount_msat);
    if (op.t === "pay" && j.status === "succeeded") {
      move(rec.who, -j.transaction.amount_msat);
      move(byName.get((rec.body as { to: string }).to), j.transaction.amount_msat);
    }
    if ((op.t === "payOut" || op.t === "payInternal") && j.status === "succeeded") move(rec.who, -(j.amount_msat + j.fee_msat));
    if (op.t === "chatPay" && j.message?.payment?.status === "succeeded") {
      move(rec.who, -j.message.payment.amount_msat);
      move(byName.get(j.message.payment.to), j.message.payment.amount_msat);
    }
  }
  for (const invoice of world.invoices.values()) {
    const owner = world.accounts.get(invoice.account)!;
    const hub = (await get(`/v1/invoices/${invoice.payment_hash}`, owner.access_token)).json;
    if (hub?.status === "paid") move(invoice.account, hub.paid_msat);
  }
  const seenRequests = new Set<string>();
  for (const req of world.requests.values()) {
    const conv = world.conversations.get(req.conversation);
    const from = world.accounts.get(req.from);
    if (!conv || !from || seenRequests.has(req.message_id)) continue;
    seenRequests.add(req.message_id);
    const messages = await conversationMessages(conv.id, from.access_token);
    const message = messages?.find((m) => m.id === req.message_id);
    if (!message) continue;
    for (const payer of message.request.paid_by as string[]) {
      move(byName.get(payer), -message.request.amount_msat);
      move(req.from, message.request.amount_msat);
    }
  }
  for (const a of world.accounts.values()) {
    const balance = (await walletStub(a.wallet_id).books()).balance_msat;
    if (balance !== expected.get(a.n)) add(world, "balances as answered", `wallet #${a.n}: balance ${balance} msat, the final answers add up to ${expected.get(a.n)}`);
  }
}
