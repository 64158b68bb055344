//go:build !unix

package offline

import "time"

// ProcessCPU is not measured here (the benchmarks report 0 CPU).
func ProcessCPU() time.Duration { return 0 }
