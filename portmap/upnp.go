package portmap

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/huin/goupnp/dcps/internetgateway2"
	"github.com/huin/goupnp/httpu"
	"github.com/huin/goupnp/soap"
	"github.com/huin/goupnp/ssdp"
)

// UPnP error codes that change what we ask (UPnP IGD WANIPConnection).
const (
	upnpConflict       = 718 // ConflictInMappingEntry: the external port is taken
	upnpOnlyPermanent  = 725 // OnlyPermanentLeasesSupported
	upnpSamePortValues = 724 // SamePortValuesRequired
	maxUPnPTries       = 3   // external ports tried before giving up
)

// igdClient is what a WANIPConnection:1, WANIPConnection:2 or
// WANPPPConnection:1 client of goupnp has in common.
type igdClient interface {
	AddPortMappingCtx(ctx context.Context, remoteHost string, extPort uint16, proto string, intPort uint16,
		intClient string, enabled bool, desc string, lease uint32) error
	DeletePortMappingCtx(ctx context.Context, remoteHost string, extPort uint16, proto string) error
	GetExternalIPAddressCtx(ctx context.Context) (string, error)
}

type upnpBackend struct {
	c        igdClient
	local    string // our address as the IGD sees it (InternalClient)
	desc     string
	location string
}

func (b *upnpBackend) proto() string { return ProtoUPnP }

// probeUPnP sends an SSDP search to cfg.SSDPAddr and returns the first
// IGD connection service that tells its external address.
func (m *Mapper) probeUPnP(ctx context.Context) (backend, error) {
	if m.cfg.SSDPAddr == "off" {
		return nil, errors.New("upnp: off")
	}
	// The search waits its whole time for answers; SSDP's MX is at least 1 s.
	sctx, cancel := context.WithTimeout(ctx, max(m.cfg.Timeout, 1500*time.Millisecond))
	defer cancel()
	hc, err := httpu.NewHTTPUClient()
	if err != nil {
		return nil, fmt.Errorf("upnp: %w", err)
	}
	defer hc.Close()
	resps, err := ssdp.RawSearch(sctx, toAddr{hc, m.cfg.SSDPAddr}, ssdp.UPNPRootDevice, 2)
	if err != nil {
		return nil, fmt.Errorf("upnp: search: %w", err)
	}
	if len(resps) == 0 {
		return nil, errors.New("upnp: no gateway answered the search")
	}
	var errs []error
	for _, r := range resps {
		loc, err := r.Location()
		if err != nil {
			continue
		}
		b, err := m.igdAt(ctx, loc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return b, nil
	}
	return nil, fmt.Errorf("upnp: %w", errors.Join(errs...))
}

// igdAt returns a backend for the first connection service of the
// device described at loc that reports an external address.
func (m *Mapper) igdAt(ctx context.Context, loc *url.URL) (*upnpBackend, error) {
	dctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	var clients []igdClient
	if cs, err := internetgateway2.NewWANIPConnection2ClientsByURLCtx(dctx, loc); err == nil {
		for _, c := range cs {
			clients = append(clients, c)
		}
	}
	if cs, err := internetgateway2.NewWANIPConnection1ClientsByURLCtx(dctx, loc); err == nil {
		for _, c := range cs {
			clients = append(clients, c)
		}
	}
	if cs, err := internetgateway2.NewWANPPPConnection1ClientsByURLCtx(dctx, loc); err == nil {
		for _, c := range cs {
			clients = append(clients, c)
		}
	}
	if len(clients) == 0 {
		return nil, fmt.Errorf("%s: no WAN connection service", loc)
	}
	local, err := localAddrTo(loc.Host)
	if err != nil {
		return nil, err
	}
	for _, c := range clients {
		if _, err := c.GetExternalIPAddressCtx(dctx); err == nil {
			return &upnpBackend{c: c, local: local, desc: m.cfg.Description, location: loc.String()}, nil
		}
	}
	return nil, fmt.Errorf("%s: no service reports an external address", loc)
}

func (b *upnpBackend) add(ctx context.Context, internal, ext int, lease time.Duration) (Mapping, error) {
	ipStr, err := b.c.GetExternalIPAddressCtx(ctx)
	if err != nil {
		return Mapping{}, fmt.Errorf("external address: %w", err)
	}
	ip, err := netip.ParseAddr(ipStr)
	if err != nil || !ip.IsValid() || ip.IsUnspecified() {
		return Mapping{}, fmt.Errorf("router has no usable external address (%q)", ipStr)
	}
	ip = ip.Unmap()
	if ext <= 0 {
		ext = internal
	}
	secs := uint32(lease / time.Second)
	var lastErr error
	for try := 0; try < maxUPnPTries; try++ {
		err := b.c.AddPortMappingCtx(ctx, "", uint16(ext), "TCP", uint16(internal), b.local, true, b.desc, secs)
		code := faultCode(err)
		switch {
		case err == nil:
			return Mapping{External: netip.AddrPortFrom(ip, uint16(ext)), Lease: time.Duration(secs) * time.Second}, nil
		case code == upnpOnlyPermanent && secs != 0:
			secs = 0 // ask again, permanently; deleted on exit
			try--
		case code == upnpConflict:
			ext = 1024 + rand.IntN(65535-1024)
		case code == upnpSamePortValues && ext != internal:
			ext = internal
		default:
			return Mapping{}, fmt.Errorf("AddPortMapping: %w", err)
		}
		lastErr = err
	}
	return Mapping{}, fmt.Errorf("AddPortMapping: %w", lastErr)
}

func (b *upnpBackend) del(ctx context.Context, mp Mapping) error {
	return b.c.DeletePortMappingCtx(ctx, "", mp.External.Port(), "TCP")
}

// faultCode is the UPnP error code of a SOAP fault, else 0.
func faultCode(err error) int {
	var f *soap.SOAPFaultError
	if errors.As(err, &f) {
		return f.Detail.UPnPError.Errorcode
	}
	return 0
}

// localAddrTo returns our IP on the route to hostport (no packet is
// sent: a UDP "connection" only picks the source address).
func localAddrTo(hostport string) (string, error) {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	c, err := net.Dial("udp", net.JoinHostPort(host, "1900"))
	if err != nil {
		return "", fmt.Errorf("route to %s: %w", host, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

// toAddr sends goupnp's SSDP search to addr instead of the multicast
// group (a unicast search, for tests and for a configured gateway).
type toAddr struct {
	c    *httpu.HTTPUClient
	addr string
}

func (t toAddr) DoWithContext(req *http.Request, numSends int) ([]*http.Response, error) {
	if t.addr != DefaultSSDPAddr {
		req.Host = t.addr
	}
	return t.c.DoWithContext(req, numSends)
}
