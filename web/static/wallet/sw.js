// Service worker of the resident wallet (scope /wallet/): see
// ../app/sw-core.js. The issuer's endpoints and status lists are never
// cached here; the wallet's credentials, device key and what it learnt of
// each permit's status live in IndexedDB. names.js and names.json give
// place names offline.
self.EPERMIT_SW = {
  name: "wallet",
  shell: [
    "./", "./wallet.js", "./wallet.css", "./manifest.webmanifest",
    "../app/epermit.js", "../app/wasm_exec.js", "../app/epermit.wasm", "../app/style.css",
    "../app/ui.js", "../app/idb.js", "../app/scan.js", "../app/names.js", "../app/names.json",
    "../app/icon.svg", "../app/icon-192.png", "../app/icon-512.png",
  ],
};
importScripts("../app/sw-core.js");
