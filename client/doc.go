// Package client is a small, signed, retrying client for the Huawei Cloud
// DCS API ListNumberOfInstancesInDifferentStatus.
package client
