// Reads image paths on stdin, one a line, and answers each with one line:
// "ok <hex payload> <ms>" or "no - <ms>": the time taken in this process to
// read the file and decode it (the image decoder and the QR reader are
// zxing-cpp's WebAssembly build, the npm package zxing-wasm, with its
// default options: tryHarder, tryRotate, tryInvert, tryDownscale).
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { prepareZXingModule, readBarcodes } from "zxing-wasm/reader";

// The module's .wasm from node_modules, not from a CDN.
const wasm = fileURLToPath(import.meta.resolve("zxing-wasm/reader/zxing_reader.wasm"));
await prepareZXingModule({ overrides: { wasmBinary: readFileSync(wasm) }, fireImmediately: true });

const options = { formats: ["QRCode"], maxNumberOfSymbols: 1 };
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const path of lines) {
  const t0 = performance.now();
  let found = [];
  try {
    const data = readFileSync(path);
    found = (await readBarcodes(new Blob([data]), options)).filter((r) => r.isValid);
  } catch {
    found = [];
  }
  const ms = (performance.now() - t0).toFixed(3);
  if (found.length > 0) {
    process.stdout.write(`ok ${Buffer.from(found[0].bytes).toString("hex")} ${ms}\n`);
  } else {
    process.stdout.write(`no - ${ms}\n`);
  }
}
