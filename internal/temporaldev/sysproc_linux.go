package temporaldev

import "syscall"

func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid: true,
		// A test binary killed by its -timeout, or a devstack killed with -9,
		// must not leave a server holding its ports.
		Pdeathsig: syscall.SIGTERM,
	}
}
