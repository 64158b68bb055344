//go:build !linux

package testenv

import "syscall"

// sysProcAttr puts the server in its own process group so that stop kills it whole.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
