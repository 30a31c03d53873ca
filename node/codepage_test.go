package node

import (
	"testing"

	"feigo/ipmsg"
	"feigo/profile"
)

func TestDefaultLegacyFollowsTheCodePage(t *testing.T) {
	for _, c := range []struct {
		acp  uint32
		want ipmsg.Charset
	}{
		{936, ipmsg.GBK},   // Chinese (Simplified) Windows
		{932, ipmsg.CP932}, // Japanese Windows
		{1252, ipmsg.GBK},  // Western Windows: FeiQ's GBK, the common legacy peer
		{0, ipmsg.GBK},     // Unix
	} {
		if got := defaultLegacy(func() uint32 { return c.acp }); got != c.want {
			t.Errorf("code page %d: %v, want %v", c.acp, got, c.want)
		}
	}
}

// The settings' choice wins over the system's code page.
func TestLegacySettingOverridesCodePage(t *testing.T) {
	cfg, err := lanConfig(&profile.Profile{Dir: t.TempDir(), ID: "id"}, profile.Settings{LegacyEncoding: "gbk"}, func() uint32 { return 932 })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Legacy != ipmsg.GBK {
		t.Fatalf("Legacy = %v, want GBK", cfg.Legacy)
	}
	cfg, err = lanConfig(&profile.Profile{Dir: t.TempDir(), ID: "id"}, profile.Settings{}, func() uint32 { return 932 })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Legacy != ipmsg.CP932 {
		t.Fatalf("Legacy = %v, want CP932 from code page 932", cfg.Legacy)
	}
}
