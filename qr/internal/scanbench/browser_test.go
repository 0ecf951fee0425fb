package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/web"
)

// The browser measurement runs the WebAssembly decoder in headless
// Chromium the way web/static/app/scan.js's camera loop does: each frame
// drawn on a canvas, read back with getImageData and decoded with
// epermit.decodeImage at one frame's effort. It checks, frame by frame,
// that the browser gives the answer the native decoder gives on the same
// pixels (the effort counts work, not time), and logs per kind the success
// and the time per frame. Then it runs scan.js's Camera on Chromium's fake
// camera and logs the frame rate it reaches.
//
// By default it takes one frame of each kind and set; SCANBENCH_BROWSER=all
// takes every frame and prints the table docs/scanning.md shows
// (scripts/bench-scan.sh does that).

// page is the test page: it loads the module and scan.js and offers
// runFrame(i), which fetches frame i as raw RGBA and decodes it as a camera
// frame, and startCamera() / cameraStats() for scan.js's Camera.
const page = `<!doctype html>
<meta charset="utf-8">
<title>scan bench</title>
<script src="/app/epermit.js"></script>
<video id="video" playsinline muted hidden></video>
<script type="module">
import { Camera, decodeFrame, scanPath } from "/app/scan.js";
const epermit = await window.epermitReady;
// The frame as a camera loop holds it: a video frame (I420, its luma the
// grey levels Go computed) and, for browsers without WebCodecs, a canvas.
const src = document.createElement("canvas");
const srcCtx = src.getContext("2d", { willReadFrequently: true });
let rgba = null, video = null;
window.loadFrame = async (i) => {
  const resp = await fetch("/bench/raw/" + i);
  const w = +resp.headers.get("X-Width"), h = +resp.headers.get("X-Height");
  const buf = new Uint8Array(await resp.arrayBuffer());
  rgba = new ImageData(new Uint8ClampedArray(buf.buffer, 0, 4 * w * h), w, h);
  src.width = w; src.height = h;
  srcCtx.putImageData(rgba, 0, 0);
  const i420 = new Uint8Array(w * h * 3 / 2).fill(128);
  i420.set(buf.subarray(4 * w * h, 5 * w * h));
  if (video) video.close();
  video = new VideoFrame(i420, { format: "I420", codedWidth: w, codedHeight: h, timestamp: 0 });
  return true;
};
// decodeLoaded decodes the loaded frame as scan.js's camera loop does:
// from the video frame's luma plane (pixels "luma"), or with canvas true
// from the canvas read back (pixels "rgba"); epermit.decodeImage at one
// frame's effort.
window.decodeRepeat = async (n) => {
  for (let i = 0; i < n; i++) await decodeFrame(epermit, video, rgba.width, rgba.height);
  return true;
};
window.decodeLoaded = async (canvas) => {
  const t0 = performance.now();
  const r = await decodeFrame(epermit, canvas ? src : video, rgba.width, rgba.height);
  return { ok: !!r.ok, text: r.text || "", code: r.code || "", pixels: r.pixels || "", ms: performance.now() - t0 };
};
let camera = null;
window.texts = [];
window.startCamera = async () => {
  camera = new Camera(epermit, document.getElementById("video"), (t) => window.texts.push(t));
  await camera.start();
  return true;
};
window.resetCamera = () => { camera.resetStats(); return true; };

window.cameraStats = () => camera.stats();
window.scanPath = scanPath;
window.ready = true;
</script>`

// frame is one test frame, decoded to pixels by Go.
type frame struct {
	entry
	rgba *image.NRGBA
	gray *image.Gray // its luminance, (R+2G+B)/4
}

