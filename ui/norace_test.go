//go:build !race

package ui

// raceEnabled is true when the race detector slows everything down.
const raceEnabled = false
