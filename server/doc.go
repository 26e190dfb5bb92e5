// Package server is a stateful fake of the Huawei Cloud DCS instance status
// API for contract tests.
package server
