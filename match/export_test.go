package match

// NormalizeNFKD is the reference implementation Normalize must agree with.
var NormalizeNFKD = normalizeNFKD
