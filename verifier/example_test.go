package verifier_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/verifier"
)

// Verify a live code from a resident's wallet against a JWKS and a status
// list the counter synced earlier, for a purpose that is refused.
func ExampleVerify() {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	issuerPub, issuerKey, _ := ed25519.GenerateKey(rand.Reader)
	holderPub, holderKey, _ := ed25519.GenerateKey(rand.Reader)
	kid := keys.Thumbprint(issuerPub)
	const statusURI = "https://ep.example/hz/status/1"

	// The issuer's side: a credential and its status list.
	issued, _ := credential.Issue(issuerKey, kid, credential.Claims{
		Issuer: "https://ep.example/hz", IssuedAt: now.Add(-time.Hour), Expires: now.AddDate(1, 0, 0),
		Status: statuslist.Reference{Idx: 42, URI: statusURI}, Holder: holderPub,
		Name: "张三", MaskedID: "110105********002X", Region: "330106", PermitNo: "33010626K7Q2MX",
	}, rand.Reader)
	list, _ := statuslist.New(2, 1024)
	statusToken, _ := statuslist.SignToken(issuerKey, kid, statuslist.TokenClaims{Sub: statusURI, IssuedAt: now, List: list})

	// The wallet's side: a presentation bound to the device key.
	p, _ := sdjwt.Split(issued)
	p, _ = sdjwt.Bind(p, holderKey, credential.AnyAudience, "fresh-random-nonce", now)

	// The counter's side, offline.
	jwks, _ := keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(issuerPub)}}.Marshal()
	trustData, _ := verifier.LoadJWKS(jwks, now)
	_ = trustData.AddStatusList(statusToken, now)

	r := verifier.Verify(p.String(), verifier.Options{Trust: trustData, Now: now})
	fmt.Println(r.Valid, r.Status, r.HolderBound, r.Claims.Name)

	r = verifier.Verify(p.String(), verifier.Options{Trust: trustData, Now: now, Purpose: "credit-loan"})
	fmt.Println(r.Valid, r.Reasons[0].Code, "-", r.Reasons[0].Message)
	// Output:
	// true valid true 张三
	// false purpose_refused - a residence permit cannot be used for credit loans
}
