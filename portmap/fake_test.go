package portmap

import (
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeIGD is a small UPnP Internet Gateway Device on loopback: an SSDP
// responder on a UDP port and a description + SOAP control server.
type fakeIGD struct {
	t        *testing.T
	ssdp     *net.UDPConn
	http     *httptest.Server
	external string

	mu        sync.Mutex
	searches  int
	mappings  map[uint16]igdMapping // external port -> mapping
	adds      int
	deletes   int
	conflict  map[uint16]bool // external ports that answer 718
	permOnly  bool            // answer 725 to a non-zero lease
	failAdds  bool            // answer 501 to every AddPortMapping
	stallAdds chan struct{}   // if set, take an AddPortMapping but answer only once it is closed (or the client gives up)
	lastLease uint32
}

type igdMapping struct {
	Internal uint16
	Client   string
	Lease    uint32
	Desc     string
}

func newFakeIGD(t *testing.T) *fakeIGD {
	t.Helper()
	g := &fakeIGD{t: t, external: "203.0.113.7", mappings: map[uint16]igdMapping{}, conflict: map[uint16]bool{}}
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	g.ssdp = uc
	mux := http.NewServeMux()
	mux.HandleFunc("/rootDesc.xml", g.serveDesc)
	mux.HandleFunc("/ctl/IPConn", g.serveSOAP)
	g.http = httptest.NewServer(mux)
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.serveSSDP()
	}()
	t.Cleanup(func() {
		uc.Close()
		<-done
		g.http.Close()
	})
	return g
}

// addr is where SSDP searches go.
func (g *fakeIGD) addr() string { return g.ssdp.LocalAddr().String() }

func (g *fakeIGD) serveSSDP() {
	buf := make([]byte, 2048)
	for {
		n, from, err := g.ssdp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		req := string(buf[:n])
		if !strings.HasPrefix(req, "M-SEARCH * HTTP/1.1\r\n") || !strings.Contains(req, "ssdp:discover") {
			continue
		}
		g.mu.Lock()
		g.searches++
		g.mu.Unlock()
		resp := "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: upnp:rootdevice\r\n" +
			"USN: uuid:fake-igd::upnp:rootdevice\r\nEXT:\r\nSERVER: fake/1 UPnP/1.1 fake/1\r\n" +
			"LOCATION: " + g.http.URL + "/rootDesc.xml\r\n\r\n"
		g.ssdp.WriteToUDP([]byte(resp), from)
	}
}

const igdDesc = `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>1</minor></specVersion>
<device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<friendlyName>fake IGD</friendlyName><UDN>uuid:fake-igd</UDN>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType><UDN>uuid:fake-wan</UDN>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType><UDN>uuid:fake-wanconn</UDN>
<serviceList><service>
<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<controlURL>/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL>
</service></serviceList>
</device></deviceList>
</device></deviceList>
</device>
</root>`

func (g *fakeIGD) serveDesc(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, igdDesc)
}

// soapArgs is the flat argument list of a SOAP action.
type soapArgs struct {
	XMLName xml.Name
	Args    []struct {
		XMLName xml.Name
		Value   string `xml:",chardata"`
	} `xml:",any"`
}

func (a soapArgs) get(name string) string {
	for _, x := range a.Args {
		if x.XMLName.Local == name {
			return x.Value
		}
	}
	return ""
}

func (g *fakeIGD) serveSOAP(w http.ResponseWriter, r *http.Request) {
	action := strings.Trim(r.Header.Get("SOAPAction"), `"`)
	_, name, _ := strings.Cut(action, "#")
	var env struct {
		Body struct {
			Action soapArgs `xml:",any"`
		} `xml:"Body"`
	}
	if err := xml.NewDecoder(r.Body).Decode(&env); err != nil {
		g.fault(w, 402, "Invalid Args")
		return
	}
	a := env.Body.Action
	port := func(s string) uint16 {
		var p uint16
		fmt.Sscan(s, &p)
		return p
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch name {
	case "GetExternalIPAddress":
		g.reply(w, name, "<NewExternalIPAddress>"+g.external+"</NewExternalIPAddress>")
	case "AddPortMapping":
		g.adds++
		ext := port(a.get("NewExternalPort"))
		var lease uint32
		fmt.Sscan(a.get("NewLeaseDuration"), &lease)
		g.lastLease = lease
		switch {
		case g.failAdds:
			g.fault(w, 501, "Action Failed")
		case g.conflict[ext]:
			g.fault(w, 718, "ConflictInMappingEntry")
		case g.permOnly && lease != 0:
			g.fault(w, 725, "OnlyPermanentLeasesSupported")
		default:
			g.mappings[ext] = igdMapping{Internal: port(a.get("NewInternalPort")), Client: a.get("NewInternalClient"),
				Lease: lease, Desc: a.get("NewPortMappingDescription")}
			if stall := g.stallAdds; stall != nil {
				g.mu.Unlock()
				select { // the answer is lost: the client stops waiting first
				case <-r.Context().Done():
				case <-stall:
				}
				g.mu.Lock()
				return
			}
			g.reply(w, name, "")
		}
	case "DeletePortMapping":
		g.deletes++
		ext := port(a.get("NewExternalPort"))
		if _, ok := g.mappings[ext]; !ok {
			g.fault(w, 714, "NoSuchEntryInArray")
			return
		}
		delete(g.mappings, ext)
		g.reply(w, name, "")
	default:
		g.fault(w, 401, "Invalid Action")
	}
}

func (g *fakeIGD) reply(w http.ResponseWriter, action, body string) {
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	fmt.Fprintf(w, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" `+
		`s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>`+
		`<u:%sResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">%s</u:%sResponse>`+
		`</s:Body></s:Envelope>`, action, body, action)
}

func (g *fakeIGD) fault(w http.ResponseWriter, code int, desc string) {
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" `+
		`s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><s:Fault>`+
		`<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>`+
		`<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>%d</errorCode>`+
		`<errorDescription>%s</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>`, code, desc)
}

