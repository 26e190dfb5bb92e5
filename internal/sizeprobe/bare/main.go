// Command bare is a size probe: one signed GET with the standard library only.
//
// BenchmarkBinarySize, in internal/sizeprobe, measures it: it builds it
// and reports the size of the stripped binary, the floor the client probe
// is held against. No test ever runs it; its signature is not the real
// algorithm. Keep it as it is, so that sizes measured before and after a
// change compare.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

type counts struct {
	Creating     int32 `json:"creating_count"`
	Running      int32 `json:"running_count"`
	Error        int32 `json:"error_count"`
	Restarting   int32 `json:"restarting_count"`
	Frozen       int32 `json:"frozen_count"`
	Extending    int32 `json:"extending_count"`
	Restoring    int32 `json:"restoring_count"`
	Flushing     int32 `json:"flushing_count"`
	Paying       int32 `json:"paying_count"`
	Migrating    int32 `json:"migrating_count"`
	Upgrading    int32 `json:"upgrading_count"`
	Freezing     int32 `json:"freezing_count"`
	CreateFailed int32 `json:"createfailed_count"`
}

type answer struct {
	counts
	Redis     counts `json:"redis"`
	Memcached counts `json:"memcached"`
}

func main() {
	req, err := http.NewRequest(http.MethodGet, os.Args[1]+"/v2/p/instances/status?include_failure=true", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	date := time.Now().UTC().Format("20060102T150405Z")
	req.Header.Set("X-Sdk-Date", date)
	mac := hmac.New(sha256.New, []byte("SK"))
	mac.Write([]byte("GET\n" + req.URL.Path + "\n" + req.URL.RawQuery + "\n" + date))
	req.Header.Set("Authorization", "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(a.Running)
}
