import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Account, describe, type StreamStatus } from "./account.ts";
import { AuthView } from "./views/auth.tsx";
import { ChatView } from "./views/chat.tsx";
import { PosView } from "./views/pos.tsx";
import { ReceiveView } from "./views/receive.tsx";
import { SendView } from "./views/send.tsx";
import { WalletView } from "./views/wallet.tsx";
import "./style.css";

const PAGES = { wallet: "Wallet", send: "Send", receive: "Receive", chat: "Chat", pos: "Point of sale" } as const;
type Page = keyof typeof PAGES;
const pageOf = (hash: string): Page => (hash.slice(2) in PAGES ? (hash.slice(2) as Page) : "wallet");

function App() {
  const [account, setAccount] = useState<Account | null | undefined>(undefined);
  const ended = () => setAccount(null);
  useEffect(() => {
    Account.resume(ended).then(setAccount, () => setAccount(null));
  }, []);
  if (account === undefined) return <p class="muted">Loading…</p>;
  if (account === null) return <AuthView onSignedIn={setAccount} onEnded={ended} />;
  return <Signedin account={account} onLogOut={() => void account.logOut().then(ended)} />;
}

function Signedin({ account, onLogOut }: { account: Account; onLogOut: () => void }) {
  const [page, setPage] = useState<Page>(pageOf(location.hash));
  const [status, setStatus] = useState<StreamStatus>(account.status);
  const [development, setDevelopment] = useState(false);
  const [notice, setNotice] = useState("");

  useEffect(() => {
    const onHash = () => setPage(pageOf(location.hash));
    addEventListener("hashchange", onHash);
    const off = account.onStatus(setStatus);
    void account.follow();
    fetch("/health").then((r) => r.json()).then((h: { environment?: string }) => setDevelopment(h.environment === "development"), () => {});
    return () => {
      removeEventListener("hashchange", onHash);
      off();
    };
  }, [account]);

  async function faucet() {
    try {
      await account.hub.faucet(100_000);
      setNotice("Added 100,000 test sat.");
    } catch (e) {
      setNotice(describe(e));
    }
  }

  return (
    <>
      <header>
        <strong class="brand">⚡ Flash Hub</strong>
        <nav aria-label="Pages">
          <ul>
            {(Object.keys(PAGES) as Page[]).map((p) => (
              <li key={p}>
                <a href={`#/${p}`} aria-current={p === page ? "page" : undefined}>
                  {PAGES[p]}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          <span data-testid="username">{account.username}</span>{" "}
          <span class={`live ${status}`} role="status" data-testid="stream-status">
            {status === "open" ? "live" : status}
          </span>{" "}
          <button type="button" onClick={onLogOut}>
            Log out
          </button>
        </span>
      </header>
      <main>
        {development && page === "wallet" && (
          <p>
            <button type="button" onClick={faucet}>
              Get 100,000 test sat
            </button>{" "}
            <span role="status">{notice}</span>
          </p>
        )}
        {page === "wallet" && <WalletView account={account} />}
        {page === "send" && <SendView account={account} />}
        {page === "receive" && <ReceiveView account={account} />}
        {page === "chat" && <ChatView account={account} />}
        {page === "pos" && <PosView account={account} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
