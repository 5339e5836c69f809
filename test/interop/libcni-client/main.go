// cniclient: a minimal container runtime's network side, built on libcni (the
// library containerd and CRI-O use), for interop tests of our plugins. It does
// what a runtime does with a conflist: libcni runs each plugin in turn (ADD in
// order, DEL in reverse), injects name/cniVersion/prevResult/runtimeConfig,
// caches the ADD result under the cache dir and passes it as prevResult to
// CHECK and DEL.
//
//	cniclient add|check|del|validate|cached|gc|status --conflist FILE
//	    [--netns PATH] [--container-id ID] [--ifname IF] [--bin-dir DIR]...
//	    [--cache-dir DIR] [--args 'K=V;K=V'] [--cap-args JSON] [--timeout SECONDS]
//
// add prints the chain's final result (JSON) on stdout; cached prints libcni's
// cached result for the attachment (what CHECK/DEL get as prevResult);
// validate prints the capabilities after libcni asked every plugin for VERSION.
// Errors go to stderr as one JSON line {"error": "...", "code": N} (code: the
// CNI error code when a plugin returned one, else omitted). Exit status: 0 ok,
// 1 failure, 2 usage, 3 the command is not available in this libcni.
//
// Built against Debian's libcni 1.1.2 source (GOPATH mode, stdlib + libcni
// only; see ../build-libcni-client.sh). libcni 1.1.2 implements spec 1.0.0: it
// has no GCNetworkList / GetStatusNetworkList (CNI 1.1 GC and STATUS) and does
// not read a conflist's "cniVersions" (it uses "cniVersion"), so gc and status
// exit 3.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ":") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

const (
	exitFail        = 1
	exitUsage       = 2
	exitUnsupported = 3
)

func fail(code int, err error) {
	out := map[string]interface{}{"error": err.Error()}
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		out["code"] = cniErr.Code
		out["msg"] = cniErr.Msg
		if cniErr.Details != "" {
			out["details"] = cniErr.Details
		}
	}
	line, _ := json.Marshal(out)
	fmt.Fprintln(os.Stderr, string(line))
	os.Exit(code)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: cniclient add|check|del|validate|cached|gc|status --conflist FILE [--netns PATH]"+
		" [--container-id ID] [--ifname IF] [--bin-dir DIR]... [--cache-dir DIR] [--args 'K=V;K=V']"+
		" [--cap-args JSON] [--timeout SECONDS]")
	os.Exit(exitUsage)
}

// parseArgs turns "K=V;K=V" (CNI_ARGS syntax) into libcni's RuntimeConf.Args.
func parseArgs(s string) ([][2]string, error) {
	var out [][2]string
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--args: %q is not K=V", kv)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func main() {
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		usage()
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet("cniclient "+cmd, flag.ContinueOnError)
	conflist := fs.String("conflist", "", "the network configuration list (.conflist JSON)")
	netns := fs.String("netns", "", "the container's network namespace path")
	containerID := fs.String("container-id", "", "the container ID")
	ifname := fs.String("ifname", "eth0", "the interface name in the container")
	cacheDir := fs.String("cache-dir", libcni.CacheDir, "libcni's result cache directory")
	cniArgs := fs.String("args", "", "CNI_ARGS as 'K=V;K=V'")
	capArgs := fs.String("cap-args", "", "capability arguments (JSON object), e.g. {\"bandwidth\":{...}}")
	timeout := fs.Int("timeout", 60, "seconds for the whole operation")
	var binDirs multi
	fs.Var(&binDirs, "bin-dir", "a directory holding plugins (repeatable; default /opt/cni/bin)")
	if err := fs.Parse(os.Args[2:]); err != nil || fs.NArg() != 0 {
		usage()
	}
	if *conflist == "" {
		usage()
	}
	if len(binDirs) == 0 {
		binDirs = multi{"/opt/cni/bin"}
	}

	switch cmd {
	case "gc":
		fail(exitUnsupported, errors.New("gc: this libcni (1.1.2, spec 1.0.0) has no GCNetworkList"))
	case "status":
		fail(exitUnsupported, errors.New("status: this libcni (1.1.2, spec 1.0.0) has no GetStatusNetworkList"))
	case "add", "check", "del", "validate", "cached":
	default:
		usage()
	}

	list, err := libcni.ConfListFromFile(*conflist)
	if err != nil {
		fail(exitFail, err)
	}
	args, err := parseArgs(*cniArgs)
	if err != nil {
		fail(exitUsage, err)
	}
	rt := &libcni.RuntimeConf{ContainerID: *containerID, NetNS: *netns, IfName: *ifname, Args: args}
	if *capArgs != "" {
		if err := json.Unmarshal([]byte(*capArgs), &rt.CapabilityArgs); err != nil {
			fail(exitUsage, fmt.Errorf("--cap-args: %w", err))
		}
	}
	cni := libcni.NewCNIConfigWithCacheDir(binDirs, *cacheDir, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*timeout)*time.Second)
	defer cancel()

	switch cmd {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(exitFail, err)
		}
		if err := result.Print(); err != nil {
			fail(exitFail, err)
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(exitFail, err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(exitFail, err)
		}
	case "cached":
		result, err := cni.GetNetworkListCachedResult(list, rt)
		if err != nil {
			fail(exitFail, err)
		}
		if result == nil {
			fail(exitFail, errors.New("no cached result for this attachment"))
		}
		if err := result.Print(); err != nil {
			fail(exitFail, err)
		}
	case "validate":
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			fail(exitFail, err)
		}
		if caps == nil {
			caps = []string{}
		}
		out, _ := json.Marshal(map[string]interface{}{"cniVersion": list.CNIVersion, "capabilities": caps})
		fmt.Println(string(out))
	}
}
