// Package audit owns custodian's tamper-evident audit log: an append-only
// RFC 6962 Merkle tree whose leaves are canonically encoded Entry envelopes.
//
// It defines the entry envelope and its leaf hash, the Store interface a
// database implements (entries are appended by the store, in the same
// transaction as the state they record), the integrator that folds sequenced
// entries into the tree and signs C2SP tlog-checkpoint notes, inclusion and
// consistency proofs, a read-only C2SP tlog-tiles HTTP view that standard
// verifiers can check, and Verify, which re-derives the whole tree offline
// and names the first altered or missing entry.
package audit
