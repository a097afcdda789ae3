// Package testkit holds helpers shared by the tests of several packages.
// It is imported by _test.go files only.
package testkit
