// Package sizeprobe measures how much our client adds to a program's
// binary. Its two subdirectories are size probes, small main programs that
// make one GET and print the running count: client goes through
// github.com/dcskit/dcskit/client, bare through net/http alone.
// BenchmarkBinarySize builds each with the flags of a release build and
// reports the file's size; no test runs them. The probe for the official
// SDK lives in the interop module, which alone may require the SDK.
package sizeprobe
