package proc

import "syscall"

func sysProcAttr(death syscall.Signal, cred *syscall.Credential) *syscall.SysProcAttr {
	// Our own process group: a Ctrl-C in the terminal reaches only us, and we
	// stop children in order; Stop signals the whole group.
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: death, Credential: cred}
}
