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
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build run serve package dist test vet fmt-check bench fuzz clean

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
dist: package
	@if grep -q '^dist-windows:' $(firstword $(MAKEFILE_LIST)); then $(MAKE) dist-windows; \
	else echo "dist: no dist-windows target in this Makefile; Linux packages only"; fi

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The lab tests need root (network namespaces); as another user they skip and say why.
test: EXTRA_PKGS += $(PKG_PKGS)
test: deps fmt-check vet
	$(GO) test -race -count=1 -timeout 20m ./...

bench:
	$(MAKE) deps EXTRA_PKGS="$(BENCH_PKGS)"
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 90m ./e2e
	$(GO) test -run '^$$' -bench Insert -benchtime 2s ./history
	$(GO) test -run '^$$' -bench 'Search1M|ConversationPage' -benchtime 20x -timeout 30m ./history
	$(GO) test -run '^$$' -bench PeerEvents -benchtime 3x ./ui
	$(GO) test -run '^$$' -bench OpenConversation -benchtime 200x ./ui

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./ipmsg
	$(GO) test -run '^$$' -fuzz FuzzParseDirHeader -fuzztime 60s ./ipmsg

clean:
	rm -rf $(BIN) .package FeiGo.tar.xz feigo_*.deb