func loadFrames(t *testing.T, all bool) []frame {
	t.Helper()
	var out []frame
	seen := map[string]bool{}
	for _, dir := range []string{"../../testdata/corpus", "../../testdata/photos"} {
		es, err := readCorpus(dir, "../../testdata")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			// Camera frames only: the corpus's crops are not frames. The
			// quick run leaves the held-out set alone.
			if e.set == "corpus" && !strings.HasPrefix(e.kind, "frame") || !all && e.set == "heldout" {
				continue
			}
			if !all && seen[e.set+"/"+e.kind] {
				continue
			}
			seen[e.set+"/"+e.kind] = true
			data, err := os.ReadFile(e.file)
			if err != nil {
				t.Fatal(err)
			}
			img, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			rgba := image.NewNRGBA(img.Bounds())
			draw.Draw(rgba, rgba.Rect, img, img.Bounds().Min, draw.Src)
			gray := image.NewGray(rgba.Rect)
			for i := range gray.Pix {
				p := rgba.Pix[4*i:]
				gray.Pix[i] = byte((uint32(p[0]) + 2*uint32(p[1]) + uint32(p[2])) * 0x101 / 4 >> 8)
			}
			out = append(out, frame{entry: e, rgba: rgba, gray: gray})
		}
	}
	return out
}

