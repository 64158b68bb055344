// Package source reads a feature registry from where a running deployment keeps it — a
// directory (a ConfigMap volume, a git-sync checkout, a laptop's features/) or an S3 prefix —
// as one consistent snapshot, and says when it may have changed: fsnotify for a directory
// (following the atomic symlink swap of ConfigMaps and git-sync), a poll of the listing's ETags
// for S3, SIGHUP for either. It does not parse or check the files: the reload does
// (internal/app, registry/check).
package source
