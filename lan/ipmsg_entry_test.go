package lan

import (
	"bytes"
	"testing"

	"feigo/ipmsg"
)

// An IP Messenger that reads UTF-8 (CAPUTF8OPT) takes an ANSENTRY's nick and group from its
// sections, in its code page unless UTF8OPT says UTF-8 (its trailer's NN and GN count only
// for BR_ENTRY and BR_ABSENCE; msgmng.cpp, see docs/protocol.md): FeiGo's answer carries
// UTF8OPT, as IP Messenger's own answers do. An IP Messenger without CAPUTF8OPT gets its code
// page and no flag. With legacy groups on, the answer ends with iptux's encoding section,
// which IP Messenger does not look at.
func TestAnswerToIPMsgSaysUTF8(t *testing.T) {
	for _, legacyGroups := range []bool{false, true} {
		n := startNode(t, loopbackConn(t), "李雷", func(c *Config) { c.Group = "研发部"; c.LegacyGroups = legacyGroups })
		utf := newRawPeer(t)
		utf.send(n.addr, "1", "taro", "pc", ipmsg.BrEntry|ipmsg.CapUTF8Opt, "Taro\x00\x00\nUN:taro\nHN:pc\nNN:Taro\nGN:\x00")
		p := utf.expect(ipmsg.AnsEntry)
		secs := ipmsg.Sections(p.Body)
		if !p.Cmd.Has(ipmsg.UTF8Opt) || len(secs) < 2 || string(secs[0]) != "李雷" || string(secs[1]) != "研发部" {
			t.Errorf("legacy groups %v: ANSENTRY to an IPMsg reading UTF-8: cmd %#x body %q", legacyGroups, uint32(p.Cmd), p.Body)
		}
		if legacyGroups != bytes.HasSuffix(p.Body, []byte("\x00utf-8\x00")) {
			t.Errorf("legacy groups %v: body %q", legacyGroups, p.Body)
		}
		old := newRawPeer(t)
		old.send(n.addr, "1", "jiro", "pc2", ipmsg.BrEntry, "Jiro\x00\x00")
		p = old.expect(ipmsg.AnsEntry)
		if p.Cmd.Has(ipmsg.UTF8Opt) || !bytes.HasPrefix(p.Body, append(ipmsg.GBK.Encode("李雷"), 0)) {
			t.Errorf("legacy groups %v: ANSENTRY to an IPMsg in GBK: cmd %#x body %q", legacyGroups, uint32(p.Cmd), p.Body)
		}
	}
}
