package podproto_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/podbox/podbox/sandbox/podproto"
	"github.com/podbox/podbox/tests/nstest"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { nstest.Main(m) }

// seqpacket returns both ends of a SOCK_SEQPACKET socket pair.
func seqpacket(t *testing.T) (cli, pod *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	cli, pod = os.NewFile(uintptr(fds[0]), "cli"), os.NewFile(uintptr(fds[1]), "pod")
	t.Cleanup(func() { cli.Close(); pod.Close() })
	return cli, pod
}

// ino identifies the file a descriptor is open on.
func ino(t *testing.T, fd int) [2]uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return [2]uint64{st.Dev, st.Ino}
}

type received struct {
	name string
	ino  [2]uint64
}

func recvAll(t *testing.T, sock *os.File) ([]received, error) {
	t.Helper()
	var got []received
	err := podproto.RecvMounts(sock, func(name string, mount *os.File) error {
		defer mount.Close()
		if flags, err := unix.FcntlInt(mount.Fd(), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("descriptor of %q: not close-on-exec (%#x, %v)", name, flags, err)
		}
		got = append(got, received{name, ino(t, int(mount.Fd()))})
		return nil
	})
	return got, err
}

func TestMountsFraming(t *testing.T) {
	a, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	t.Run("all sent", func(t *testing.T) {
		cli, pod := seqpacket(t)
		long := strings.Repeat("x", podproto.MaxMountName)
		for _, m := range []struct {
			name string
			f    *os.File
		}{{"web", a}, {"sidecar", b}, {long, a}} {
			if err := podproto.SendMount(cli, m.name, int(m.f.Fd())); err != nil {
				t.Fatal(err)
			}
		}
		if err := podproto.EndMounts(cli, ""); err != nil {
			t.Fatal(err)
		}
		got, err := recvAll(t, pod)
		if err != nil {
			t.Fatalf("RecvMounts: %v", err)
		}
		want := []received{{"web", ino(t, int(a.Fd()))}, {"sidecar", ino(t, int(b.Fd()))}, {long, ino(t, int(a.Fd()))}}
		if len(got) != len(want) {
			t.Fatalf("got %d mounts, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("mount %d: got %v, want %v", i, got[i], want[i])
			}
		}
	})

	t.Run("ended with an error", func(t *testing.T) {
		cli, pod := seqpacket(t)
		if err := podproto.SendMount(cli, "web", int(a.Fd())); err != nil {
			t.Fatal(err)
		}
		if err := podproto.EndMounts(cli, "mounting the root filesystem of \"db\": no space left on device"); err != nil {
			t.Fatal(err)
		}
		got, err := recvAll(t, pod)
		if !errors.Is(err, podproto.ErrMountsEnded) || !strings.HasSuffix(err.Error(), ": mounting the root filesystem of \"db\": no space left on device") {
			t.Errorf("RecvMounts: %v, want ErrMountsEnded with the message", err)
		}
		if len(got) != 1 || got[0].name != "web" {
			t.Errorf("got %v before the error, want web", got)
		}
	})

	t.Run("a long error message is cut to fit", func(t *testing.T) {
		cli, pod := seqpacket(t)
		if err := podproto.EndMounts(cli, strings.Repeat("é", 5000)); err != nil {
			t.Fatal(err)
		}
		_, err := recvAll(t, pod)
		if !errors.Is(err, podproto.ErrMountsEnded) {
			t.Fatalf("RecvMounts: %v, want ErrMountsEnded", err)
		}
		if msg := err.Error(); len(msg) > 4200 || !strings.HasSuffix(msg, "é") {
			t.Errorf("message of %d bytes, ending %q: want it cut on a character, under 4096 bytes", len(msg), msg[len(msg)-4:])
		}
	})

	t.Run("the CLI closing its end ends the list", func(t *testing.T) {
		cli, pod := seqpacket(t)
		if err := podproto.SendMount(cli, "web", int(a.Fd())); err != nil {
			t.Fatal(err)
		}
		cli.Close()
		got, err := recvAll(t, pod)
		if err != nil || len(got) != 1 {
			t.Errorf("got %v, %v; want web and no error", got, err)
		}
	})

	t.Run("fn's error stops it", func(t *testing.T) {
		cli, pod := seqpacket(t)
		for _, n := range []string{"a", "b"} {
			if err := podproto.SendMount(cli, n, int(a.Fd())); err != nil {
				t.Fatal(err)
			}
		}
		stop := errors.New("no such container")
		calls := 0
		err := podproto.RecvMounts(pod, func(name string, mount *os.File) error {
			mount.Close()
			calls++
			return stop
		})
		if err != stop || calls != 1 {
			t.Errorf("RecvMounts: %v after %d calls; want fn's error after 1", err, calls)
		}
	})

	sendErrs := []struct {
		name string
		fd   int
	}{
		{"", int(a.Fd())},
		{"!web", int(a.Fd())},
		{strings.Repeat("x", podproto.MaxMountName+1), int(a.Fd())},
		{"bad\xff", int(a.Fd())},
		{"web", -1},
	}
	for _, tc := range sendErrs {
		t.Run("SendMount refuses "+tc.name, func(t *testing.T) {
			cli, _ := seqpacket(t)
			if err := podproto.SendMount(cli, tc.name, tc.fd); err == nil {
				t.Errorf("SendMount(%q, %d) succeeded", tc.name, tc.fd)
			}
		})
	}

	// Packets the CLI never sends: RecvMounts says what is wrong, and
	// closes the descriptors that came with them.
	raw := []struct {
		name    string
		payload string
		fds     []int
	}{
		{"no descriptor", "web", nil},
		{"two descriptors", "web", []int{int(a.Fd()), int(b.Fd())}},
		{"a name too long", strings.Repeat("x", podproto.MaxMountName+1), []int{int(a.Fd())}},
		{"a packet too long", strings.Repeat("x", 5000), []int{int(a.Fd())}},
		{"too many descriptors", "web", []int{int(a.Fd()), int(a.Fd()), int(a.Fd()), int(a.Fd()), int(a.Fd())}},
	}
	for _, tc := range raw {
		t.Run("RecvMounts refuses "+tc.name, func(t *testing.T) {
			cli, pod := seqpacket(t)
			var oob []byte
			if tc.fds != nil {
				oob = unix.UnixRights(tc.fds...)
			}
			if err := unix.Sendmsg(int(cli.Fd()), []byte(tc.payload), oob, nil, 0); err != nil {
				t.Fatal(err)
			}
			before := openFDs(t)
			got, err := recvAll(t, pod)
			if err == nil || len(got) != 0 {
				t.Errorf("RecvMounts: %v, %v; want an error", got, err)
			} else {
				t.Logf("error: %v", err)
			}
			if after := openFDs(t); after != before {
				t.Errorf("%d descriptors open after, %d before: RecvMounts leaked some", after, before)
			}
		})
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
