package relay

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

// tputServer answers the throughput protocol (the same as tests/bench's
// tput server) on a new listener.
func tputServer(t testing.TB) *net.TCPListener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go serveTput(l)
	return l.(*net.TCPListener)
}

// serveTput: 'U'+size: read size bytes, then answer one byte; 'D'+size:
// write size bytes, then close; 'A': answer the connection's local port
// (2 bytes), which says whether it went through the relay.
func serveTput(l net.Listener) {
	func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var h [9]byte
				if _, err := io.ReadFull(c, h[:]); err != nil {
					return
				}
				n := int64(binary.BigEndian.Uint64(h[1:]))
				buf := make([]byte, 1<<20)
				switch h[0] {
				case 'A':
					var p [2]byte
					binary.BigEndian.PutUint16(p[:], uint16(c.LocalAddr().(*net.TCPAddr).Port))
					_, _ = c.Write(p[:])
				case 'U':
					for n > 0 {
						k, err := c.Read(buf[:min(int64(len(buf)), n)])
						if err != nil {
							return
						}
						n -= int64(k)
					}
					_, _ = c.Write([]byte{1})
				case 'D':
					for n > 0 {
						k, err := c.Write(buf[:min(int64(len(buf)), n)])
						if err != nil {
							return
						}
						n -= int64(k)
					}
				}
			}()
		}
	}()
}

// tputClient moves size bytes up or down and returns the rate in MB/s.
func tputClient(t testing.TB, addr string, dir byte, size int64) float64 {
	t0 := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var h [9]byte
	h[0] = dir
	binary.BigEndian.PutUint64(h[1:], uint64(size))
	if _, err := c.Write(h[:]); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	n := size
	if dir == 'U' {
		for n > 0 {
			k, err := c.Write(buf[:min(int64(len(buf)), n)])
			if err != nil {
				t.Fatal(err)
			}
			n -= int64(k)
		}
		if _, err := io.ReadFull(c, buf[:1]); err != nil {
			t.Fatal(err)
		}
	} else {
		for n > 0 {
			k, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			n -= int64(k)
		}
	}
	return float64(size) / 1e6 / time.Since(t0).Seconds()
}

// TestThroughput compares a direct loopback connection with one through
// the relay, both directions, alternating. Run with RELAY_TPUT_MB=1024
// (MiB per sample; off by default: it is a measurement, not a check).
func TestThroughput(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("RELAY_TPUT_MB"))
	if mb == 0 {
		t.Skip("a measurement: set RELAY_TPUT_MB (MiB per sample)")
	}
	rounds := 5
	if r, _ := strconv.Atoi(os.Getenv("RELAY_TPUT_ROUNDS")); r > 0 {
		rounds = r
	}
	srv := tputServer(t)
	defer srv.Close()
	spec, f := hostSocket(t, "tcp", srv.Addr().(*net.TCPAddr).Port)
	fw, err := Forward([]Spec{spec}, []*os.File{f})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	direct := srv.Addr().String()
	relayed := net.JoinHostPort("127.0.0.1", strconv.Itoa(spec.ParentPort))
	size := int64(mb) << 20
	res := map[string][]float64{}
	for r := 0; r < rounds; r++ {
		for _, dir := range []byte{'U', 'D'} {
			res["direct "+string(dir)] = append(res["direct "+string(dir)], tputClient(t, direct, dir, size))
			res["relay "+string(dir)] = append(res["relay "+string(dir)], tputClient(t, relayed, dir, size))
		}
	}
	for _, dir := range []string{"U", "D"} {
		d, r := median(res["direct "+dir]), median(res["relay "+dir])
		t.Logf("%s: direct %.0f MB/s %v, relay %.0f MB/s %v: %.2f×", dir, d, round(res["direct "+dir]), r, round(res["relay "+dir]), r/d)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

func round(v []float64) []int {
	r := make([]int, len(v))
	for i, x := range v {
		r[i] = int(x)
	}
	return r
}
