//go:build !race

package harness

// RaceDetector is true under -race (see race_on.go).
const RaceDetector = false
