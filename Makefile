# FeiGo: `make run` starts FeiGo, `make test` runs every check. Both install what a fresh
# Debian/Ubuntu machine lacks (Go itself excepted).

GO      ?= go
BIN     ?= feigo
# System packages: iproute2 and nftables build the LAN lab the network tests run in (tc,
# from iproute2, shapes its links); the benchmarks also compare against iperf3.
# The desktop app (Fyne) needs a C compiler and the GL/X11/Wayland headers; its smoke test runs
# the window under Xvfb. Its closing and tray tests add a window manager (evilwm, whose
# Ctrl+Alt+Escape closes a window as its ✕ does), xprop (x11-utils) to see it up, and a private
# D-Bus session bus (dbus-daemon).
APT_PKGS := iproute2 nftables ca-certificates \
	gcc libc6-dev pkg-config libgl-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev \
	libxi-dev libxxf86vm-dev libwayland-dev libxkbcommon-dev libegl-dev xvfb x11-apps \
	fonts-wqy-microhei fonts-noto-cjk iptux xdotool tcpdump evilwm x11-utils dbus-daemon
BENCH_PKGS := iperf3
# Packaging: dpkg-shlibdeps (dpkg-dev) derives the .deb's dependencies; the packaging test also
# validates the AppStream file (appstream) and runs lintian. Not needed by make run.
PKG_PKGS := dpkg-dev appstream lintian
# The screenshot tool's Wayland path is tested against the real desktop portal: a headless sway
# with xdg-desktop-portal and its wlroots back end (which captures with grim and needs PipeWire;
# the gtk back end provides the Access portal Screenshot needs). Not needed by make run.
WAYLAND_PKGS := sway xdg-desktop-portal xdg-desktop-portal-wlr xdg-desktop-portal-gtk grim pipewire
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build run serve package dist test vet fmt-check bench fuzz clean windows-deps vet-windows windows dist-windows test-windows

all: build

deps:
	@missing=""; for p in $(APT_PKGS) $(EXTRA_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@$(GO) version >/dev/null || { echo "Go is needed: https://go.dev/doc/install"; exit 1; }
	$(GO) mod download

build:
	$(GO) build -trimpath -o $(BIN) .

# Opens the FeiGo window with the default profile (~/.config/feigo); ARGS go to feigo.
run: deps build
	./$(BIN) $(ARGS)

# Runs a FeiGo node without a window (the CLI talks to it).
serve: deps build
	./$(BIN) serve $(ARGS)

# Linux packages, from one build of the binary (position-independent, stripped):
# FeiGo.tar.xz (`fyne package`: the binary, a .desktop entry, the icon and an install Makefile;
# built in a copy because `fyne package` rewrites FyneApp.toml) and feigo_VERSION_ARCH.deb
# (packaging/mkdeb: the binary, the desktop entry, hicolor icons, AppStream metainfo, the
# dependencies derived by dpkg-shlibdeps). The fyne tool is pinned in go.mod (`go tool fyne`).
package: EXTRA_PKGS += dpkg-dev
package: deps
	rm -rf .package && mkdir .package && git ls-files | tar -cf - -T - | tar -xf - -C .package
	cd .package && $(GO) build -buildmode=pie -trimpath -ldflags "-s -w -bindnow" -o feigo . && \
		$(GO) tool fyne package -os linux --exe feigo
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s) \
		$(GO) run ./packaging/mkdeb -bin .package/feigo -out .
	mv .package/FeiGo.tar.xz . && rm -rf .package
	@echo "FeiGo.tar.xz: tar -xf FeiGo.tar.xz && sudo make -C feigo install (or make -C feigo user-install)"
	@echo "feigo_*.deb: sudo apt install ./feigo_*.deb"

# Everything a release ships: the Linux packages, and the Windows zip when the Makefile can
# build one (a dist-windows target).
dist: package dist-windows

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The lab tests need root (network namespaces); as another user they skip and say why.
test: EXTRA_PKGS += $(PKG_PKGS) $(WAYLAND_PKGS)
test: deps fmt-check vet
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) vet-windows windows test-windows

bench:
	$(MAKE) deps EXTRA_PKGS="$(BENCH_PKGS)"
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 90m ./e2e
	$(GO) test -run '^$$' -bench Insert -benchtime 2s ./history
	$(GO) test -run '^$$' -bench RoomSend50 -benchtime 200x ./room
	$(GO) test -run '^$$' -bench 'Search1M|ConversationPage' -benchtime 20x -timeout 30m ./history
	$(GO) test -run '^$$' -bench PeerEvents -benchtime 3x ./ui
	$(GO) test -run '^$$' -bench OpenConversation -benchtime 200x ./ui

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./ipmsg
	$(GO) test -run '^$$' -fuzz FuzzParseDirHeader -fuzztime 60s ./ipmsg

clean:
	rm -rf $(BIN) .package FeiGo.tar.xz feigo_*.deb FeiGo.exe FeiGo-windows-amd64.zip .package-windows .dist-windows

# Windows: the app cross-compiled with mingw-w64 (icon and version put in by `fyne package`),
# and the packages' tests compiled for Windows and run under Wine (see the README).
WIN_PKGS := gcc-mingw-w64-x86-64 wine64 zip
WIN_ENV  := GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc

windows-deps:
	$(MAKE) deps EXTRA_PKGS="$(WIN_PKGS)"

# The packages that need no cgo are vetted for Windows here; the GUI's are type-checked by
# the `windows` build itself.
vet-windows:
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) vet $$(GOOS=windows $(GO) list -e ./... | grep -v -x -e feigo -e feigo/gui)

# FeiGo.exe, built in a copy because `fyne package` rewrites FyneApp.toml. The fyne tool (the
# version go.mod pins) is built for this machine first; it then cross-compiles FeiGo with the
# Windows settings.
windows: windows-deps
	rm -rf .package-windows && mkdir .package-windows && git ls-files | tar -cf - -T - | tar -xf - -C .package-windows
	GOBIN=$(CURDIR)/.package-windows/.bin $(GO) install fyne.io/tools/cmd/fyne
	cd .package-windows && $(WIN_ENV) ./.bin/fyne package -os windows -release
	mv .package-windows/FeiGo.exe . && rm -rf .package-windows
	@echo "FeiGo.exe: the Windows app (64-bit, Windows 10 or later)"

dist-windows: windows
	rm -rf .dist-windows FeiGo-windows-amd64.zip && mkdir -p .dist-windows/FeiGo
	cp FeiGo.exe README.md .dist-windows/FeiGo/
	cd .dist-windows && zip -q -r ../FeiGo-windows-amd64.zip FeiGo
	rm -rf .dist-windows
	@echo "FeiGo-windows-amd64.zip: unzip anywhere and run FeiGo\\FeiGo.exe"

# The packages' tests, compiled for Windows, under Wine 8 in a throw-away prefix, no display;
# and FeiGo.exe's command line (help, doctor) when `make windows` has built it.
test-windows: windows-deps
	timeout 30m $(GO) run ./.ci/wine -timeout 25m $$([ -f FeiGo.exe ] && echo -app FeiGo.exe)
