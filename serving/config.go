package serving

import "fmt"

// Config holds the serving limits.
type Config struct {
	// MaxIDs is the most ids one batch field (users(ids:)) accepts. Default 1000.
	MaxIDs int
	// MaxCount caps the count argument of every action field, on top of the feature's
	// maxCount. Default 10000.
	MaxCount int
	// Recorder counts feature reads (Prometheus metrics). Default nil: not counted.
	Recorder Recorder
}

// Recorder is told how many values of a feature a request read.
type Recorder interface {
	FeatureRead(entity, feature string, n int)
}

// NopRecorder counts nothing.
type NopRecorder struct{}

// FeatureRead implements Recorder.
func (NopRecorder) FeatureRead(string, string, int) {}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config { return Config{MaxIDs: 1000, MaxCount: 10000} }

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if c.MaxIDs < 1 {
		return fmt.Errorf("resolvers: max ids %d must be at least 1", c.MaxIDs)
	}
	if c.MaxCount < 1 {
		return fmt.Errorf("resolvers: max count %d must be at least 1", c.MaxCount)
	}
	return nil
}
