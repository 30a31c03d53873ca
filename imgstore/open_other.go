//go:build !unix

package imgstore

const openFlags = 0
