//go:build unix

package sshdtest

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// listening reports whether process pid holds a TCP socket listening on
// addr. It reads /proc instead of connecting, because a probe connection
// holds one of sshd's MaxStartups slots until its sshd child has exited
// (seen under load with MaxStartups 1: a connection made just after the
// probe was dropped "past MaxStartups"), and would add noise to the log.
func listening(pid int, addr netip.AddrPort) (bool, error) {
	inodes, err := listenInodes(addr)
	if err != nil || len(inodes) == 0 {
		return false, err
	}
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return false, nil // the process is gone or exiting
	}
	for _, fd := range fds {
		link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + fd.Name())
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
			return true, nil
		}
	}
	return false, nil
}

// listenInodes returns the inodes of the IPv4 sockets listening on addr,
// from /proc/net/tcp.
func listenInodes(addr netip.AddrPort) (map[string]bool, error) {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil, fmt.Errorf("sshdtest: %w", err)
	}
	const tcpListen = "0A"
	inodes := map[string]bool{}
	lines := strings.Split(string(data), "\n")
	for _, line := range lines[1:] {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != tcpListen {
			continue
		}
		local, ok := parseProcAddr(f[1])
		if ok && local == addr {
			inodes[f[9]] = true
		}
	}
	return inodes, nil
}

// parseProcAddr parses an IPv4 "0B00007F:B4C1" from /proc/net/tcp: the
// address is the in-memory (network order) word printed as a host integer.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	if !ok || len(hexAddr) != 8 {
		return netip.AddrPort{}, false
	}
	a, err := strconv.ParseUint(hexAddr, 16, 32)
	if err != nil {
		return netip.AddrPort{}, false
	}
	p, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(a))
	return netip.AddrPortFrom(netip.AddrFrom4(b), uint16(p)), true
}
