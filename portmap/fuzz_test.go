package portmap

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// A hostile or broken router: whatever it answers to the description
// fetch and the SOAP calls, discovery and mapping return (an error or a
// mapping), never panic.
func FuzzIGDReplies(f *testing.F) {
	f.Add([]byte(igdDesc), []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`+
		`<u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">`+
		`<NewExternalIPAddress>1.2.3.4</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>`))
	f.Add([]byte(igdDesc), []byte(`<s:Envelope><s:Body><s:Fault><detail><UPnPError><errorCode>725</errorCode></UPnPError></detail></s:Fault></s:Body></s:Envelope>`))
	f.Add([]byte("<root><device><deviceList>"), []byte{0xff, 0})
	f.Add([]byte(igdDesc), []byte(`<s:Envelope><s:Body><u:X><NewExternalIPAddress>::</NewExternalIPAddress></u:X></s:Body></s:Envelope>`))
	var desc, soapReply atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("/rootDesc.xml", func(w http.ResponseWriter, r *http.Request) { w.Write(desc.Load().([]byte)) })
	mux.HandleFunc("/ctl/IPConn", func(w http.ResponseWriter, r *http.Request) { w.Write(soapReply.Load().([]byte)) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	loc, _ := url.Parse(srv.URL + "/rootDesc.xml")
	m := New(Config{Port: 7400, Timeout: time.Second})
	f.Fuzz(func(t *testing.T, d, s []byte) {
		desc.Store(d)
		soapReply.Store(s)
		b, err := m.igdAt(context.Background(), loc)
		if err != nil {
			return
		}
		if got, err := b.add(context.Background(), 7400, 7400, time.Hour); err == nil && !got.External.IsValid() {
			t.Fatalf("a mapping without an external address: %+v", got)
		}
	})
}

// Whatever a NAT-PMP gateway answers, probing and mapping return.
func FuzzNATPMPReplies(f *testing.F) {
	f.Add([]byte{0, 0x80, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4})
	f.Add([]byte{0, 0x82, 0, 0, 0, 0, 0, 1, 0x1c, 0xe8, 0x1c, 0xe8, 0, 0, 0, 60})
	f.Add([]byte{0, 0x80, 0, 3})
	f.Add([]byte{})
	var reply atomic.Value
	reply.Store([]byte{})
	var conn *net.UDPConn
	for i := 0; i < 20 && conn == nil; i++ {
		conn, _ = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 54, byte(time.Now().UnixNano()%250+1), byte(i+1)), Port: 5351})
	}
	if conn == nil {
		f.Fatal("no loopback address with UDP port 5351 free")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r := append([]byte(nil), reply.Load().([]byte)...)
			if n >= 2 && len(r) >= 2 && r[1]&0x80 != 0 {
				r[1] = buf[1] | 0x80 // answer the opcode asked, so mapping is reached
			}
			conn.WriteToUDP(r, from)
		}
	}()
	defer func() {
		conn.Close()
		<-done
	}()
	gw, _ := netip.AddrFromSlice(conn.LocalAddr().(*net.UDPAddr).IP.To4())
	m := New(Config{Port: 7400, Timeout: 300 * time.Millisecond, Gateway: func() (netip.Addr, error) { return gw, nil }})
	f.Fuzz(func(t *testing.T, r []byte) {
		if len(r) > 64 {
			return
		}
		reply.Store(r)
		b, err := m.probeNATPMP(context.Background())
		if err != nil {
			return
		}
		if got, err := b.add(context.Background(), 7400, 7400, time.Hour); err == nil && (!got.External.IsValid() || got.Lease <= 0) {
			t.Fatalf("an empty mapping: %+v", got)
		}
	})
}
