//go:build race

package gateway_test

// raceDetector is true under -race, which makes the gateway several times slower: load tests
// lower their rates so that they measure the gateway's behaviour, not the detector's cost.
const raceDetector = true
