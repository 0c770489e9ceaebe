// The gate's memory in IndexedDB: its offline kit (public keys, region, letter: nothing personal)
// and the journal of uses it admitted offline. A use is written before the gate says "allow", and
// stays until the server has answered for it and its code has expired, so a code seen before is
// refused even after a reload, and no use is lost when an upload fails midway.

const NAME = "gate";
const VERSION = 1;
const WAITING = "waiting"; // admitted here, not yet answered for by the server
const DONE = "done"; // the server recorded it (or refused it: the server's decision stands)

let opened = null;
function database() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("kit"); // one kit per device: key is the device (token `sub`)
      const journal = db.createObjectStore("journal", { keyPath: "key" }); // "<sub> <jti>" of the code
      journal.createIndex("owner", "owner");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

/** Run `work(stores)` in one transaction; resolves with its result once it is on disk. */
async function inTransaction(names, mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(names, mode, { durability: "strict" });
    const stores = Object.fromEntries(names.map((name) => [name, transaction.objectStore(name)]));
    let result;
    Promise.resolve(work(stores)).then((value) => {
      result = value;
    }, reject);
    transaction.oncomplete = () => resolve(result);
    // A failed request (a ConstraintError, say) names its error; the transaction's comes later.
    transaction.onerror = (event) => reject(event.target.error ?? transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

const asPromise = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

export function readKit(owner) {
  return inTransaction(["kit"], "readonly", ({ kit }) => asPromise(kit.get(owner)));
}

export function saveKit(owner, found) {
  return inTransaction(["kit"], "readwrite", ({ kit }) => {
    kit.put(found, owner);
  });
}

/**
 * Write an admitted use; false when the journal already holds this code (a replay). The check
 * and the write are one transaction.
 */
export async function admit(entry) {
  try {
    await inTransaction(["journal"], "readwrite", ({ journal }) => {
      journal.add({ ...entry, state: WAITING });
    });
    return true;
  } catch (error) {
    if (error?.name === "ConstraintError") return false;
    throw error;
  }
}

/** This device's uses not yet answered for by the server, oldest first. */
export async function waiting(owner) {
  const all = await inTransaction(["journal"], "readonly", ({ journal }) =>
    asPromise(journal.index("owner").getAll(owner)),
  );
  return all.filter((entry) => entry.state === WAITING).sort((a, b) => (a.used_at < b.used_at ? -1 : 1));
}

/** The server answered for these uses (`outcomes[i]` for `entries[i]`). */
export function markAnswered(entries, outcomes) {
  return inTransaction(["journal"], "readwrite", ({ journal }) => {
    entries.forEach((entry, index) => {
      journal.put({ ...entry, state: DONE, outcome: outcomes[index] ?? null });
    });
  });
}

/** Drop answered uses whose codes have expired (seconds, server time): they cannot come back. */
export function prune(nowSeconds, leeway) {
  return inTransaction(["journal"], "readwrite", async ({ journal }) => {
    const all = await asPromise(journal.getAll());
    for (const entry of all) {
      if (entry.state === DONE && entry.exp + leeway < nowSeconds) journal.delete(entry.key);
    }
  });
}

/** At logout, once nothing waits: forget this device's kit and answered uses. */
export function forget(owner) {
  return inTransaction(["kit", "journal"], "readwrite", async ({ kit, journal }) => {
    kit.delete(owner);
    const mine = await asPromise(journal.index("owner").getAll(owner));
    for (const entry of mine) if (entry.state === DONE) journal.delete(entry.key);
  });
}
