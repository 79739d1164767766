/**
 * The signed-in account in this browser: the SDK's client over a session kept in IndexedDB, the
 * account's event stream (resumed after the last event this browser saw), and the device's end-to-end
 * encryption key (made here, kept here, only its public half published).
 */
import { FlashHub, HubError, getPublicKeyXOnly, newEncryptionKey, type HubEvent, type Session } from "@flash-hub/sdk";
import { load, remove, save } from "./store.ts";

/** The hub is the origin that served the app. */
const BASE_URL = location.origin;

interface Saved {
  username: string;
  session: Session;
}

export type StreamStatus = "connecting" | "open" | "reconnecting" | "stopped";

export class Account {
  readonly hub: FlashHub;
  status: StreamStatus = "connecting";
  private readonly listeners = new Set<(event: HubEvent) => void>();
  private readonly statusListeners = new Set<(status: StreamStatus) => void>();
  private stream: { close(): void } | null = null;

  private constructor(
    readonly username: string,
    session: Session,
    /** The device's NIP-44 private key (hex): never leaves IndexedDB but to encrypt and decrypt here. */
    readonly encryptionKey: string,
    onEnded: () => void,
  ) {
    this.hub = new FlashHub({
      baseUrl: BASE_URL,
      session,
      onSession: (next) => {
        if (next) void save("session", { username, session: next } satisfies Saved);
        else {
          void remove("session");
          onEnded();
        }
      },
    });
  }

  /** The session saved by an earlier visit, if any. */
  static async resume(onEnded: () => void): Promise<Account | null> {
    const saved = await load<Saved>("session");
    if (!saved) return null;
    return new Account(saved.username, saved.session, await deviceKey(saved.username), onEnded);
  }

  /** Signs up or logs in, then keeps the session and makes sure the hub has this device's public key. */
  static async start(mode: "signup" | "login", username: string, password: string, totpCode: string | undefined, onEnded: () => void): Promise<Account> {
    const hub = new FlashHub({ baseUrl: BASE_URL });
    if (mode === "signup") await hub.signUp(username, password);
    else await hub.logIn(username, password, totpCode);
    const name = username.toLowerCase();
    await save("session", { username: name, session: hub.session! } satisfies Saved);
    const account = new Account(name, hub.session!, await deviceKey(name), onEnded);
    await account.publishKeyIfNeeded();
    return account;
  }

  /** Publishes this device's public key unless the hub already has it (another device may have published its own). */
  async publishKeyIfNeeded(): Promise<void> {
    const mine = await this.hub.encryptionKeyOf(this.username).catch(() => null);
    if (mine !== getPublicKeyXOnly(this.encryptionKey)) {
      await this.hub.publishEncryptionKey(this.encryptionKey);
      this.hub.forgetEncryptionKeys();
    }
  }

  /** Opens the event stream after the last event this browser handled. */
  async follow(): Promise<void> {
    const seqKey = `last-seq:${this.username}`;
    const after = (await load<number>(seqKey)) ?? 0;
    this.stream = this.hub.events({
      after,
      onEvent: (event) => {
        void save(seqKey, event.seq);
        for (const listener of this.listeners) listener(event);
      },
      onStatus: (status) => this.setStatus(status),
      onError: () => this.setStatus("stopped"),
    });
  }

  onEvent(listener: (event: HubEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onStatus(listener: (status: StreamStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private setStatus(status: StreamStatus) {
    this.status = status;
    for (const listener of this.statusListeners) listener(status);
  }

  async logOut(): Promise<void> {
    this.stream?.close();
    await this.hub.logOut().catch(() => {});
    await remove("session");
  }
}

/** This device's encryption key for `username`, made the first time. */
async function deviceKey(username: string): Promise<string> {
  const key = `e2e-key:${username}`;
  let secret = await load<string>(key);
  if (!secret) {
    secret = newEncryptionKey();
    await save(key, secret);
  }
  return secret;
}

/** A message for people: the hub's own message for its errors, else the error's. */
export function describe(error: unknown): string {
  if (error instanceof HubError) return error.message.replace(/^\d+ [a-z_]+: /, "");
  return error instanceof Error ? error.message : String(error);
}

export const needsTotp = (error: unknown) => error instanceof HubError && (error.code === "totp_required" || error.code === "invalid_totp");

export function formatSat(msat: number): string {
  return `${(msat / 1000).toLocaleString("en", { maximumFractionDigits: 3 })} sat`;
}
