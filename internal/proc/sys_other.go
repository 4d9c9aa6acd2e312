//go:build unix && !linux

package proc

import "syscall"

// Without Linux's parent-death signal a child outlives a tool killed with -9.
func sysProcAttr(_ syscall.Signal, cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
