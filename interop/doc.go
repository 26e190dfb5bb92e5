// Package interop holds tests that hold dcskit against the official
// Huawei Cloud Go SDK (huaweicloud-sdk-go-v3). It is a separate module so
// that the SDK, a 46 MB dependency, never enters the main module's graph.
// The package itself is empty; everything is in its tests.
package interop
