package proc

import (
	"errors"
	"net"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("unexpected listener address " + l.Addr().String())
	}
	return addr.Port, nil
}

// FreePorts returns n distinct ports, as FreePort.
func FreePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	out := make([]int, 0, n)
	for len(out) < n {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}
