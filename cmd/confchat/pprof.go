package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofFlag is the global --pprof ADDR flag: serve net/http/pprof on a
// loopback address, for profiling a running node (docs/performance.md).
type pprofFlag struct{ addr string }

func (p *pprofFlag) String() string { return p.addr }

// Set accepts host:port with a loopback host: the profile endpoints show
// memory and must never face the network.
func (p *pprofFlag) Set(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q: pprof listens on loopback only (127.0.0.1, ::1 or localhost)", addr)
	}
	p.addr = addr
	return nil
}

// start serves the profiles until the returned stop is called; without
// the flag it does nothing.
func (p *pprofFlag) start(stderr io.Writer) (stop func(), err error) {
	if p.addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "confchat: pprof: %v\n", err)
		}
	}()
	fmt.Fprintf(stderr, "confchat: pprof on http://%s/debug/pprof/\n", ln.Addr())
	return func() {
		srv.Close()
		<-done
	}, nil
}
