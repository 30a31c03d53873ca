package ipmsg

import (
	"reflect"
	"strings"
	"testing"
)

// A page as IP Messenger writes one (SendHostList: "%5d\a%5d\a", then per host
// user\ahost\astatus\aaddr\aport\anick\agroup\a, "\b" for an empty nickname or group).
const ipmsgPage = "   12\a    2\ataro\apc-01\a6291713\a10.0.5.7\a2425\aTaro\aSales\ahana\apc-02\a1\a10.0.5.8\a2426\a\b\a\b\a"

func TestParseAnsListVector(t *testing.T) {
	next, count, hosts, err := ParseAnsList([]byte(ipmsgPage+"\x00"), UTF8, 100)
	if err != nil || next != 12 || count != 2 {
		t.Fatalf("next %d count %d err %v", next, count, err)
	}
	want := []HostListEntry{
		{User: "taro", Host: "pc-01", Status: 6291713, IP: "10.0.5.7", Port: 2425, Nick: "Taro", Group: "Sales"},
		{User: "hana", Host: "pc-02", Status: 1, IP: "10.0.5.8", Port: 2426},
	}
	if !reflect.DeepEqual(hosts, want) {
		t.Fatalf("got %+v", hosts)
	}
}

func TestAnsListBodyVector(t *testing.T) {
	got := AnsListBody(UTF8, 12, []HostListEntry{
		{User: "taro", Host: "pc-01", Status: 6291713, IP: "10.0.5.7", Port: 2425, Nick: "Taro", Group: "Sales"},
		{User: "hana", Host: "pc-02", Status: 1, IP: "10.0.5.8", Port: 2426},
	})
	if string(got) != ipmsgPage {
		t.Fatalf("got %q\nwant %q", got, ipmsgPage)
	}
	// The last page says 0; separators in names cannot shift the fields.
	last := AnsListBody(GBK, 0, []HostListEntry{{User: "a\ab", Host: "h\x00", Status: 1, IP: "10.0.0.1", Port: 2425, Nick: "小王\b", Group: "研发"}})
	next, count, hosts, err := ParseAnsList(last, GBK, 10)
	if err != nil || next != 0 || count != 1 || len(hosts) != 1 || hosts[0].User != "ab" || hosts[0].Nick != "小王" || hosts[0].Group != "研发" {
		t.Fatalf("%q → %d %d %+v %v", last, next, count, hosts, err)
	}
	if !strings.HasPrefix(string(last), "    0\a    1\a") {
		t.Fatalf("header %q", last[:12])
	}
}

func TestParseAnsListHostile(t *testing.T) {
	for _, b := range []string{"", "\a", "x\ay\a", "-1\a2\a", "5\a-3\a"} {
		if _, _, _, err := ParseAnsList([]byte(b), UTF8, 10); err == nil {
			t.Errorf("%q parsed", b)
		}
	}
	// Hosts with a bad status or port are skipped (the address is the user's to check), a
	// truncated one ignored, and no more than max are read.
	page := "0\a9\au\ah\a1\anot-an-ip\a2425\an\ag\au\ah\ax\a10.0.0.1\a2425\an\ag\au\ah\a1\a10.0.0.2\a99999\an\ag\au\ah\a1\a10.0.0.3\a2425\an\ag\au\ah\a1\a10.0.0.4"
	_, _, hosts, err := ParseAnsList([]byte(page), UTF8, 10)
	if err != nil || len(hosts) != 2 || hosts[0].IP != "not-an-ip" || hosts[1].IP != "10.0.0.3" || hosts[1].Port != 2425 {
		t.Fatalf("%+v %v", hosts, err)
	}
	many := "0\a1000\a" + strings.Repeat("u\ah\a1\a10.0.0.9\a2425\an\ag\a", 1000)
	if _, _, hosts, _ := ParseAnsList([]byte(many), UTF8, 50); len(hosts) != 50 {
		t.Fatalf("read %d hosts, want the 50 asked for", len(hosts))
	}
}
