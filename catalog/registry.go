package catalog

import "time"

// RegistryStatus is which registry a process serves and how its latest reload went (the live
// registry, see docs/registry-reload.md). The catalog shows it at the top, /readyz in its
// answer.
type RegistryStatus struct {
	// Fingerprint identifies the registry served (a hash of its files).
	Fingerprint string `json:"fingerprint"`
	// Schema is the fingerprint of the GraphQL schema it produces (schema.Fingerprint, as the
	// offline rows carry it): it changes only when the schema does.
	Schema string `json:"schemaFingerprint,omitempty"`
	// Source is where it is read from: a directory or an s3:// URL.
	Source string `json:"source,omitempty"`
	// LoadedAt is when the registry served was taken.
	LoadedAt time.Time `json:"loadedAt"`
	// Last is the latest reload that did not find the files unchanged (nil: none since start).
	Last *ReloadStatus `json:"lastReload,omitempty"`
}

// ReloadStatus is the outcome of one reload.
type ReloadStatus struct {
	At          time.Time `json:"at"`
	Outcome     string    `json:"outcome"`               // taken, refused, invalid, failed
	Fingerprint string    `json:"fingerprint,omitempty"` // of the files it read (none when they could not be read)
	Problems    []string  `json:"problems,omitempty"`    // why it was not taken
}
