// Command makeicon draws the app icon, assets/icon.png (1024×1024): a rounded square in the
// app's indigo with a white ring whose left half is a smooth disc and whose right half is a
// grid of blocks — one model that both reads images and draws them token by token.
//
// Run from the repository root: go run ./assets/makeicon
package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

const (
	size    = 1024
	samples = 4 // per axis: 16 samples a pixel smooth the edges
)

func main() {
	out := "assets/icon.png"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			img.SetNRGBA(x, y, pixel(x, y))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// pixel averages the shape over the pixel's samples.
func pixel(px, py int) color.NRGBA {
	var r, g, b, a float64
	for sy := range samples {
		for sx := range samples {
			x := (float64(px) + (float64(sx)+0.5)/samples) / size
			y := (float64(py) + (float64(sy)+0.5)/samples) / size
			cr, cg, cb, ca := shade(x, y)
			r += cr * ca
			g += cg * ca
			b += cb * ca
			a += ca
		}
	}
	n := float64(samples * samples)
	if a == 0 {
		return color.NRGBA{}
	}
	return color.NRGBA{R: u8(r / a), G: u8(g / a), B: u8(b / a), A: u8(a / n)}
}

func u8(v float64) uint8 { return uint8(math.Round(math.Max(0, math.Min(1, v)) * 255)) }

// shade is the colour at (x, y) in the unit square: background, ring, disc, blocks.
func shade(x, y float64) (r, g, b, a float64) {
	// The macOS icon grid: an 824 px rounded square centred in 1024, corner radius 185.
	const half, radius = 412.0 / size, 185.0 / size
	dx, dy := math.Abs(x-0.5)-(half-radius), math.Abs(y-0.5)-(half-radius)
	if math.Hypot(math.Max(dx, 0), math.Max(dy, 0)) > radius {
		return 0, 0, 0, 0
	}
	// Indigo at the top left to a deeper violet at the bottom right.
	t := (x + y) / 2
	r, g, b = mix(0.36, 0.25, t), mix(0.42, 0.22, t), mix(0.93, 0.72, t)
	cx, cy := x-0.5, y-0.5
	d := math.Hypot(cx, cy)
	const ring, width, inner = 0.27, 0.035, 0.2
	switch {
	case math.Abs(d-ring) < width/2:
		return 1, 1, 1, 1
	case d < inner && cx < -0.012:
		return 1, 1, 1, 1 // the half that reads: smooth
	case d < inner+0.02 && cx > 0.012:
		// The half that draws: blocks of a token grid, filled where their centre is inside.
		const cell = 0.058
		i, j := math.Floor(cx/cell), math.Floor(cy/cell)
		mx, my := (i+0.5)*cell, (j+0.5)*cell
		inCell := math.Abs(cx-mx) < cell*0.4 && math.Abs(cy-my) < cell*0.4
		if inCell && math.Hypot(mx, my) < inner && mx > 0.012 {
			return 1, 1, 1, 1
		}
	}
	return r, g, b, 1
}

func mix(a, b, t float64) float64 { return a + (b-a)*t }