// chromium returns the browser's path, or skips (fails when
// EPERMIT_BROWSER_TESTS=require, as in CI).
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil && os.Getenv("EPERMIT_BROWSER_TESTS") == "require" {
		t.Fatal("no chromium: apt-get install chromium")
	} else if err != nil {
		t.Skip("no chromium installed (apt-get install chromium)")
	}
	return path
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("headless Chromium")
	}
	exe := chromium(t)
	apps, err := web.New(web.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !apps.Built() {
		if os.Getenv("EPERMIT_BROWSER_TESTS") == "require" {
			t.Fatal("the WebAssembly module is not built (make wasm)")
		}
		t.Skip("the WebAssembly module is not built (make wasm)")
	}
	all := os.Getenv("SCANBENCH_BROWSER") == "all"
	frames := loadFrames(t, all)

	mux := http.NewServeMux()
	mux.Handle("/app/", apps)
	mux.HandleFunc("/bench/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	})
	mux.HandleFunc("/bench/raw/", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/bench/raw/"))
		if err != nil || i < 0 || i >= len(frames) {
			http.NotFound(w, r)
			return
		}
		f := frames[i]
		w.Header().Set("X-Width", strconv.Itoa(f.rgba.Rect.Dx()))
		w.Header().Set("X-Height", strconv.Itoa(f.rgba.Rect.Dy()))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(f.rgba.Pix)
		w.Write(f.gray.Pix)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// The fake camera plays tune photos, 1280x720, as MJPEG.
	camera := filepath.Join(t.TempDir(), "camera.mjpeg")
	var mj bytes.Buffer
	for _, f := range frames {
		if f.set == "tune" && f.rgba.Rect.Dx() == 1280 {
			if err := jpeg.Encode(&mj, f.rgba, &jpeg.Options{Quality: 90}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(camera, mj.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", camera))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// Start the browser and its tab under ctx itself: a tab opened by an
	// action with a deadline closes when the deadline is cancelled.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	run := func(what string, timeout time.Duration, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := chromedp.Do(c, a...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("open the page", 60*time.Second, chromedp.Navigate(srv.URL+"/bench/"))
	c, cancelPoll := context.WithTimeout(ctx, 60*time.Second)
	_, err = chromedp.Run(c, chromedp.Poll[bool](`window.ready === true`, chromedp.WithPollingTimeout(55*time.Second)))
	cancelPoll()
	if err != nil {
		t.Fatalf("the page did not load the module: %v", err)
	}
	path := evalJS[string](t, ctx, `window.scanPath()`)
	t.Logf("scan path in headless Chromium on Linux: %s (it has no BarcodeDetector)", path)

	// A first frame warms the module up (compilation, first allocations).
	evalJS[bool](t, ctx, `window.loadFrame(0)`)
	evalJS[result](t, ctx, `window.decodeLoaded(false)`)

	type row struct {
		set, kind   string
		n, okB, okN int
		ms, native  []float64
		cpu         time.Duration // browser processor time, luma path
	}
	rows := map[string]*row{}
	var order []string
	browserPID := chromedp.FromContext(ctx).Browser.Process().Pid
	var nativeCPU, cpuLuma, cpuCanvas time.Duration
	pixels := ""
	for i, f := range frames {
		evalJS[bool](t, ctx, fmt.Sprintf(`window.loadFrame(%d)`, i))
		c0 := treeCPU(browserPID)
		r := evalJS[result](t, ctx, `window.decodeLoaded(false)`)
		c1 := treeCPU(browserPID)
		rc := evalJS[result](t, ctx, `window.decodeLoaded(true)`)
		cpuLuma += c1 - c0
		cpuCanvas += treeCPU(browserPID) - c1
		pixels = r.Pixels + "/" + rc.Pixels
		n0 := processCPU()
		native, err := qr.DecodeEffort(f.gray, qr.FrameEffort)
		nativeCPU += processCPU() - n0
		nativeRGBA, errRGBA := qr.DecodeEffort(f.rgba, qr.FrameEffort)
		// Same pixels, same effort: the same answer, by both paths.
		if r.OK != (err == nil) || (r.OK && r.Text != string(native)) {
			t.Errorf("%s: browser (luma) ok=%v (%s), native %v", f.file, r.OK, r.Code, err)
		}
		if rc.OK != (errRGBA == nil) || (rc.OK && rc.Text != string(nativeRGBA)) {
			t.Errorf("%s: browser (canvas) ok=%v (%s), native %v", f.file, rc.OK, rc.Code, errRGBA)
		}
		k := f.set + "/" + f.kind
		if rows[k] == nil {
			rows[k] = &row{set: f.set, kind: f.kind}
			order = append(order, k)
		}
		rw := rows[k]
		rw.n++
		if r.OK && r.Text == string(f.want) {
			rw.okB++
		}
		if err == nil && bytes.Equal(native, f.want) {
			rw.okN++
		}
		rw.ms = append(rw.ms, r.MS)
		rw.cpu += c1 - c0
		if testing.Verbose() && os.Getenv("SCANBENCH_FRAMES") != "" {
			t.Logf("%s: %.0f ms from the luma plane, %.0f ms through a canvas", f.file, r.MS, rc.MS)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%d frames at one frame's effort (qr.FrameEffort), headless Chromium %s\n\n", len(frames), chromiumVersion(exe))
	sb.WriteString("| set | kind | frames | read in the browser | read natively | browser ms/frame (median, wall) | browser processor ms/frame (mean) | frames/s on a free core |\n")
	sb.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	// Processor time per frame: the browser's (all its processes: the
	// page's renderer does the work) and the native decoder's. Unlike the
	// wall clock it does not grow when other processes load the machine.
	var allMS []float64
	for _, k := range order {
		rw := rows[k]
		allMS = append(allMS, rw.ms...)
		cpu, fps := perFPS(rw.cpu, rw.n)
		fmt.Fprintf(&sb, "| %s | %s | %d | %d | %d | %.0f | %.0f | %.0f |\n", rw.set, rw.kind, rw.n, rw.okB, rw.okN, median(rw.ms), cpu, fps)
	}
	cpu, fps := perFPS(cpuLuma, len(frames))
	fmt.Fprintf(&sb, "| **all** | | %d | | | %.0f | %.0f | %.0f |\n", len(allMS), median(allMS), cpu, fps)
	perL := float64(cpuLuma) / 1e6 / float64(len(frames))
	perC := float64(cpuCanvas) / 1e6 / float64(len(frames))
	perN := float64(nativeCPU) / 1e6 / float64(len(frames))
	fmt.Fprintf(&sb, "\nprocessor time per frame (mean, all browser processes, 10 ms clock ticks; paths %s): from the luma plane %.0f ms (%.1f frames/s on a free core), through a canvas %.0f ms (%.1f frames/s); native %.1f ms (WebAssembly/native %.1fx); load average %s\n",
		pixels, perL, 1000/perL, perC, 1000/perC, perN, perL/perN, loadAvg())
	// The worst case: a frame without a readable code spends the whole
	// effort; decoded 20 times for a steadier processor time, at 1280x720
	// and at 1920x1080.
	for _, width := range []int{1280, 1920} {
		worst(t, ctx, &sb, frames, width, browserPID)
	}
	t.Log(sb.String())
	cameraLoop(t, ctx, frames, &mj, browserPID)
}

// worst logs the processor time per frame of the first frame of the
// given width that the decoder does not read.
func worst(t *testing.T, ctx context.Context, sb *strings.Builder, frames []frame, width, browserPID int) {
	for i, f := range frames {
		if f.rgba.Rect.Dx() != width {
			continue
		}
		if _, err := qr.DecodeEffort(f.gray, qr.FrameEffort); err == nil {
			continue
		}
		evalJS[bool](t, ctx, fmt.Sprintf(`window.loadFrame(%d)`, i))
		const n = 20
		t0, c0 := time.Now(), treeCPU(browserPID)
		evalJS[bool](t, ctx, fmt.Sprintf(`window.decodeRepeat(%d)`, n))
		cpu, fps := perFPS(treeCPU(browserPID)-c0, n)
		n0 := processCPU()
		for range n {
			qr.DecodeEffort(f.gray, qr.FrameEffort)
		}
		native, _ := perFPS(processCPU()-n0, n)
		fmt.Fprintf(sb, "\nworst case at %dx%d, %s (no code read, all of the effort spent), %d times: %.0f ms wall, %.0f ms of browser processor time per frame (%.1f frames/s on a free core); native %.1f ms\n",
			f.rgba.Rect.Dx(), f.rgba.Rect.Dy(), strings.TrimPrefix(f.file, "../../testdata/"), n, float64(time.Since(t0))/1e6/n, cpu, fps, native)
		return
	}
}

// cameraLoop runs scan.js's Camera on the fake camera and logs its rate.
func cameraLoop(t *testing.T, ctx context.Context, frames []frame, mj *bytes.Buffer, browserPID int) {
	// The camera loop itself, on the fake camera.
	evalJS[bool](t, ctx, `window.startCamera()`)
	time.Sleep(2 * time.Second) // the first frames compile and allocate
	evalJS[bool](t, ctx, `window.resetCamera()`)
	camCPU0 := treeCPU(browserPID)
	time.Sleep(8 * time.Second)
	camCPU := treeCPU(browserPID) - camCPU0
	st := evalJS[cameraStats](t, ctx, `window.cameraStats()`)
	texts := evalJS[[]string](t, ctx, `window.texts`)
	t.Logf("camera loop (scan.js Camera, fake camera playing %d tune photos): path %s (%s), %dx%d, %d frames in 8 s: %.1f frames/s, %.0f ms per frame decoding (wall); browser processor time %.0f ms per frame, the fake camera's decoding of its MJPEG file included; %d codes read; load average %s",
		bytes.Count(mj.Bytes(), []byte{0xff, 0xd8, 0xff}), st.Path, st.Pixels, st.Width, st.Height, st.Frames, st.FPS, st.MSPerFrame,
		float64(camCPU)/1e6/float64(max(st.Frames, 1)), len(texts), loadAvg())
	if st.Frames == 0 {
		t.Error("the camera loop decoded no frame")
	}
}

// perFPS is the milliseconds per frame and the frames per second of
// processor time d spent on n frames.
func perFPS(d time.Duration, n int) (float64, float64) {
	ms := float64(d) / 1e6 / float64(n)
	return ms, 1000 / max(ms, 1)
}

// result is what decodeLoaded returns.
type result struct {
	OK   bool    `json:"ok"`
	Text string  `json:"text"`
	Code string  `json:"code"`
	MS   float64 `json:"ms"`
	// Pixels is what the Go decoder got: "luma" or "rgba".
	Pixels string `json:"pixels"`
}

// cameraStats is what scan.js's Camera.stats returns.
type cameraStats struct {
	Path       string  `json:"path"`
	Pixels     string  `json:"pixels"`
	Frames     int     `json:"frames"`
	FPS        float64 `json:"fps"`
	MSPerFrame float64 `json:"msPerFrame"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
}

// evalJS evaluates a JavaScript expression, awaiting a promise.
func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// treeCPU is the processor time (user and system) used so far by process
// pid and all its descendants, from /proc.
func treeCPU(pid int) time.Duration {
	children := map[int][]int{}
	ticks := map[int]int64{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		children[ppid] = append(children[ppid], p)
		ticks[p] = ut + st
	}
	var total int64
	stack := []int{pid}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		total += ticks[p]
		stack = append(stack, children[p]...)
	}
	return time.Duration(total) * time.Second / 100 // USER_HZ
}

// processCPU is this process's processor time, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func chromiumVersion(exe string) string {
	out, err := exec.Command(exe, "--version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
