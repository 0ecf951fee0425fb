// Service worker of the verifier app (scope /verify/): see ../app/sw-core.js.
// The trust list and status lists are deliberately not cached here: the
// page keeps signature-checked copies in IndexedDB.
self.EPERMIT_SW = {
  name: "verify",
  shell: [
    "./", "./verify.js", "./manifest.webmanifest",
    "../app/epermit.js", "../app/wasm_exec.js", "../app/epermit.wasm", "../app/style.css",
    "../app/ui.js", "../app/idb.js", "../app/scan.js", "../app/names.js", "../app/names.json",
    "../app/icon.svg", "../app/icon-192.png", "../app/icon-512.png",
  ],
  networkFirst: ["./config.json"],
};
importScripts("../app/sw-core.js");
