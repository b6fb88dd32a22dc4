// Package identity owns a profile's long-term key pair and the confchat ID.
//
// A profile has one Ed25519 key pair. The Ed25519 form signs conference
// messages; its X25519 form (the birational map from Edwards to Montgomery
// form, as libsodium's crypto_sign_ed25519_*_to_curve25519) is the static key
// of the transport handshake. A confchat ID is 38 bytes written as 76 hex
// characters: the 32-byte public key, a 4-byte nospam and a 2-byte checksum
// (the XOR of the 2-byte chunks of the first 36 bytes), like a Tox ID.
//
// identity is pure: it does no I/O beyond reading randomness from the reader
// it is given, and keeps no package-level mutable state. Persisting the key
// and the nospam is storage's job.
package identity
