// idb.js: a minimal promise wrapper around IndexedDB, shared by the
// verifier and the wallet. Values are stored by structured clone, so a
// non-extractable CryptoKey stays non-extractable.

/** open returns a store accessor for database name with the given object stores (out-of-line keys). */
export function open(name, stores, version = 1) {
  const dbp = new Promise((resolve, reject) => {
    const req = indexedDB.open(name, version);
    req.onupgradeneeded = () => {
      for (const s of stores) {
        if (!req.result.objectStoreNames.contains(s)) req.result.createObjectStore(s);
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("IndexedDB " + name + " is blocked by another tab"));
  });

  function tx(store, mode, fn) {
    return dbp.then((db) => new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      const os = t.objectStore(store);
      let result;
      const r = fn(os);
      if (r) r.onsuccess = () => { result = r.result; };
      t.oncomplete = () => resolve(result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error || new Error("IndexedDB transaction aborted"));
    }));
  }

  return {
    get: (store, key) => tx(store, "readonly", (os) => os.get(key)),
    put: (store, key, value) => tx(store, "readwrite", (os) => os.put(value, key)),
    del: (store, key) => tx(store, "readwrite", (os) => os.delete(key)),
    keys: (store) => tx(store, "readonly", (os) => os.getAllKeys()),
    all: (store) => tx(store, "readonly", (os) => os.getAll()),
    /** batch writes several key/value pairs and deletes keys in one transaction. */
    batch: (store, puts, dels = []) => tx(store, "readwrite", (os) => {
      for (const [k, v] of puts) os.put(v, k);
      for (const k of dels) os.delete(k);
      return null;
    }),
  };
}
