// Command vcsim runs govmomi's vSphere API simulator for the safe_migration lab.
//
// Debian ships the simulator package but not govmomi's own vcsim command, so the lab
// builds this one. Besides the SOAP API it serves a small lab-only control endpoint
// under /lab/ for the states the SOAP API cannot produce (inaccessible datastores,
// orphaned VMs, ...). See docs/lab.md.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type options struct {
	datacenters, clusters, hostsPerCluster, standaloneHosts, datastores, vms int
	listen, caFile, keyFile, urlFile, methodDelay, username, password        string
	useTLS                                                                   bool
	delayMS                                                                  int
}

func parseOptions() options {
	var o options
	flag.IntVar(&o.datacenters, "dc", 1, "number of datacenters")
	flag.IntVar(&o.clusters, "cluster", 1, "clusters per datacenter")
	flag.IntVar(&o.hostsPerCluster, "host-per-cluster", 2, "hosts per cluster")
	flag.IntVar(&o.standaloneHosts, "standalone-host", 0, "standalone hosts per datacenter")
	flag.IntVar(&o.datastores, "datastore", 0, "model datastores (the lab creates its own)")
	flag.IntVar(&o.vms, "vm", 0, "model VMs per resource pool")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on (port 0: a free port)")
	flag.BoolVar(&o.useTLS, "tls", false, "serve HTTPS with a generated certificate")
	flag.StringVar(&o.caFile, "ca-file", "", "where to write the certificate (PEM) clients should trust")
	flag.StringVar(&o.keyFile, "key-file", "", "the certificate's key (PEM): reused with -ca-file when both exist, so restarts keep the certificate")
	flag.StringVar(&o.urlFile, "url-file", "", "where to write the SDK URL once listening")
	flag.IntVar(&o.delayMS, "delay", 0, "delay in ms added to every SOAP call")
	flag.StringVar(&o.methodDelay, "method-delay", "", `per-method delays in ms, JSON: {"RetrievePropertiesEx": 50}`)
	flag.StringVar(&o.username, "username", "", "with -password: the only login accepted (default: any non-empty user and password)")
	flag.StringVar(&o.password, "password", "", "the password of -username (default: $VCSIM_PASSWORD, kept out of ps)")
	flag.Parse()
	if o.password == "" {
		o.password = os.Getenv("VCSIM_PASSWORD")
	}
	return o
}

// serverCertificate reuses the certificate and key of an earlier run when both files exist
// (a restarted vCenter keeps its certificate), otherwise makes a new one.
func serverCertificate(o options) (tls.Certificate, []byte, []byte, error) {
	if o.caFile != "" && o.keyFile != "" {
		certPEM, certErr := ioutil.ReadFile(o.caFile)
		keyPEM, keyErr := ioutil.ReadFile(o.keyFile)
		if certErr == nil && keyErr == nil {
			pair, err := tls.X509KeyPair(certPEM, keyPEM)
			if err == nil && time.Now().Add(24*time.Hour).Before(pairExpiry(pair)) {
				return pair, certPEM, keyPEM, nil
			}
		}
	}
	return selfSignedCertificate()
}

func pairExpiry(pair tls.Certificate) time.Time {
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return time.Time{}
	}
	return cert.NotAfter
}

// selfSignedCertificate makes a short-lived CA-capable certificate for loopback names,
// so that clients can validate the server with the PEM written to -ca-file.
func selfSignedCertificate() (tls.Certificate, []byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	template := x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "vcsim.lab.localhost", Organization: []string{"safe_migration lab"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	return pair, certPEM, keyPEM, err
}

func buildModel(o options) (*simulator.Model, error) {
	model := simulator.VPX()
	model.Datacenter = o.datacenters
	model.Cluster = o.clusters
	model.ClusterHost = o.hostsPerCluster
	model.Host = o.standaloneHosts
	model.Datastore = o.datastores
	model.Machine = o.vms
	model.Portgroup = 0
	model.Autostart = false
	model.DelayConfig.Delay = o.delayMS
	if o.methodDelay != "" {
		if err := json.Unmarshal([]byte(o.methodDelay), &model.DelayConfig.MethodDelay); err != nil {
			return nil, fmt.Errorf("-method-delay: %v", err)
		}
	}
	if err := model.Create(); err != nil {
		return nil, err
	}
	model.Service.Listen = &url.URL{Host: o.listen}
	if o.username != "" && o.password != "" {
		// vcsim then refuses any other login with InvalidLogin, as vCenter does
		model.Service.Listen.User = url.UserPassword(o.username, o.password)
	}
	model.Service.RegisterEndpoints = true
	return model, nil
}

// labError answers a control request with a JSON error.
func labError(w http.ResponseWriter, code int, format string, args ...interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf(format, args...)})
}

func labOK(w http.ResponseWriter, result map[string]interface{}) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(result)
}

func findEntity(kind, name string) mo.Entity {
	for _, entity := range simulator.Map.All(kind) {
		if entity.Entity().Name == name {
			return entity
		}
	}
	return nil
}

