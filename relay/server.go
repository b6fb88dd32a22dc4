package relay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"confchat/identity"
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("relay: server closed")

// Server is a relay. Make one with NewServer, hand it listeners with
// Serve, and stop it with Close, which closes every connection and waits
// for every goroutine it started.
type Server struct {
	cfg    Config
	hub    *hub
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // hub loop, accept loops, connection handlers

	lnMu      sync.Mutex // guards listeners
	listeners map[net.Listener]struct{}
	closeOnce sync.Once
}

// NewServer starts a relay's hub; it accepts nothing until Serve.
func NewServer(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, hub: newHub(cfg), ctx: ctx, cancel: cancel, listeners: map[net.Listener]struct{}{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.hub.loop(ctx)
	}()
	return s, nil
}

// Key is the relay's public key, the KEY of its address.
func (s *Server) Key() identity.PublicKey { return s.cfg.Key.Public() }

// Stats returns the relay's counters.
func (s *Server) Stats() Stats { return s.hub.stats() }

// Serve accepts connections on ln until ln fails or the server is closed;
// it closes ln on return. After Close it returns ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	var tempDelay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: wait, then retry.
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				if !sleep(s.cfg.Clock, tempDelay, s.ctx.Done()) {
					return ErrServerClosed
				}
				continue
			}
			return fmt.Errorf("relay: accept: %w", err)
		}
		tempDelay = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(conn)
		}()
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) track(ln net.Listener) bool {
	s.lnMu.Lock()
	defer s.lnMu.Unlock()
	if s.ctx.Err() != nil {
		return false
	}
	s.listeners[ln] = struct{}{}
	// Serve itself counts in wg, so the Add of each accepted connection
	// happens while the counter is above zero and never races Close's
	// Wait; this Add is ordered before Close by lnMu and the ctx check.
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.lnMu.Lock()
	delete(s.listeners, ln)
	ln.Close()
	s.lnMu.Unlock()
	s.wg.Done()
}

// Close stops the relay: listeners and every connection are closed, and
// Close returns when all of the server's goroutines have ended.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.lnMu.Lock()
		s.cancel()
		for ln := range s.listeners {
			ln.Close()
		}
		s.lnMu.Unlock()
	})
	s.wg.Wait()
	return nil
}
