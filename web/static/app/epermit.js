// epermit.js loads the project's Go verifier, compiled to WebAssembly, once
// per page. It is a classic script: include it (it loads wasm_exec.js from
// its own directory when globalThis.Go is missing) and then
//
//   const epermit = await window.epermitReady;
//
// window.epermitReady resolves to the globalThis.epermit object that
// cmd/epermit-wasm installs (see docs in web/static/README.md), or rejects
// with an Error when the module cannot be fetched or does not start.
(() => {
  "use strict";
  if (window.epermitReady) return;
  const base = new URL(".", document.currentScript ? document.currentScript.src : location.href);
  const wasmURL = new URL("epermit.wasm", base);
  const execURL = new URL("wasm_exec.js", base);

  function loadScript(url) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = url.href;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error("cannot load " + url.pathname));
      document.head.appendChild(s);
    });
  }

  async function instantiate(go) {
    if (WebAssembly.instantiateStreaming) {
      try {
        const r = await WebAssembly.instantiateStreaming(fetch(wasmURL), go.importObject);
        return r.instance;
      } catch (e) {
        // Wrong MIME type (application/wasm) or no streaming: fall back.
        console.warn("epermit: instantiateStreaming failed, falling back:", e);
      }
    }
    const resp = await fetch(wasmURL);
    if (!resp.ok) throw new Error("cannot fetch " + wasmURL.pathname + ": HTTP " + resp.status);
    const r = await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
    return r.instance;
  }

  async function start() {
    if (typeof globalThis.Go !== "function") await loadScript(execURL);
    const go = new globalThis.Go();
    const instance = await instantiate(go);
    let exited = false;
    go.run(instance).then(
      () => { exited = true; },
      (e) => { exited = true; console.error("epermit: the Go program failed:", e); });
    // main() installs globalThis.epermit and then blocks; wait for it.
    const deadline = Date.now() + 15000;
    while (!globalThis.epermit) {
      if (exited) throw new Error("the WebAssembly module exited before it was ready");
      if (Date.now() > deadline) throw new Error("the WebAssembly module did not become ready");
      await new Promise((r) => setTimeout(r, 5));
    }
    return globalThis.epermit;
  }

  window.epermitReady = start();
  window.epermitReady.catch((e) => {
    console.error("epermit:", e);
    document.documentElement.dataset.epermitError = String(e && e.message || e);
  });
})();
