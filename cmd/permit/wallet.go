package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/epermit/epermit/internal/jws"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/wallet"
)

func walletInit(e *env, args []string) error {
	fs := newFlags(e, "wallet init")
	dir := fs.String("dir", "", "wallet directory (created 0700)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "dir"); err != nil {
		return err
	}
	w, err := wallet.Init(*dir)
	if err != nil {
		return err
	}
	j := w.JWK()
	// The device's public key, for an issuer to bind the credential to.
	pubJWK, err := jws.Marshal(j)
	if err != nil {
		return err
	}
	path := filepath.Join(*dir, "device.jwk.json")
	if err := writeFile(path, append(pubJWK, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wallet\t%s\ndevice key\t%s\npublic JWK\t%s\n", *dir, j.Kid, path)
	return nil
}

func openWallet(e *env, name string, args []string, extra func(fs flagSet)) (*wallet.Wallet, []string, error) {
	fs := newFlags(e, name)
	dir := fs.String("dir", "", "wallet directory")
	if extra != nil {
		extra(fs)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if err := required(fs, "dir"); err != nil {
		return nil, nil, err
	}
	w, err := wallet.Open(*dir)
	return w, pos, err
}

func walletAdd(e *env, args []string) error {
	var jwksFile *string
	w, pos, err := openWallet(e, "wallet add", args, func(fs flagSet) {
		jwksFile = fs.String("jwks", "", "issuer's published JWKS, to check the credential's signature")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: wallet add takes one credential file (- for stdin)", errUsage)
	}
	var raw []byte
	if pos[0] == "-" {
		raw, err = readAllLimited(e.stdin, 1<<20)
	} else {
		raw, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return err
	}
	var set *keys.JWKS
	if *jwksFile != "" {
		s, err := readJWKSOrKey(*jwksFile)
		if err != nil {
			return err
		}
		set = &s
	} else {
		fmt.Fprintln(e.stderr, "permit: warning: no --jwks given: the issuer signature was not checked")
	}
	en, err := w.Add(strings.TrimSpace(string(raw)), set)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "stored permit %s (%s, %s) valid until %s\n", en.PermitNo, en.Name, en.MaskedID, en.Expires.In(permit.ChinaTime()).Format(time.DateOnly))
	return nil
}

func walletAccept(e *env, args []string) error {
	var qrFile *string
	w, pos, err := openWallet(e, "wallet accept", args, func(fs flagSet) {
		qrFile = fs.String("qr", "", "photo or PNG of the offer's QR code, instead of the offer link")
	})
	if err != nil {
		return err
	}
	var offer string
	switch {
	case *qrFile != "" && len(pos) == 0:
		data, err := qr.DecodeFile(*qrFile)
		if err != nil {
			return err
		}
		offer = string(data)
	case *qrFile == "" && len(pos) == 1:
		offer = pos[0]
	default:
		return fmt.Errorf("%w: wallet accept takes the offer link (openid-credential-offer://...) or --qr IMAGE", errUsage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	en, err := w.Accept(ctx, strings.TrimSpace(offer), &http.Client{Timeout: 30 * time.Second}, e.now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "stored permit %s (%s, %s) from %s, valid until %s\n", en.PermitNo, en.Name, en.MaskedID, en.Issuer,
		en.Expires.In(permit.ChinaTime()).Format(time.DateOnly))
	return nil
}

func walletList(e *env, args []string) error {
	w, _, err := openWallet(e, "wallet list", args, nil)
	if err != nil {
		return err
	}
	list, err := w.List()
	if err != nil {
		return err
	}
	now := e.now()
	for _, en := range list {
		note := fmt.Sprintf("%d days until endorsement is due", en.DaysLeft(now))
		switch {
		case en.Overdue(now):
			note = "ENDORSEMENT OVERDUE: the permit is suspended until endorsed"
		case en.InWindow(now):
			note = fmt.Sprintf("endorse now: the endorsement window is open (%d days left)", en.DaysLeft(now))
		}
		fmt.Fprintf(e.stdout, "%s\t%s\t%s\tvalid until %s\t%s\n", en.PermitNo, en.Name, en.MaskedID, en.Expires.In(permit.ChinaTime()).Format(time.DateOnly), note)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no permits yet: add one with \"permit wallet add\"")
	}
	return nil
}

func walletShow(e *env, args []string) error {
	var permitNo, purpose, aud, nonce, qrFile *string
	var packed *bool
	w, _, err := openWallet(e, "wallet show", args, func(fs flagSet) {
		permitNo = fs.String("permit", "", "permit number (default: the only one)")
		purpose = fs.String("purpose", trust.DefaultPurpose, "what the permit is shown for")
		aud = fs.String("aud", "", "verifier's audience (challenge mode, with --nonce)")
		nonce = fs.String("nonce", "", "verifier's nonce (challenge mode)")
		qrFile = fs.String("qr", "", "write the code as a PNG file")
		packed = fs.Bool("packed", false, "pack the QR compactly (numeric mode)")
	})
	if err != nil {
		return err
	}
	text, err := w.Present(*permitNo, wallet.Request{Purpose: *purpose, Audience: *aud, Nonce: *nonce, Now: e.now()})
	var refused *wallet.RefusedError
	if errors.As(err, &refused) {
		fmt.Fprintf(e.stderr, "%s\n%s\n", refused.Refusal.ZH, refused.Refusal.EN)
		return errRefused
	}
	if err != nil {
		return err
	}
	if *qrFile == "" {
		fmt.Fprintln(e.stdout, text)
		return nil
	}
	code, err := qr.EncodePresentation(text, *packed, qr.M)
	if err != nil {
		return err
	}
	png, err := code.PNG(4)
	if err != nil {
		return err
	}
	if err := writeFile(*qrFile, png, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\t%d characters\tQR version %d (M)\n", *qrFile, len(text), code.Version())
	return nil
}
