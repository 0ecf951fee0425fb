// scan.js: reading QR codes from the camera and from photos. Uses the
// browser's BarcodeDetector where it exists (Chrome on Android, Safari),
// otherwise the project's Go decoder in the WebAssembly module
// (epermit.decodeImage). Chromium on Linux and Firefox have no
// BarcodeDetector and take the WebAssembly path; it is given the luma
// plane of each video frame where WebCodecs' VideoFrame exists, else the
// frame drawn on a canvas.

// The camera loop decodes a frame, then the next one no sooner than this
// after the previous one started: at most 12.5 frames a second, fewer when
// a frame takes longer (docs/scanning.md has the measured rates).
const FRAME_MIN_INTERVAL_MS = 80;
// Effort of the Go decoder, in camera frames (qr.FrameEffort each); 0 is a
// photo's (qr.PhotoEffort). A count of work, not a time: a frame gives the
// same answer on a slow phone as on a fast one, only later.
export const FRAME_EFFORT = 1;
const PHOTO_EFFORT = 0;
// Frames up to 1920 pixels wide are decoded as they come (a small code far
// away needs every pixel); photos are scaled to 2048 first, then tried at
// full size.
const MAX_FRAME_SIDE = 1920;
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

/** scanPath says which decoder frames go to: "barcode-detector" or "wasm". */
export async function scanPath() {
  return (await barcodeDetector()) ? "barcode-detector" : "wasm";
}

let canvas = null;
function canvasFor(w, h) {
  // One canvas, reused: a camera loop would otherwise make one per frame.
  if (!canvas) canvas = document.createElement("canvas");
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  return canvas;
}

// Video frames whose first plane is the luma (Y), which is all the decoder
// needs: it is copied out of the frame as it is, without drawing the frame
// on a canvas, converting it to RGB and reading it back.
const LUMA_FORMATS = new Set(["I420", "I420A", "I422", "I444", "NV12"]);
let lumaBuf = null;

/**
 * luma returns {data, w, h}, the grey levels of a video frame (a <video>
 * element's current frame, or a VideoFrame), or null where WebCodecs'
 * VideoFrame is missing or the frame is not in a YUV format.
 */
async function luma(source) {
  if (typeof VideoFrame === "undefined") return null;
  let frame = null, own = false;
  try {
    if (source instanceof VideoFrame) {
      frame = source;
    } else if (typeof HTMLVideoElement !== "undefined" && source instanceof HTMLVideoElement) {
      frame = new VideoFrame(source);
      own = true;
    } else {
      return null;
    }
    const w = frame.visibleRect.width, h = frame.visibleRect.height;
    if (!LUMA_FORMATS.has(frame.format) || Math.max(w, h) > MAX_FRAME_SIDE) return null;
    const size = frame.allocationSize();
    if (!lumaBuf || lumaBuf.length !== size) lumaBuf = new Uint8Array(size);
    const [y] = await frame.copyTo(lumaBuf);
    if (y.offset === 0 && y.stride === w) return { data: lumaBuf.subarray(0, w * h), w, h };
    const out = new Uint8Array(w * h);
    for (let row = 0; row < h; row++) {
      out.set(lumaBuf.subarray(y.offset + row * y.stride, y.offset + row * y.stride + w), row * w);
    }
    return { data: out, w, h };
  } catch {
    return null;
  } finally {
    if (own && frame) frame.close();
  }
}

/**
 * decodeSource decodes one code from a source (a video, a VideoFrame, an
 * image bitmap, a canvas) scaled to fit maxSide; returns {ok, text, code,
 * error, pixels}: pixels says what the Go decoder was given, "luma" or
 * "rgba" (nothing when the BarcodeDetector read it).
 */
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
  if (maxSide === MAX_FRAME_SIDE) {
    const y = await luma(source);
    if (y) return { ...epermit.decodeImage(y.data, y.w, y.h, effort), pixels: "luma" };
  }
  const scale = Math.min(1, maxSide / Math.max(sw, sh));
  const w = Math.max(1, Math.round(sw * scale)), h = Math.max(1, Math.round(sh * scale));
  const ctx = canvasFor(w, h).getContext("2d", { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, w, h);
  const img = ctx.getImageData(0, 0, w, h);
  return { ...epermit.decodeImage(img.data, w, h, effort), pixels: "rgba" };
}

/** decodeFrame decodes one camera frame (any drawable source) as the camera loop does. */
export function decodeFrame(epermit, source, width, height) {
  return decodeSource(epermit, source, width, height, MAX_FRAME_SIDE, FRAME_EFFORT);
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
 * only after it left the view for a while). stats() tells the decoder in
 * use and the frame rate.
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
    this.path = "";
    this.resetStats();
  }

  get running() { return this.stream !== null; }

  resetStats() {
    this.frames = 0;
    this.decodeMs = 0;
    this.pixels = "";
    this.since = performance.now();
  }

  /**
   * stats returns {path, pixels, frames, fps, msPerFrame, width, height}
   * since the start or the last resetStats: the decoder ("barcode-detector"
   * or "wasm"), what the Go decoder was given ("luma" planes of video
   * frames, or "rgba" read from a canvas).
   */
  stats() {
    const secs = (performance.now() - this.since) / 1000;
    return {
      path: this.path,
      pixels: this.pixels,
      frames: this.frames,
      fps: secs > 0 ? this.frames / secs : 0,
      msPerFrame: this.frames > 0 ? this.decodeMs / this.frames : 0,
      width: this.video.videoWidth,
      height: this.video.videoHeight,
    };
  }

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
    this.path = await scanPath();
    this.video.dataset.scanPath = this.path;
    this.resetStats();
    this.onState("running");
    this.schedule(0);
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

  schedule(delay) {
    this.timer = setTimeout(() => this.tick(), delay);
  }

  async tick() {
    if (!this.stream) return;
    const v = this.video;
    const started = performance.now();
    try {
      if (v.readyState >= 2 && v.videoWidth > 0 && !document.hidden) {
        const r = await decodeFrame(this.epermit, v, v.videoWidth, v.videoHeight);
        this.frames++;
        if (r.pixels) this.pixels = r.pixels;
        this.decodeMs += performance.now() - started;
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
    if (this.stream) this.schedule(Math.max(0, FRAME_MIN_INTERVAL_MS - (performance.now() - started)));
  }
}
