package match

import "fmt"

// NormalizeNFKD is the reference implementation Normalize must agree with.
var NormalizeNFKD = normalizeNFKD

// Debug lists a query's candidates with their weights (tests only).
func (f *FS) Debug(g *Registry, q map[string]string) []string {
	qp := newPerson(func(id string) string { return q[id] })
	var out []string
	for _, i := range g.candidates(&qp, nil) {
		p := g.person(i)
		s := f.compare(&qp, &p)
		out = append(out, fmt.Sprintf("%s %s %s %v w=%.1f levels=%v agrees=%v", g.ids[i], p.first.norm, p.last.norm, p.dob, s.weight, s.levels[:7], f.agrees(&s)))
	}
	return out
}