func (g *fakeIGD) snapshot() (adds, deletes, searches int, maps map[uint16]igdMapping) {
	g.mu.Lock()
	defer g.mu.Unlock()
	maps = map[uint16]igdMapping{}
	for k, v := range g.mappings {
		maps[k] = v
	}
	return g.adds, g.deletes, g.searches, maps
}

// fakePMP is a NAT-PMP server (RFC 6886) on a loopback address, port
// 5351 (the only port go-nat-pmp speaks to).
type fakePMP struct {
	conn     *net.UDPConn
	ip       net.IP
	external [4]byte

	mu       sync.Mutex
	mappings map[uint16]uint16 // internal -> external
	lifetime map[uint16]uint32
	adds     int
	deletes  int
	grant    uint32 // lifetime granted (0: as asked)
}

func newFakePMP(t *testing.T, grant uint32) *fakePMP {
	t.Helper()
	// A loopback address of our own, so port 5351 is free.
	var conn *net.UDPConn
	var ip net.IP
	for i := 0; i < 20 && conn == nil; i++ {
		ip = net.IPv4(127, 53, byte(time.Now().UnixNano()%250+1), byte(i+1))
		conn, _ = net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: 5351})
	}
	if conn == nil {
		t.Fatal("no loopback address with UDP port 5351 free")
	}
	p := &fakePMP{conn: conn, ip: ip, external: [4]byte{198, 51, 100, 9},
		mappings: map[uint16]uint16{}, lifetime: map[uint16]uint32{}, grant: grant}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.serve()
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return p
}

func (p *fakePMP) serve() {
	buf := make([]byte, 64)
	for {
		n, from, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 2 || buf[0] != 0 {
			continue
		}
		out := make([]byte, 16)
		out[0], out[1] = 0, buf[1]|0x80
		binary.BigEndian.PutUint32(out[4:8], 1234)
		switch {
		case buf[1] == 0 && n == 2:
			copy(out[8:12], p.external[:])
			out = out[:12]
		case buf[1] == 2 && n == 12:
			internal := binary.BigEndian.Uint16(buf[4:6])
			ext := binary.BigEndian.Uint16(buf[6:8])
			life := binary.BigEndian.Uint32(buf[8:12])
			p.mu.Lock()
			if life == 0 {
				p.deletes++
				delete(p.mappings, internal)
				ext = 0
			} else {
				p.adds++
				if ext == 0 {
					ext = internal
				}
				if p.grant != 0 {
					life = p.grant
				}
				p.mappings[internal], p.lifetime[internal] = ext, life
			}
			p.mu.Unlock()
			binary.BigEndian.PutUint16(out[8:10], internal)
			binary.BigEndian.PutUint16(out[10:12], ext)
			binary.BigEndian.PutUint32(out[12:16], life)
		default:
			binary.BigEndian.PutUint16(out[2:4], 5) // unsupported opcode
			out = out[:4]
		}
		p.conn.WriteToUDP(out, from)
	}
}

func (p *fakePMP) snapshot() (adds, deletes int, maps map[uint16]uint16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	maps = map[uint16]uint16{}
	for k, v := range p.mappings {
		maps[k] = v
	}
	return p.adds, p.deletes, maps
}

// fakeClock moves only when the test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *fakeClock
	ch   chan time.Time
	when time.Time
	on   bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	t.arm(d)
	return t
}

// arm needs c.mu held.
func (t *fakeTimer) arm(d time.Duration) {
	select { // Go 1.23 semantics: a reset timer delivers no stale tick
	case <-t.ch:
	default:
	}
	t.when, t.on = t.c.now.Add(d), true
	if d <= 0 {
		t.fire()
	}
}

func (t *fakeTimer) fire() {
	t.on = false
	select {
	case t.ch <- t.when:
	default:
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.arm(d)
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.on
	t.on = false
	return was
}

// Advance moves the clock by d and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if t.on && !t.when.After(c.now) {
			t.fire()
		}
	}
}

// waitFor polls cond every 5 ms for at most limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
