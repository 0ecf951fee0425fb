// Service worker of the resident wallet (scope /wallet/): see
// ../app/sw-core.js. The issuer's endpoints are never cached; the wallet's
// credentials and device key live in IndexedDB.
self.EPERMIT_SW = {
  name: "wallet",
  shell: [
    "./", "./wallet.js", "./manifest.webmanifest",
    "../app/epermit.js", "../app/wasm_exec.js", "../app/epermit.wasm", "../app/style.css",
    "../app/ui.js", "../app/idb.js", "../app/scan.js",
    "../app/icon.svg", "../app/icon-192.png", "../app/icon-512.png",
  ],
};
importScripts("../app/sw-core.js");
