package cpu

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"strings"
)

// ListenerPid is the process listening on TCP port on this machine, from
// /proc/net/tcp{,6} and the sockets in /proc/<pid>/fd; 0 when none is found
// (or its process belongs to a user we may not look at).
func ListenerPid(port int) int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		for _, ino := range listeningInodes(f, port) {
			inodes["socket:["+ino+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + p.Name() + "/fd"
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if link, err := os.Readlink(dir + "/" + fd.Name()); err == nil && inodes[link] {
				return pid
			}
		}
	}
	return 0
}

// listeningInodes reads a /proc/net/tcp-format file: the socket inodes in
// state LISTEN (0A) on port.
func listeningInodes(path string, port int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer func() { _ = f.Close() }()
	return parseListening(bufio.NewScanner(f), port)
}

func parseListening(sc *bufio.Scanner, port int) []string {
	var out []string
	want := strings.ToUpper(strconv.FormatInt(int64(port), 16))
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		_, p, ok := strings.Cut(f[1], ":")
		if !ok || strings.TrimLeft(p, "0") != want {
			continue
		}
		out = append(out, f[9])
	}
	return out
}

// Cmdline is a process's command line, arguments separated by spaces.
func Cmdline(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// LocalHost tells whether host (a name or an address, no port) is this
// machine: localhost, a loopback address or one of its interfaces'.
func LocalHost(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		addrs, err := net.LookupIP(host)
		if err != nil || len(addrs) == 0 {
			return false
		}
		ip = addrs[0]
	}
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range ifs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
