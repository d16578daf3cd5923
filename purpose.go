package custodian

// Legal basis kinds a purpose may require.
const (
	BasisWarrant    = "warrant"     // judicial warrant
	BasisCourtOrder = "court_order" // court order
	BasisSubpoena   = "subpoena"    // subpoena
)

// DPPAPurposes returns the 14 permissible uses of the US Driver's Privacy
// Protection Act, 18 U.S.C. 2721(b), as dppa-1 … dppa-14, in statute order.
// None of them requires a legal basis by default; the config can add one.
func DPPAPurposes() []Purpose {
	titles := []string{
		"Government agency functions, including courts and law enforcement",
		"Motor vehicle and driver safety, theft, recalls and emissions",
		"Verifying information a business was given, to prevent fraud or recover debts",
		"Civil, criminal, administrative or arbitral proceedings",
		"Research and statistical reports that publish no personal information",
		"Insurers: claims, antifraud, rating and underwriting",
		"Notice to owners of towed or impounded vehicles",
		"Licensed private investigative agencies and security services, for a permitted use",
		"Employers verifying commercial driver's licence information",
		"Operators of private toll facilities",
		"Individual record requests where the state obtained express consent",
		"Surveys, marketing or solicitations where the state obtained express consent",
		"Any requester with the written consent of the individual",
		"Other uses authorised by state law relating to motor vehicles or public safety",
	}
	out := make([]Purpose, len(titles))
	for i, t := range titles {
		out[i] = Purpose{ID: "dppa-" + itoa(i+1), Title: t}
	}
	return out
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}
