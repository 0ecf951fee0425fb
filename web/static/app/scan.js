// scan.js: reading QR codes from the camera and from photos. Uses the
// browser's BarcodeDetector where it exists, otherwise the project's Go
// decoder in the WebAssembly module (epermit.decodeImage).

const FRAME_INTERVAL_MS = 250; // about 4 frames a second
// Effort of the Go decoder, in camera frames (qr.FrameEffort each); 0 is a
// photo's (qr.PhotoEffort). A count of work, not a time: a frame gives the
// same answer on a slow phone as on a fast one.
const FRAME_EFFORT = 1;
const PHOTO_EFFORT = 0;
const MAX_FRAME_SIDE = 1280;
const MAX_PHOTO_SIDE = 2048;

let detector; // undefined: not probed yet; null: not available
async function barcodeDetector() {
  if (detector !== undefined) return detector;
  detector = null;
  try {
    if ("BarcodeDetector" in globalThis) {
      const formats = await globalThis.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) detector = new globalThis.BarcodeDetector({ formats: ["qr_code"] });
    }
  } catch { detector = null; }
  return detector;
}

function canvasFor(w, h) {
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  return c;
}

/** decodeSource decodes one code from a drawable source scaled to fit maxSide; returns {ok, text, code, error}. */
async function decodeSource(epermit, source, sw, sh, maxSide, effort) {
  const det = await barcodeDetector();
  if (det) {
    try {
      const found = await det.detect(source);
      if (found.length === 1) return { ok: true, text: found[0].rawValue };
      if (found.length > 1) return { ok: false, code: "multiple_codes", error: "more than one code in view" };
      return { ok: false, code: "no_code", error: "no code found" };
    } catch { /* fall through to the Go decoder */ }
  }
  const scale = Math.min(1, maxSide / Math.max(sw, sh));
  const w = Math.max(1, Math.round(sw * scale)), h = Math.max(1, Math.round(sh * scale));
  const ctx = canvasFor(w, h).getContext("2d", { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, w, h);
  const img = ctx.getImageData(0, 0, w, h);
  return epermit.decodeImage(img.data, w, h, effort);
}

/** decodePhoto decodes the code in an image file (a photo taken earlier). */
export async function decodePhoto(epermit, file) {
  let bmp;
  try {
    bmp = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (e) {
    return { ok: false, code: "bad_input", error: "not an image: " + (e && e.message || e) };
  }
  try {
    let r = await decodeSource(epermit, bmp, bmp.width, bmp.height, MAX_PHOTO_SIDE, PHOTO_EFFORT);
    // A small code in a large photo may need the full resolution.
    if (!r.ok && r.code === "no_code" && Math.max(bmp.width, bmp.height) > MAX_PHOTO_SIDE) {
      r = await decodeSource(epermit, bmp, bmp.width, bmp.height, Infinity, PHOTO_EFFORT);
    }
    return r;
  } finally {
    bmp.close();
  }
}

/**
 * Camera decodes frames of the rear camera continuously into a <video>
 * element and calls onText(text) for every code read (the same text again
 * only after it left the view for a while).
 */
export class Camera {
  constructor(epermit, video, onText, onState = () => {}) {
    this.epermit = epermit;
    this.video = video;
    this.onText = onText;
    this.onState = onState;
    this.stream = null;
    this.timer = 0;
    this.last = "";
    this.lastAt = 0;
  }

  get running() { return this.stream !== null; }

  async start() {
    if (this.stream) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("no camera access in this browser (needs https)");
    }
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
    this.video.srcObject = this.stream;
    this.video.hidden = false;
    await this.video.play().catch(() => {});
    this.onState("running");
    this.schedule();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    this.video.srcObject = null;
    this.video.hidden = true;
    this.onState("stopped");
  }

  schedule() {
    this.timer = setTimeout(() => this.tick(), FRAME_INTERVAL_MS);
  }

  async tick() {
    if (!this.stream) return;
    const v = this.video;
    try {
      if (v.readyState >= 2 && v.videoWidth > 0 && !document.hidden) {
        const r = await decodeSource(this.epermit, v, v.videoWidth, v.videoHeight, MAX_FRAME_SIDE, FRAME_EFFORT);
        const now = Date.now();
        if (r.ok && r.text) {
          if (r.text !== this.last || now - this.lastAt > 5000) {
            this.last = r.text;
            this.lastAt = now;
            this.onText(r.text);
          } else {
            this.lastAt = now;
          }
        } else if (r.code === "multiple_codes") {
          this.onState("multiple_codes");
        }
      }
    } catch (e) {
      console.warn("camera frame:", e);
    }
    if (this.stream) this.schedule();
  }
}