// handleDatastore sets summary.accessible (and every host mount's accessible flag)
// and summary.maintenanceMode: POST /lab/datastore?name=N&accessible=false&maintenance=inMaintenance
func handleDatastore(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	name := r.Form.Get("name")
	ds, ok := findEntity("Datastore", name).(*simulator.Datastore)
	if !ok {
		labError(w, http.StatusNotFound, "no datastore named %q", name)
		return
	}
	accessible, maintenance := r.Form.Get("accessible"), r.Form.Get("maintenance")
	if accessible != "" && accessible != "true" && accessible != "false" {
		labError(w, http.StatusBadRequest, "accessible must be true or false")
		return
	}
	simulator.Map.WithLock(ds, func() {
		summary := ds.Summary
		mounts := append([]types.DatastoreHostMount(nil), ds.Host...)
		if accessible != "" {
			summary.Accessible = accessible == "true"
			for i := range mounts {
				mounts[i].MountInfo.Accessible = types.NewBool(summary.Accessible)
			}
		}
		if maintenance != "" {
			summary.MaintenanceMode = maintenance
		}
		simulator.Map.Update(ds, []types.PropertyChange{{Name: "summary", Val: summary}, {Name: "host", Val: mounts}})
	})
	labOK(w, map[string]interface{}{"name": name, "accessible": ds.Summary.Accessible, "maintenanceMode": ds.Summary.MaintenanceMode})
}

// handleDatastoreMounts repairs a datastore created with the same name on several hosts:
// vcsim 0.24.2 keeps only the last host in datastore.host and lists the datastore once per
// host in its folder. POST /lab/datastore/mounts?name=N
func handleDatastoreMounts(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	name := r.Form.Get("name")
	ds, ok := findEntity("Datastore", name).(*simulator.Datastore)
	if !ok {
		labError(w, http.StatusNotFound, "no datastore named %q", name)
		return
	}
	var mounts []types.DatastoreHostMount
	for _, entity := range simulator.Map.All("HostSystem") {
		host := entity.(*simulator.HostSystem)
		if simulator.FindReference(host.Datastore, ds.Self) != nil {
			mounts = append(mounts, types.DatastoreHostMount{Key: host.Self, MountInfo: types.HostMountInfo{
				AccessMode: string(types.HostMountModeReadWrite), Mounted: types.NewBool(true),
				Accessible: types.NewBool(ds.Summary.Accessible)}})
		}
	}
	simulator.Map.WithLock(ds, func() {
		simulator.Map.Update(ds, []types.PropertyChange{{Name: "host", Val: mounts}})
	})
	if folder, isFolder := simulator.Map.Get(*ds.Parent).(*simulator.Folder); isFolder {
		simulator.Map.WithLock(folder, func() {
			children := dedupe(folder.ChildEntity)
			simulator.Map.Update(folder, []types.PropertyChange{{Name: "childEntity", Val: children}})
		})
	}
	labOK(w, map[string]interface{}{"name": name, "hosts": len(mounts)})
}

func dedupe(refs []types.ManagedObjectReference) []types.ManagedObjectReference {
	seen := map[types.ManagedObjectReference]bool{}
	var unique []types.ManagedObjectReference
	for _, ref := range refs {
		if !seen[ref] {
			seen[ref] = true
			unique = append(unique, ref)
		}
	}
	return unique
}

// handleDatastoreUnmount unmounts a datastore from one host, as an unmounted NFS export or a lost LUN path looks:
// the host's mount stays listed in datastore.host with mounted=false, accessible=false, and the datastore leaves
// host.datastore. POST /lab/datastore/unmount?name=N&host=H
func handleDatastoreUnmount(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	name, hostName := r.Form.Get("name"), r.Form.Get("host")
	ds, ok := findEntity("Datastore", name).(*simulator.Datastore)
	if !ok {
		labError(w, http.StatusNotFound, "no datastore named %q", name)
		return
	}
	host, ok := findEntity("HostSystem", hostName).(*simulator.HostSystem)
	if !ok {
		labError(w, http.StatusNotFound, "no host named %q", hostName)
		return
	}
	found := false
	simulator.Map.WithLock(ds, func() {
		mounts := append([]types.DatastoreHostMount(nil), ds.Host...)
		for i := range mounts {
			if mounts[i].Key == host.Self {
				mounts[i].MountInfo.Mounted = types.NewBool(false)
				mounts[i].MountInfo.Accessible = types.NewBool(false)
				found = true
			}
		}
		simulator.Map.Update(ds, []types.PropertyChange{{Name: "host", Val: mounts}})
	})
	if !found {
		labError(w, http.StatusNotFound, "datastore %q is not mounted on host %q", name, hostName)
		return
	}
	simulator.Map.WithLock(host, func() {
		var kept []types.ManagedObjectReference
		for _, ref := range host.Datastore {
			if ref != ds.Self {
				kept = append(kept, ref)
			}
		}
		simulator.Map.Update(host, []types.PropertyChange{{Name: "datastore", Val: kept}})
	})
	labOK(w, map[string]interface{}{"name": name, "host": hostName, "mounted": false})
}

