package followup

import "testing"

func TestClaimsRelease(t *testing.T) {
	var c Claims
	if !c.Claim("a") || c.Claim("a") {
		t.Fatal("a key is claimed once")
	}
	c.Release("a")
	if !c.Claim("a") {
		t.Fatal("a released key is claimed again")
	}
	if c.Claim("a") {
		t.Fatal("and then held again")
	}
	c.Release("never claimed")
	var none *Claims
	none.Release("x")
	if !none.Claim("x") || !none.Claim("x") {
		t.Fatal("a nil Claims claims everything")
	}
}
