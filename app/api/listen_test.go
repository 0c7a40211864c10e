package api

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
)

// TestListen: Listen's errors say what is wrong in words, once, and still wrap net's error.
func TestListen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	busyAddr := busy.Addr().String()
	for _, c := range []struct {
		addr   string
		want   string // the whole message
		inUse  bool   // AddressInUse(err)
		prefix bool   // want is only the message's beginning
	}{
		{busyAddr, "port " + strconv.Itoa(busyPort) + " on 127.0.0.1 is already in use", true, false},
		{"127.0.0.1:99999", "the address 127.0.0.1:99999: the port must be 1–65535", false, false},
		{"127.0.0.1:-1", "the address 127.0.0.1:-1: the port must be 1–65535", false, false},
		{"127.0.0.1:http", "the address 127.0.0.1:http: the port must be 1–65535", false, false},
		{"nonsense", `the address "nonsense" is not HOST:PORT (e.g. 127.0.0.1:8765)`, false, false},
		{"192.0.2.1:0", "192.0.2.1 is not an address of this machine", false, true},
	} {
		ln, err := Listen(c.addr)
		if err == nil {
			ln.Close()
			t.Errorf("Listen(%q) succeeded", c.addr)
			continue
		}
		if msg := err.Error(); msg != c.want && !(c.prefix && strings.HasPrefix(msg, c.want)) {
			t.Errorf("Listen(%q): %q, want %q", c.addr, msg, c.want)
		}
		if got := AddressInUse(err); got != c.inUse {
			t.Errorf("Listen(%q): AddressInUse(err) = %v", c.addr, got)
		}
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

// TestBaseURL: a server on every interface is named by an address a client can connect to.
func TestBaseURL(t *testing.T) {
	for _, c := range []struct {
		addr string
		want string
		all  bool
	}{
		{"127.0.0.1:8765", "http://127.0.0.1:8765/v1", false},
		{"[::1]:8765", "http://[::1]:8765/v1", false},
		{"192.168.1.5:8765", "http://192.168.1.5:8765/v1", false},
		{"[::]:18766", "http://127.0.0.1:18766/v1", true},
		{"0.0.0.0:18766", "http://127.0.0.1:18766/v1", true},
		{":18766", "http://127.0.0.1:18766/v1", true},
		{"localhost:8765", "http://localhost:8765/v1", false},
	} {
		if url, all := BaseURL(c.addr); url != c.want || all != c.all {
			t.Errorf("BaseURL(%q) = %q, %v; want %q, %v", c.addr, url, all, c.want, c.all)
		}
	}
}

// AddressInUse sees a busy port in Listen's error, in net's own and in either wrapped again,
// and in nothing else.
func TestAddressInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, netErr := net.Listen("tcp", busy.Addr().String())
	_, listenErr := Listen(busy.Addr().String())
	_, refused := net.Dial("tcp", "127.0.0.1:1")
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"net.Listen", netErr, true},
		{"Listen", listenErr, true},
		{"wrapped", fmt.Errorf("serve: %w", listenErr), true},
		{"nil", nil, false},
		{"refused", refused, false},
		{"bad port", func() error { _, err := Listen("127.0.0.1:99999"); return err }(), false},
	} {
		if got := AddressInUse(c.err); got != c.want {
			t.Errorf("%s: AddressInUse(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}