var connectionStates = map[string]bool{"connected": true, "disconnected": true, "orphaned": true, "inaccessible": true, "invalid": true}

// handleVM sets a VM's runtime.connectionState: POST /lab/vm?name=N&connectionState=orphaned
func handleVM(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	name, state := r.Form.Get("name"), r.Form.Get("connectionState")
	vm, ok := findEntity("VirtualMachine", name).(*simulator.VirtualMachine)
	if !ok {
		labError(w, http.StatusNotFound, "no VM named %q", name)
		return
	}
	if !connectionStates[state] {
		labError(w, http.StatusBadRequest, "connectionState must be one of connected, disconnected, orphaned, inaccessible, invalid")
		return
	}
	simulator.Map.WithLock(vm, func() {
		runtime, summary := vm.Runtime, vm.Summary
		runtime.ConnectionState = types.VirtualMachineConnectionState(state)
		summary.Runtime.ConnectionState = runtime.ConnectionState
		simulator.Map.Update(vm, []types.PropertyChange{{Name: "runtime", Val: runtime}, {Name: "summary", Val: summary}})
	})
	labOK(w, map[string]interface{}{"name": name, "connectionState": state})
}

// delayHandler changes the delay added to every SOAP call while vcsim runs, so that a large
// inventory can be built fast and then measured slow: POST /lab/delay?ms=20
func delayHandler(model *simulator.Model) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ms, err := strconv.Atoi(r.Form.Get("ms"))
		if err != nil || ms < 0 {
			labError(w, http.StatusBadRequest, "ms must be a whole number of milliseconds >= 0")
			return
		}
		// vcsim reads the delay through a pointer to this field on each call
		model.DelayConfig.Delay = ms
		labOK(w, map[string]interface{}{"delay_ms": ms})
	}
}

// outageUntil is when a simulated vCenter restart ends (Unix nanoseconds; 0: none).
var outageUntil int64

// handleOutage starts a vCenter restart as clients see it: for the given seconds every SOAP request gets the
// 503 that vCenter's reverse proxy answers while vpxd starts; the lab terminates the sessions itself (through
// the SOAP API, beforehand), as a restarted vpxd no longer knows them. POST /lab/outage?seconds=3
func handleOutage(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	seconds, err := strconv.ParseFloat(r.Form.Get("seconds"), 64)
	if err != nil || seconds < 0 || seconds > 3600 {
		labError(w, http.StatusBadRequest, "seconds must be a number of seconds between 0 and 3600")
		return
	}
	atomic.StoreInt64(&outageUntil, time.Now().Add(time.Duration(seconds*float64(time.Second))).UnixNano())
	labOK(w, map[string]interface{}{"outage_seconds": seconds})
}

// duringOutage wraps the server's handler: the /lab/ endpoints always answer, the rest gets 503 during an outage.
func duringOutage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/lab/") && time.Now().UnixNano() < atomic.LoadInt64(&outageUntil) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "503 Service Unavailable (Failed to connect to endpoint: vpxd is starting)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func registerLabEndpoints(model *simulator.Model) {
	service := model.Service
	service.HandleFunc("/lab/outage", handleOutage)
	service.HandleFunc("/lab/delay", delayHandler(model))
	service.HandleFunc("/lab/datastore", handleDatastore)
	service.HandleFunc("/lab/datastore/mounts", handleDatastoreMounts)
	service.HandleFunc("/lab/datastore/unmount", handleDatastoreUnmount)
	service.HandleFunc("/lab/vm", handleVM)
	service.HandleFunc("/lab/ping", func(w http.ResponseWriter, _ *http.Request) { labOK(w, map[string]interface{}{"ok": true}) })
}

func writeFile(path string, data []byte, mode os.FileMode) {
	if path == "" {
		return
	}
	tmp := path + ".tmp"
	if err := ioutil.WriteFile(tmp, data, mode); err != nil {
		log.Fatalf("write %s: %v", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		log.Fatalf("write %s: %v", path, err)
	}
}

func main() {
	o := parseOptions()
	model, err := buildModel(o)
	if err != nil {
		log.Fatalf("vcsim model: %v", err)
	}
	var certPEM, keyPEM []byte
	if o.useTLS {
		pair, certBytes, keyBytes, certErr := serverCertificate(o)
		if certErr != nil {
			log.Fatalf("certificate: %v", certErr)
		}
		model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
		certPEM, keyPEM = certBytes, keyBytes
	}
	registerLabEndpoints(model)
	server := model.Service.NewServer()
	// The handler is read per request, so wrapping it once the server listens takes effect before any client.
	server.Config.Handler = duringOutage(server.Config.Handler)
	if o.useTLS {
		writeFile(o.keyFile, keyPEM, 0o600)
		writeFile(o.caFile, certPEM, 0o644)
	}
	sdkURL := *server.URL
	sdkURL.User = nil
	// The URL file is written last: its presence means "ready".
	writeFile(o.urlFile, []byte(sdkURL.String()+"\n"), 0o644)
	fmt.Printf("vcsim listening on %s\n", strings.TrimSpace(sdkURL.String()))

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
	server.Close()
	model.Remove()
}
