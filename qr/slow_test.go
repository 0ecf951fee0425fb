package qr

import (
	"bytes"
	"image"
	"image/png"
	"testing"
	"time"
)

func TestSlowBig(t *testing.T) {
	for _, s := range []int{1000, 3000, 6000} {
		img := image.NewGray(image.Rect(0, 0, s, s))
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		var buf bytes.Buffer
		png.Encode(&buf, img)
		t0 := time.Now()
		_, err := DecodeReader(bytes.NewReader(buf.Bytes()), 0)
		t.Log(s, buf.Len(), time.Since(t0), err)
		t0 = time.Now()
		_, err = Decode(img)
		t.Log(s, "decode only", time.Since(t0), err)
	}
}
