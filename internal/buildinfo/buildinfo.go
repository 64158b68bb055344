// Package buildinfo reports what the running binary was built from: the module version, the VCS
// commit and time the Go toolchain stamped into it, and the Go version.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Info describes the running binary. Fields the toolchain did not record are empty.
type Info struct {
	Version   string            `json:"version"`            // module version ("(devel)" for a local build)
	Revision  string            `json:"revision,omitempty"` // VCS commit
	Time      string            `json:"time,omitempty"`     // commit time, RFC 3339
	Modified  bool              `json:"modified"`           // built from a work tree with uncommitted changes
	GoVersion string            `json:"goVersion"`          // toolchain that built the binary
	Path      string            `json:"path,omitempty"`     // main package path
	Settings  map[string]string `json:"settings,omitempty"` // build settings (GOOS, GOARCH, CGO_ENABLED, -tags, ...)
}

// Read returns the running binary's Info.
func Read() Info {
	info := Info{Version: "unknown", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	info.Path = bi.Path
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	info.Settings = map[string]string{}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		case "GOOS", "GOARCH", "CGO_ENABLED", "-tags", "-trimpath", "GOAMD64", "GOARM64":
			info.Settings[s.Key] = s.Value
		}
	}
	return info
}

// Short is a one-line summary: version, commit (12 digits, "+dirty" when modified) and Go version.
func (i Info) Short() string {
	s := i.Version
	if i.Revision != "" {
		rev := i.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if i.Modified {
			rev += "+dirty"
		}
		s += " " + rev
	}
	return s + " " + i.GoVersion
}
