package main

import (
	"fmt"
	"math/rand/v2"
)

// Sets of the corpus. The decoder may be tuned on the first; the second is
// for measurement only and has its own seeds.
const (
	setTune    = "tune"
	setHeldOut = "heldout"
)

// perKind is how many photos of each kind each set holds (the flags
// -tune and -heldout change it).
var perKind = map[string]int{setTune: 3, setHeldOut: 5}

// seedBase gives each set its own stream of random numbers.
var seedBase = map[string]uint64{setTune: 0x7475_6e65, setHeldOut: 0x6865_6c64}

// kinds are the degradations, one per group of photos. Every photo also has
// the mild defects of any phone photo (lens blur, some tilt, sensor noise,
// the phone's image processing and JPEG); a kind pushes one of them hard.
var kinds = []string{
	"defocus",     // the camera focused behind or in front of the screen: a disc blur
	"motion",      // the hand or the phone moved during the exposure: a line blur
	"tilt",        // the screen seen at 45 to 60 degrees: strong perspective
	"moire",       // a low-density screen close up: its pixel grid beats with the sensor's
	"glare",       // a window or lamp reflected on the screen glass, partly saturated
	"lowcontrast", // a dim screen under bright room light: black modules are grey
	"small",       // the code far away in a 1920x1080 frame, about 2 pixels a module
	"rotation",    // the phone turned any way in the picture
	"lowlight",    // a dark room: high sensor gain, strong noise, heavier JPEG
}

// texts are the presentations the photos show, relative to -texts, and
// whether the wallet packs them.
var texts = []struct {
	file   string
	packed bool
}{
	{"presentations/residence-proof.txt", true},
	{"presentations/police-check.txt", true},
	{"presentations/minor-residence-proof.txt", true},
	{"presentations/no-disclosures.txt", true},
	{"rfc-presentation.txt", true},
	{"presentations/residence-proof.txt", false},
}

// shot is one photo: what the phone shows and how the camera sees it.
type shot struct {
	name   string // file name, relative to the corpus directory
	set    string
	kind   string
	text   string // presentation file
	packed bool
	seed   uint64

	// The phone and its screen.
	pitch  float64 // display pixel pitch, mm
	dispPx int     // display pixels per module
	layout int     // subpixels: 0 RGB stripes, 1 BGR stripes, 2 diamond (OLED)
	white  float64 // screen white, in units of the exposure's full scale
	veil   float64 // room light reflected by the glass, same units
	glare  float64 // peak of a reflected window, same units; 0 for none
	darkUI bool    // the page has a dark theme around a white card

	// The camera.
	w, h      int
	fov       float64 // horizontal field of view, degrees
	codePx    float64 // apparent width of the code with its quiet zone, pixels
	cx, cy    float64 // where the code's centre lands, as fractions of the frame
	roll      float64 // degrees
	tilt      float64 // degrees between the screen's normal and the optical axis
	tiltAxis  float64 // direction of the tilt axis in the screen plane, degrees
	k1        float64 // radial lens distortion left after the phone's correction
	lens      float64 // lens blur, Gaussian sigma in pixels
	defocus   float64 // disc radius, pixels
	motion    float64 // motion blur length, pixels
	motionDir float64 // degrees
	gain      float64 // sensor gain (1 = base ISO)
	exposure  float64 // scale of the scene onto the sensor
	denoise   float64 // ISP chroma and luma smoothing, 0..1
	sharpen   float64 // ISP unsharp-mask amount
	quality   int     // JPEG quality
}

// shots returns every photo of both sets, drawn from fixed seeds.
func shots() []shot {
	var out []shot
	for _, set := range []string{setTune, setHeldOut} {
		for ki, kind := range kinds {
			for j := range perKind[set] {
				seed := seedBase[set] + uint64(ki)*1000 + uint64(j)
				s := newShot(set, kind, j, seed)
				out = append(out, s)
			}
		}
	}
	return out
}

// newShot draws the parameters of one photo.
func newShot(set, kind string, j int, seed uint64) shot {
	r := rand.New(rand.NewPCG(seed, 0x5ca1ab1e))
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
	t := texts[(j+int(seed%7))%len(texts)]
	s := shot{
		name: fmt.Sprintf("%s/%s-%d.jpg", set, kind, j),
		set:  set, kind: kind, text: t.file, packed: t.packed, seed: seed,

		pitch:  u(0.055, 0.07), // 360 to 460 pixels an inch
		dispPx: 6 + r.IntN(3),
		layout: r.IntN(3),
		white:  u(0.75, 0.95),
		veil:   u(0.005, 0.03),
		darkUI: r.IntN(3) == 0,

		w: 1280, h: 720,
		fov:       u(60, 72),
		codePx:    u(0.45, 0.68) * 720,
		cx:        u(0.35, 0.65),
		cy:        u(0.4, 0.6),
		roll:      u(-15, 15),
		tilt:      u(0, 20),
		tiltAxis:  u(0, 360),
		k1:        u(-0.03, 0.01),
		lens:      u(0.35, 0.6),
		motionDir: u(0, 180),
		gain:      u(1, 2.5),
		denoise:   u(0.6, 1),
		sharpen:   u(0.2, 0.7),
		quality:   35 + r.IntN(31),
	}
	ppm := func() float64 { return s.codePx / float64(modulesAcross) }
	switch kind {
	case "defocus":
		s.codePx = u(0.6, 0.85) * float64(s.h)
		s.defocus = ppm() * u(0.45, 0.85)
	case "motion":
		s.codePx = u(0.55, 0.8) * float64(s.h)
		s.motion = ppm() * u(0.8, 1.6)
	case "tilt":
		s.tilt = u(45, 60)
		// Held closer so that the foreshortened side keeps enough pixels.
		s.codePx = u(0.8, 1.0) * float64(s.h)
	case "moire":
		// A low-density screen close up: each display pixel covers 1.15
		// to 1.9 sensor pixels, where its dark matrix beats hardest with
		// the sensor's grid; a sharp lens, little chroma smoothing.
		s.pitch = u(0.085, 0.11)
		s.dispPx = 3 + r.IntN(2)
		s.codePx = min(float64(modulesAcross*s.dispPx)*u(1.15, 1.9), 0.97*float64(s.h))
		s.lens = u(0.2, 0.35)
		s.sharpen = u(0.5, 0.9)
		s.denoise = u(0.3, 0.6)
		s.quality = 30 + r.IntN(21)
	case "glare":
		s.glare = u(0.6, 1.6)
	case "lowcontrast":
		s.white = u(0.25, 0.45)
		s.veil = s.white * u(0.6, 1.4)
	case "small":
		s.w, s.h = 1920, 1080
		s.codePx = float64(modulesAcross) * u(1.9, 2.6)
		s.cx, s.cy = u(0.25, 0.75), u(0.3, 0.7)
	case "rotation":
		s.roll = u(-180, 180)
		s.tilt = u(0, 25)
	case "lowlight":
		s.gain = u(6, 10)
		s.denoise = u(0.8, 1.2)
		s.quality = 30 + r.IntN(26)
	}
	// Automatic exposure puts the screen's white near the top of the
	// sensor's range (a glare on top of it saturates); the gain makes up
	// for the light a dark room lacks.
	s.exposure = 0.85 / (s.white + s.veil) / s.gain
	return s
}

// modulesAcross is the typical width of a wallet code with its quiet zone
// (version 23 and a 4-module border), used to size codes in the frame.
const modulesAcross = 117
