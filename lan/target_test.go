package lan

import (
	"strings"
	"testing"
)

// Extra announce addresses as users write them, IPv4 and IPv6, and what is refused.
func TestParseTarget(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{in: "10.1.2.255", want: "10.1.2.255:2425"},
		{in: " 10.1.2.7:2426 ", want: "10.1.2.7:2426"},
		{in: "::ffff:10.1.2.7", want: "10.1.2.7:2425"},
		{in: "fd00::7", want: "[fd00::7]:2425"},
		{in: "[fd00::7]:2426", want: "[fd00::7]:2426"},
		{in: "2001:db8::1", want: "[2001:db8::1]:2425"},
		{in: "fe80::7%eth0", want: "[fe80::7%eth0]:2425"},
		{in: "[fe80::7%eth0]:2426", want: "[fe80::7%eth0]:2426"},
		{in: "ff15::979", want: "[ff15::979]:2425"},
		{in: "ff15::979%eth1", want: "[ff15::979%eth1]:2425"},
		{in: "[ff02::1%eth0]:2425", want: "[ff02::1%eth0]:2425"},
		{in: "fe80::7", err: "needs its interface"},
		{in: "ff02::1", err: "needs its interface"},
		{in: "fd00::7%eth0", err: "only link-local"},
		{in: "10.1.2.7:0", err: "port must not be 0"},
		{in: "0.0.0.0", err: "unspecified"},
		{in: "::", err: "unspecified"},
		{in: "office.example", err: "not an address"},
		{in: "10.1.2.7:99999", err: "not an address"},
		{in: "", err: "not an address"},
	} {
		got, err := ParseTarget(c.in, 2425)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseTarget(%q) = %v, %v; want an error saying %q", c.in, got, err, c.err)
		case c.err == "" && (err != nil || got.String() != c.want):
			t.Errorf("ParseTarget(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
	if _, err := NewNode(Config{ID: "x", NoIPv6: true, Extra: []string{"fd00::7"}}, nil); err == nil || !strings.Contains(err.Error(), "IPv6 is off") {
		t.Errorf("an IPv6 --broadcast address with IPv6 off: %v", err)
	}
}
