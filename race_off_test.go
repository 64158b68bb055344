//go:build !race

package main

// raceDetector is true under -race (see race_on_test.go).
const raceDetector = false
