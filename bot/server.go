package bot

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"confchat/node"
)

// Options configures a Server.
type Options struct {
	// AcceptFriends accepts every friend request.
	AcceptFriends bool
	// AutoJoin joins every conference a friend invites us to.
	AutoJoin bool
	// Shutdown is called by the shutdown method; it should make the
	// process stop (cancel the context Serve* run under).
	Shutdown func()
	// Logger receives logs; nil discards them. Never stdout.
	Logger *slog.Logger
}

// Server serves the bot API for one node on any number of connections.
type Server struct {
	node *node.Node
	opts Options
	log  *slog.Logger
	mux  *Mux
}

// New returns a server for n.
func New(n *node.Node, opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{node: n, opts: opts, log: log, mux: NewMux()}
	s.register(s.mux)
	return s
}

// ServeConn serves one connection: it sends the ready notification,
// forwards node events as notifications, and answers requests until r
// ends, ctx is done or writing fails.
func (s *Server) ServeConn(ctx context.Context, r io.Reader, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn := NewConn(s.mux, r, w)
	sub := s.node.Subscribe()
	defer sub.Close()
	me, err := s.node.Self(ctx)
	if err != nil {
		return err
	}
	if err := conn.Notify("ready", map[string]any{"id": me.ID.String(), "public_key": me.Key.String(),
		"addresses": nonNil(me.Addresses), "at": rfc3339(time.Now())}); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.forward(ctx, sub, conn)
	}()
	err = conn.Serve(ctx)
	cancel()
	wg.Wait()
	return err
}

// forward turns node events into notifications until ctx ends. Each
// carries `at`, the node's clock when it emitted the event.
func (s *Server) forward(ctx context.Context, sub *node.Subscription, conn *Conn) {
	for {
		ev, at, ok := sub.NextAt(ctx)
		if !ok {
			return
		}
		method, params := notificationFor(ev)
		if method == "" {
			continue
		}
		if m, ok := params.(messageJSON); ok {
			if err := conn.notifyMessage(&m, rfc3339(at)); err != nil {
				return
			}
			continue
		}
		p, err := withAt(params, at)
		if err != nil {
			s.log.Warn("notification not sent", "method", method, "err", err)
			continue
		}
		if err := conn.notifyObject(method, p); err != nil {
			return
		}
	}
}

// RunPolicies acts on events for the flags --accept-friends and
// --auto-join until ctx ends.
func (s *Server) RunPolicies(ctx context.Context) {
	if !s.opts.AcceptFriends && !s.opts.AutoJoin {
		return
	}
	sub := s.node.Subscribe()
	defer sub.Close()
	for {
		ev, ok := sub.Next(ctx)
		if !ok {
			return
		}
		var err error
		switch ev := ev.(type) {
		case node.FriendRequestReceived:
			if s.opts.AcceptFriends {
				err = s.node.AcceptFriend(ctx, ev.From)
			}
		case node.ConferenceInvited:
			if s.opts.AutoJoin {
				err = s.node.Join(ctx, ev.Conference)
			}
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			s.log.Warn("policy action failed", "err", err)
		}
	}
}

// ServeUnix serves the API on a unix socket at path, one goroutine per
// client, until ctx ends. The socket is private (0600) from the moment it
// appears at path (see listenUnix); a stale socket file is replaced, a live
// one or any other file is left alone with an error. The socket file is
// removed when ServeUnix returns.
func (s *Server) ServeUnix(ctx context.Context, path string) error {
	ln, err := ListenUnix(path)
	if err != nil {
		return err
	}
	return s.ServeListener(ctx, ln)
}

// ListenUnix binds the private unix socket at path that ServeUnix serves
// (see listenUnix), so a caller can refuse to start when it cannot be
// served: a file at path that is not a socket (ErrSocketNotOurs), a socket
// another process serves (ErrSocketInUse), or any bind failure.
func ListenUnix(path string) (net.Listener, error) { return listenUnix(path) }

// ServeListener serves the API on ln (from ListenUnix), one goroutine per
// client, until ctx ends; it closes ln (removing its socket file) when it
// returns.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	defer ln.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			context.AfterFunc(cctx, func() { c.Close() })
			if err := s.ServeConn(cctx, c, c); err != nil && ctx.Err() == nil {
				s.log.Debug("socket client ended", "err", err)
			}
		}()
	}
}
