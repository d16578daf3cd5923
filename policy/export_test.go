package policy

// ParseUnvalidated builds an Engine without checking the rules against
// Schema, so tests can show that a rule the validator would reject still
// fails closed when it errors at evaluation.
var ParseUnvalidated = parse
