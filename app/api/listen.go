package api

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
)

// listenError is why Listen failed, in words, over the net package's error (so that
// AddressInUse still sees it).
type listenError struct {
	msg string
	err error
}

func (e *listenError) Error() string { return e.msg }
func (e *listenError) Unwrap() error { return e.err }

// Listen opens addr (HOST:PORT; port 0 picks a free one) for Serve. Its errors say what is
// wrong in words a user acts on (the port is in use, the host is not this machine's) rather
// than net's "listen tcp ...: bind: ...", which names the address twice; they wrap net's
// error. Opening the port before loading a model means a busy port is told at once, not
// after the load.
func Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &listenError{fmt.Sprintf("the address %q is not HOST:PORT (e.g. 127.0.0.1:8765)", addr), err}
	}
	if err := CheckPort(port); err != nil {
		return nil, &listenError{fmt.Sprintf("the address %s: %v", addr, err), err}
	}
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	on := "on " + host
	if host == "" {
		on = "on all interfaces"
	}
	var dns *net.DNSError
	switch {
	case AddressInUse(err):
		return nil, &listenError{fmt.Sprintf("port %s %s is already in use", port, on), err}
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return nil, &listenError{fmt.Sprintf("%s is not an address of this machine: listen on 127.0.0.1 (this machine only) or one of its own addresses", host), err}
	case errors.Is(err, syscall.EACCES):
		return nil, &listenError{fmt.Sprintf("port %s %s may only be opened by an administrator: choose a port above 1023", port, on), err}
	case errors.As(err, &dns):
		return nil, &listenError{fmt.Sprintf("the host name %q is not known here: use an address such as 127.0.0.1", host), err}
	}
	return nil, fmt.Errorf("listen on %s: %w", addr, err)
}

// AddressInUse reports whether err, Listen's or one wrapping it, says another socket holds
// the address: EADDRINUSE, which Windows numbers apart as WSAEADDRINUSE, so that a test
// of syscall.EADDRINUSE alone never matches there.
func AddressInUse(err error) bool { return errors.Is(err, errAddressInUse) }

// CheckPort says what is wrong with the port of an address to listen on (0 picks a free
// one), as Listen does before it opens it.
func CheckPort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return errors.New("the port must be 1–65535")
	}
	return nil
}

// BaseURL is the base URL (http://HOST:PORT/v1) a client on this machine uses for a server
// listening on addr (as Addr or net.Listener.Addr report it). No client can connect to an
// unspecified host (0.0.0.0, ::), which means every interface: the URL names 127.0.0.1
// instead, and allInterfaces reports that other machines may connect too.
func BaseURL(addr string) (url string, allInterfaces bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/v1", false
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host, allInterfaces = "127.0.0.1", true
	}
	return "http://" + net.JoinHostPort(host, port) + "/v1", allInterfaces
}
