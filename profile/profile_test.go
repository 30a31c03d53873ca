package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenKeepsIDAndSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "prof")
	p, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Open(dir)
	if err != nil || again.ID != p.ID || len(p.ID) != 36 {
		t.Fatalf("ID %q then %q (%v)", p.ID, again.ID, err)
	}
	if s, err := p.Load(); err != nil || s.Nick != "" {
		t.Fatalf("fresh settings %+v, %v", s, err)
	}
	want := Settings{Nick: "小王", Group: "研发", Port: 2426, Broadcast: []string{"10.1.2.255"}, LegacyEncoding: "cp932"}
	if err := p.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err := again.Load()
	if err != nil || got.Nick != want.Nick || got.Port != 2426 || got.Broadcast[0] != "10.1.2.255" || got.LegacyEncoding != "cp932" {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	checkOwnerOnly(t, dir, true)
	checkOwnerOnly(t, filepath.Join(dir, "settings.json"), false)
}

func TestDamagedFilesAreReported(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "id"), []byte("not-a-uuid\n"), 0o600)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "id file is damaged") {
		t.Fatalf("damaged id: %v", err)
	}
	dir = t.TempDir()
	p, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "settings.json"), []byte("{nick:"), 0o600)
	if _, err := p.Load(); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged settings: %v", err)
	}
}

func TestEnvSelectsProfile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvVar, dir)
	p, err := Open("")
	if err != nil || p.Dir != dir {
		t.Fatalf("Open(\"\") = %v, %v; want %s", p, err, dir)
	}
}

// TestCloseQuitsSetting reads the window's closing choice under the name a person writes in
// settings.json, and keeps it through a save.
func TestCloseQuitsSetting(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "settings.json"), []byte(`{"nick":"小王","close_quits":true}`), 0o600)
	s, err := p.Load()
	if err != nil || !s.CloseQuits {
		t.Fatalf("Load = %+v, %v", s, err)
	}
	s.CloseQuits = false
	if err := p.Save(s); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "settings.json")); strings.Contains(string(b), "close_quits") {
		t.Fatalf("the default is written out: %s", b)
	}
	s.CloseQuits = true
	p.Save(s)
	if s, err = p.Load(); err != nil || !s.CloseQuits || s.Nick != "小王" {
		t.Fatalf("after a save: %+v, %v", s, err)
	}
}
