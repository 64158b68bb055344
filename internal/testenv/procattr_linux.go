package testenv

import "syscall"

// sysProcAttr puts the server in its own process group (so stop kills it whole) and has the
// kernel kill it when the test binary dies without calling Main.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
