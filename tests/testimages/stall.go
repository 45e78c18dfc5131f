package main

import (
	"fmt"
	"io"
	"net"
	"os"
)

// stallServe is `testimages -serve-stall ADDR`: a registry that stops
// answering. It listens on ADDR (port 0: any), prints the port, then prints
// "accepted" for each connection, reads what the client sends and never
// answers, until the client hangs up or the process is killed. Tests use it
// to interrupt a pull that cannot finish.
func stallServe(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testimages:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "testimages:", err)
			os.Exit(1)
		}
		fmt.Println("accepted")
		go func() {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}()
	}
}
