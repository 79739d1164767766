import { useEffect, useState } from "preact/hooks";
import type { ChatMessage, components } from "@flash-hub/sdk";
import { describe, formatSat, needsTotp, type Account } from "../account.ts";
import { ErrorAlert, TotpField } from "../components/form-parts.tsx";

type Summary = components["schemas"]["ConversationSummary"];

const newKey = () => crypto.randomUUID();

function fail(result: { error?: unknown; response: Response }): never {
  const body = result.error as { error?: { message?: string } } | undefined;
  throw new Error(body?.error?.message ?? `${result.response.status} ${result.response.statusText}`);
}

/** Conversations (direct and group), their messages live, and a composer for text, encrypted text, payments and requests. */
export function ChatView({ account }: { account: Account }) {
  const [conversations, setConversations] = useState<Summary[]>([]);
  const [openId, setOpenId] = useState<string | null>(null);
  const [error, setError] = useState("");

  const reload = async () => {
    const result = await account.hub.api.GET("/v1/conversations", { params: { query: { limit: 50 } } });
    if (!result.data) fail(result);
    setConversations(result.data.conversations);
  };

  useEffect(() => {
    reload().catch((e) => setError(describe(e)));
    return account.onEvent((event) => {
      if (event.type.startsWith("chat.")) reload().catch((e) => setError(describe(e)));
    });
  }, [account]);

  async function create(event: Event) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const members = String(data.get("members")).split(/[\s,]+/).filter(Boolean);
    const title = String(data.get("title") ?? "").trim() || undefined;
    setError("");
    try {
      const conversation = await account.hub.openConversation(members, title);
      form.reset();
      await reload();
      setOpenId(conversation.conversation_id);
    } catch (e) {
      setError(describe(e));
    }
  }

  const open = conversations.find((c) => c.conversation_id === openId);
  return (
    <section aria-labelledby="chat-title" class="chat">
      <h2 id="chat-title">Chat</h2>
      <div class="chat-layout">
        <nav aria-label="Conversations">
          <form class="card" onSubmit={create}>
            <label>
              With <span class="muted">(usernames, comma-separated)</span>
              <input name="members" required maxLength={1000} autoComplete="off" />
            </label>
            <label>
              Title <span class="muted">(groups, optional)</span>
              <input name="title" maxLength={100} />
            </label>
            <button type="submit">Start conversation</button>
          </form>
          <ErrorAlert error={error} />
          <ul class="conversations">
            {conversations.map((c) => (
              <li key={c.conversation_id}>
                <button type="button" aria-current={c.conversation_id === openId} onClick={() => setOpenId(c.conversation_id)}>
                  {nameOf(c, account.username)}
                  {c.unread_count > 0 && <span class="badge"> {c.unread_count} new</span>}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        {open ? <Conversation key={open.conversation_id} account={account} conversation={open} /> : <p class="muted">Pick or start a conversation.</p>}
      </div>
    </section>
  );
}

function nameOf(c: Summary, me: string) {
  return c.title ?? c.members.map((m) => m.username).filter((u) => u !== me).join(", ");
}

function Conversation({ account, conversation }: { account: Account; conversation: Summary }) {
  const id = conversation.conversation_id;
  const others = conversation.members.map((m) => m.username).filter((u) => u !== account.username);
  const direct = conversation.kind === "direct";
  const counterparty = direct ? others[0] : undefined;
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [clear, setClear] = useState<Record<string, string>>({});
  const [encrypt, setEncrypt] = useState(direct);
  const [askTotp, setAskTotp] = useState(false);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const load = async () => {
    const result = await account.hub.api.GET("/v1/conversations/{id}/messages", { params: { path: { id }, query: { limit: 50 } } });
    if (!result.data) fail(result);
    const sorted = [...result.data.messages].sort((a, b) => a.seq - b.seq);
    setMessages(sorted);
    const last = sorted.at(-1);
    if (last) await account.hub.api.POST("/v1/conversations/{id}/read", { params: { path: { id } }, body: { seq: last.seq } });
    // Encrypted messages are read here, with this device's key: the hub only ever has the ciphertext.
    for (const m of sorted) {
      if (m.ciphertext === null || !counterparty) continue;
      account.hub.readMessage(m, counterparty, account.encryptionKey).then(
        (text) => setClear((known) => ({ ...known, [m.id]: text ?? "" })),
        () => setClear((known) => ({ ...known, [m.id]: "" })),
      );
    }
  };

  useEffect(() => {
    load().catch((e) => setError(describe(e)));
    return account.onEvent((event) => {
      if ((event.type === "chat.message" || event.type === "chat.updated") && event.data.conversation_id === id) load().catch((e) => setError(describe(e)));
    });
  }, [account, id]);

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const action = (event.submitter as HTMLButtonElement | null)?.value ?? "send";
    const text = String(data.get("text") ?? "").trim();
    const amountSat = Number(data.get("amount") || 0);
    const to = String(data.get("to") ?? "") || counterparty;
    const totpCode = String(data.get("totp") ?? "").trim() || undefined;
    setError("");
    // The composer is disabled while its message goes: what is typed meanwhile would be cleared with the form.
    setBusy(true);
    try {
      if (action === "pay") {
        if (!amountSat) throw new Error("say how much to pay");
        await account.hub.payInChat(id, amountSat, { to, ...(text ? { text } : {}), totpCode });
      } else if (action === "request") {
        if (!amountSat) throw new Error("say how much to request");
        const result = await account.hub.api.POST("/v1/conversations/{id}/messages", {
          params: { path: { id }, header: { "idempotency-key": newKey() } },
          body: { request: { amount_sat: amountSat, ...(text ? { text } : {}) } },
        });
        if (!result.data) fail(result);
      } else {
        if (!text) throw new Error("write a message");
        if (encrypt && counterparty) await account.hub.sendEncrypted(id, counterparty, text, account.encryptionKey);
        else await account.hub.sendText(id, text);
      }
      form.reset();
      setAskTotp(false);
      await load();
    } catch (e) {
      if (needsTotp(e)) setAskTotp(true);
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }

  async function payRequest(message: ChatMessage) {
    setError("");
    const result = await account.hub.api.POST("/v1/conversations/{id}/messages/{message_id}/pay", {
      params: { path: { id, message_id: message.id }, header: { "idempotency-key": newKey() } },
    });
    if (!result.data) {
      const body = result.error as { error?: { message?: string } } | undefined;
      setError(body?.error?.message ?? "the request could not be paid");
    }
    await load().catch(() => {});
  }

  return (
    <article class="conversation" aria-label={`Conversation with ${others.join(", ")}`}>
      <h3>
        {conversation.title ?? others.join(", ")} <span class="muted">({direct ? "direct" : `group of ${conversation.members.length}`})</span>
      </h3>
      <ol class="messages" aria-live="polite" data-testid="messages">
        {messages.map((m) => (
          <li key={m.id} class={m.sender === account.username ? "mine" : "theirs"} data-kind={m.kind}>
            <span class="sender">{m.sender}</span>
            <MessageBody message={m} clearText={clear[m.id]} me={account.username} onPay={payRequest} />
          </li>
        ))}
      </ol>
      <form class="composer" onSubmit={(e) => void submit(e as unknown as SubmitEvent)}>
        <fieldset disabled={busy}>
          <legend class="visually-hidden">New message</legend>
          <label>
            Message
            <input name="text" maxLength={2000} autoComplete="off" />
          </label>
          {direct && (
            <label class="inline">
              <input type="checkbox" checked={encrypt} onChange={(e) => setEncrypt(e.currentTarget.checked)} /> Encrypt end to end
            </label>
          )}
          <label>
            Amount (sat) <span class="muted">(to pay or request)</span>
            <input name="amount" type="number" min={1} step={1} inputMode="numeric" />
          </label>
          {!direct && (
            <label>
              Pay whom
              <select name="to">
                {others.map((u) => (
                  <option key={u} value={u}>
                    {u}
                  </option>
                ))}
              </select>
            </label>
          )}
          {askTotp && <TotpField />}
          <ErrorAlert error={error} />
          <div class="buttons">
            <button type="submit" name="action" value="send">
              Send
            </button>
            <button type="submit" name="action" value="pay">
              Pay
            </button>
            <button type="submit" name="action" value="request">
              Request
            </button>
          </div>
        </fieldset>
      </form>
    </article>
  );
}

function MessageBody({ message: m, clearText, me, onPay }: { message: ChatMessage; clearText: string | undefined; me: string; onPay: (m: ChatMessage) => void }) {
  if (m.kind === "payment" && m.payment) {
    return (
      <span>
        paid {formatSat(m.payment.amount_msat)} to {m.payment.to} <span class="muted">({m.payment.status})</span>
        {m.text && ` — ${m.text}`}
      </span>
    );
  }
  if (m.kind === "request" && m.request) {
    const mayPay = m.sender !== me && m.request.status === "open" && (m.request.from.length === 0 || m.request.from.includes(me)) && !m.request.paid_by.includes(me);
    return (
      <span>
        requests {formatSat(m.request.amount_msat)} <span class="muted">({m.request.status})</span>
        {m.text && ` — ${m.text}`}{" "}
        {mayPay && (
          <button type="button" onClick={() => onPay(m)}>
            Pay {formatSat(m.request.amount_msat)}
          </button>
        )}
      </span>
    );
  }
  if (m.ciphertext !== null) {
    return (
      <span data-encrypted="true">
        <svg class="lock" viewBox="0 0 16 16" width="14" height="14" role="img" aria-label="end-to-end encrypted">
          <title>end-to-end encrypted</title>
          <path d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z" fill="currentColor" />
        </svg>{" "}
        {clearText === undefined ? "…" : clearText === "" ? <em class="muted">cannot be read on this device</em> : clearText}
      </span>
    );
  }
  return <span>{m.text}</span>;
}
