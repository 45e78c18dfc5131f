package relay

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestMain runs the filtered server of TestBypass when re-executed as it.
func TestMain(m *testing.M) {
	if os.Getenv("RELAY_TEST_CHILD") == "filtered-server" {
		filteredServer()
		return
	}
	os.Exit(m.Run())
}

// filteredServer is a container's server: it sends accept(2) and
// accept4(2) to a seccomp notify fd, which it passes to the test over fd 3
// with the port it listens on, then serves the throughput protocol.
func filteredServer() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "filtered server:", err)
		os.Exit(1)
	}
	nfd, err := installAcceptFilter()
	if err != nil {
		fail(err)
	}
	// All addresses: dual-stack where the host has IPv6, as most
	// servers listen, so the relay sees its placeholders as
	// ::ffff:127.0.0.1.
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		fail(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	if err := unix.Sendmsg(3, []byte(port), unix.UnixRights(nfd), nil, 0); err != nil {
		fail(err)
	}
	_ = unix.Close(nfd)
	serveTput(l)
	select {}
}

// installAcceptFilter installs, on every thread (TSYNC), a filter that
// sends accept and accept4 to a new listener and returns its fd.
func installAcceptFilter() (int, error) {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, err
	}
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	prog := []unix.SockFilter{
		{Code: ld, K: 4}, // seccomp_data.arch
		{Code: jeq, Jt: 0, Jf: 4, K: unix.AUDIT_ARCH_X86_64},
		{Code: ld, K: 0}, // seccomp_data.nr
		{Code: jeq, Jt: 3, Jf: 0, K: unix.SYS_ACCEPT},
		{Code: jeq, Jt: 2, Jf: 0, K: unix.SYS_ACCEPT4},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		{Code: ret, K: unix.SECCOMP_RET_USER_NOTIF},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER|unix.SECCOMP_FILTER_FLAG_TSYNC|unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
		uintptr(unsafe.Pointer(&fprog)))
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// startFiltered starts the filtered server and returns its port and
// notify fd.
func startFiltered(t *testing.T) (int, *os.File) {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("the test's filter is written for amd64")
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(pair[0]), "ours"), os.NewFile(uintptr(pair[1]), "theirs")
	defer ours.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RELAY_TEST_CHILD=filtered-server")
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4))
	_ = ours.SetDeadline(time.Now().Add(10 * time.Second))
	n, oobn, _, _, err := unix.Recvmsg(int(ours.Fd()), buf, oob, 0)
	if err != nil || n == 0 {
		t.Fatalf("no notify fd from the filtered server: %v", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control message: %v", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("rights: %v", err)
	}
	port, _ := strconv.Atoi(string(buf[:n]))
	return port, os.NewFile(uintptr(fds[0]), "seccomp notify")
}

// localPort asks the server which local port its side of the connection
// has: the hostPort when the connection bypassed the relay.
func localPort(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte{'A', 0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	var p [2]byte
	if _, err := io.ReadFull(c, p[:]); err != nil {
		t.Fatalf("asking %s for its port: %v", addr, err)
	}
	return int(binary.BigEndian.Uint16(p[:]))
}

func TestBypass(t *testing.T) {
	child, notify := startFiltered(t)
	spec, f := hostSocket(t, "tcp", child)
	fw, err := Forward([]Spec{spec}, []*os.File{f})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	host := net.JoinHostPort("127.0.0.1", strconv.Itoa(spec.ParentPort))
	pod := net.JoinHostPort("127.0.0.1", strconv.Itoa(child))

	fw.ServeSeccomp(notify)
	for i := range 3 {
		if got := localPort(t, host); got != spec.ParentPort {
			t.Fatalf("connection %d: the server saw local port %d, want the hostPort %d (bypassed)", i, got, spec.ParentPort)
		}
	}
	if got := localPort(t, pod); got != child {
		t.Fatalf("from the pod's localhost: local port %d, want %d", got, child)
	}
	for _, dir := range []byte{'U', 'D'} {
		if r := tputClient(t, host, dir, 64<<20); r <= 0 {
			t.Fatalf("%c: no throughput", dir)
		}
	}
	if mb, _ := strconv.Atoi(os.Getenv("RELAY_TPUT_MB")); mb > 0 {
		// The same server, straight to its port (the data path of a
		// direct connection) and through the hostPort (bypassed).
		res := map[string][]float64{}
		for range 5 {
			for _, dir := range []string{"U", "D"} {
				res["direct "+dir] = append(res["direct "+dir], tputClient(t, pod, dir[0], int64(mb)<<20))
				res["bypass "+dir] = append(res["bypass "+dir], tputClient(t, host, dir[0], int64(mb)<<20))
			}
		}
		for _, dir := range []string{"U", "D"} {
			d, r := median(res["direct "+dir]), median(res["bypass "+dir])
			t.Logf("%s: direct %.0f MB/s %v, bypass %.0f MB/s %v: %.2f×", dir, d, round(res["direct "+dir]), r, round(res["bypass "+dir]), r/d)
		}
		fw.bypass.mu.Lock()
		t.Logf("host connections copied after waiting %s: %d", claimTimeout, fw.bypass.expires)
		fw.bypass.mu.Unlock()
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", host)
	if err != nil {
		t.Fatalf("binding the hostPort after Close: %v", err)
	}
	l.Close()
}

// A server whose accept escapes the filter (here: one in this process,
// which has none) gets the placeholder itself; its host client is copied
// after claimTimeout instead of being lost.
func TestBypassFallback(t *testing.T) {
	_, notify := startFiltered(t)
	srv := tputServer(t)
	defer srv.Close()
	child := srv.Addr().(*net.TCPAddr).Port
	spec, f := hostSocket(t, "tcp", child)
	fw, err := Forward([]Spec{spec}, []*os.File{f})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	fw.ServeSeccomp(notify)
	t0 := time.Now()
	if got := localPort(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(spec.ParentPort))); got != child {
		t.Fatalf("the server saw local port %d, want %d (copied)", got, child)
	}
	if d := time.Since(t0); d < claimTimeout {
		t.Fatalf("answered after %s, before the claim timeout %s: not through the fallback", d, claimTimeout)
	}
	fw.bypass.mu.Lock()
	defer fw.bypass.mu.Unlock()
	if fw.bypass.expires != 1 {
		t.Fatalf("%d host connections copied after waiting, want 1", fw.bypass.expires)
	}
}
