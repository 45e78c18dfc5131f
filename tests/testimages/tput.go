package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
)

// tputServe is `tput PORT`, in the udpecho image as /bin/tput and run on
// the host by tests/bench for the loopback floor: a TCP server for
// throughput, with 1 MiB reads and writes so that it is not what limits
// the rate. Each connection starts with a command byte and a size
// (8 bytes, big endian): 'U': read size bytes, then answer one byte (so
// the client's clock covers the delivery); 'D': write size bytes, then
// close; 'A': answer the connection's local port (2 bytes).
func tputServe(args []string) {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: tput PORT")
		os.Exit(2)
	}
	l, err := net.Listen("tcp", ":"+args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tput:", err)
		os.Exit(1)
	}
	fmt.Println("listening on tcp port", args[0])
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "tput:", err)
			os.Exit(1)
		}
		go tputConn(c)
	}
}

func tputConn(c net.Conn) {
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
}
