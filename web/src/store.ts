/**
 * The app's storage on the device: one IndexedDB object store of keys and values. The session, the
 * last event seen and the end-to-end encryption key live here; none of it is sent anywhere but the
 * session's tokens (to the hub, as the SDK's bearer).
 */
const DB_NAME = "flash-hub";
const STORE = "kv";

let db: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  db ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return db;
}

function run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  return open().then(
    (d) =>
      new Promise<T>((resolve, reject) => {
        const req = work(d.transaction(STORE, mode).objectStore(STORE));
        req.onsuccess = () => resolve(req.result as T);
        req.onerror = () => reject(req.error);
      }),
  );
}

export const load = <T>(key: string) => run<T | undefined>("readonly", (s) => s.get(key));
export const save = (key: string, value: unknown) => run<IDBValidKey>("readwrite", (s) => s.put(value, key));
export const remove = (key: string) => run<undefined>("readwrite", (s) => s.delete(key));
