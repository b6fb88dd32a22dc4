package portmap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	natpmp "github.com/jackpal/go-nat-pmp"
)

// natpmpBackend maps through the NAT-PMP server (RFC 6886) at the default
// gateway, port 5351.
type natpmpBackend struct {
	c  *natpmp.Client
	ip netip.Addr // the external address the gateway reported
}

func (b *natpmpBackend) proto() string { return ProtoNATPMP }

// probeNATPMP asks the gateway for its external address.
func (m *Mapper) probeNATPMP(ctx context.Context) (backend, error) {
	gw, err := m.cfg.Gateway()
	if err != nil {
		return nil, fmt.Errorf("natpmp: %w", err)
	}
	if !gw.Is4() {
		return nil, fmt.Errorf("natpmp: gateway %s is not IPv4", gw)
	}
	c := natpmp.NewClientWithTimeout(net.IP(gw.AsSlice()), m.cfg.Timeout)
	res, err := call(ctx, func() (*natpmp.GetExternalAddressResult, error) { return c.GetExternalAddress() })
	if err != nil {
		return nil, fmt.Errorf("natpmp %s: %w", gw, err)
	}
	ip := netip.AddrFrom4(res.ExternalIPAddress)
	if ip.IsUnspecified() {
		return nil, fmt.Errorf("natpmp %s: gateway has no external address", gw)
	}
	return &natpmpBackend{c: c, ip: ip}, nil
}

func (b *natpmpBackend) add(ctx context.Context, internal, ext int, lease time.Duration) (Mapping, error) {
	if ext <= 0 {
		ext = internal
	}
	secs := int(lease / time.Second)
	res, err := call(ctx, func() (*natpmp.AddPortMappingResult, error) {
		return b.c.AddPortMapping("tcp", internal, ext, secs)
	})
	if err != nil {
		return Mapping{}, err
	}
	if res.MappedExternalPort == 0 || res.PortMappingLifetimeInSeconds == 0 {
		return Mapping{}, errors.New("natpmp: gateway granted no mapping")
	}
	return Mapping{External: netip.AddrPortFrom(b.ip, res.MappedExternalPort),
		Lease: time.Duration(res.PortMappingLifetimeInSeconds) * time.Second}, nil
}

// del asks for lifetime 0, which deletes the mapping of our internal
// port (RFC 6886 section 3.4).
func (b *natpmpBackend) del(ctx context.Context, mp Mapping) error {
	_, err := call(ctx, func() (*natpmp.AddPortMappingResult, error) {
		return b.c.AddPortMapping("tcp", mp.Internal, 0, 0)
	})
	return err
}

// call runs a go-nat-pmp request (which takes no context; its own
// timeout bounds it) and gives up waiting when ctx ends first.
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
