package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // photos may be JPEG
	_ "image/png"  // or PNG
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/store"
)

// MaxPhoto is the largest photo an application may carry, in bytes.
const MaxPhoto = 200 << 10

// maxPhotoSide bounds each dimension of a photo, against decompression
// bombs: a 200 KB file could otherwise decode to hundreds of megabytes. An
// ID photo is a few hundred pixels a side.
const maxPhotoSide = 1600

// SubmitRequest is the body of POST /v1/applications.
type SubmitRequest struct {
	// Application is the form, as in examples/*.json.
	Application json.RawMessage `json:"application"`
	// Photo is the applicant's photo, JPEG or PNG, base64 in JSON. Its
	// SHA-256 becomes the credential's photo digest.
	Photo []byte `json:"photo,omitempty"`
}

// ApplicationResponse is an application as its applicant sees it.
type ApplicationResponse struct {
	ID        string             `json:"id"`
	Secret    string             `json:"secret,omitempty"`
	State     store.AppState     `json:"state"`
	Authority string             `json:"authority"`
	Eligible  bool               `json:"eligible"`
	Unmet     []permit.Condition `json:"unmet,omitempty"`
	Rejected  []string           `json:"reject_reasons,omitempty"`
	PermitNo  string             `json:"permit_no,omitempty"`
	MaskedID  string             `json:"masked_id"`
}

func applicationResponse(a store.Application, iss string) ApplicationResponse {
	return ApplicationResponse{ID: a.ID, State: a.State, Authority: iss, Eligible: a.Decision.Eligible,
		Unmet: a.Decision.Unmet, Rejected: a.RejectReasons, PermitNo: a.PermitNo, MaskedID: a.MaskedID}
}

// submit takes an application, decides its eligibility and stores it.
func (s *Server) submit(c echo.Context) error {
	var req SubmitRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Application) == 0 {
		return apiError(http.StatusBadRequest, "malformed_body", "the application is missing")
	}
	form, err := permit.ParseApplication(req.Application)
	if err != nil {
		return applicationError(err)
	}
	// A form with invalid fields is refused and not stored; a valid one is
	// stored with its decision, eligible or not.
	if err := form.Validate(); err != nil {
		return applicationError(err)
	}
	photoType := ""
	if len(req.Photo) > 0 {
		if photoType, err = checkPhoto(req.Photo); err != nil {
			return err
		}
		d := permit.PhotoDigest(req.Photo)
		if form.PhotoSHA256 != "" && form.PhotoSHA256 != d {
			return apiError(http.StatusBadRequest, "photo_digest_mismatch", "photo_sha256 is not the digest of the photo sent")
		}
		form.PhotoSHA256 = d
	}
	a := s.authorityFor(string(form.ResidenceDivision))
	if a == nil {
		return apiError(http.StatusUnprocessableEntity, "no_authority", "no issuing authority here serves residence division "+string(form.ResidenceDivision))
	}
	secret, err := s.cfg.Store.NewSecret("eps_")
	if err != nil {
		return err
	}
	decision := permit.Decide(form, s.today())
	rec, err := s.cfg.Store.Submit(form, decision, a.Slug, secret, req.Photo, photoType, store.Actor{Name: "resident"}, s.cfg.Now())
	if err != nil {
		return storeError(err, "application")
	}
	resp := applicationResponse(rec, s.issuerID(a))
	resp.Secret = secret
	c.Response().Header().Set("Location", "/v1/applications/"+rec.ID)
	return c.JSON(http.StatusCreated, resp)
}

// applicationError answers an application that does not validate with every problem.
func applicationError(err error) error {
	var ve *permit.ValidationError
	if errors.As(err, &ve) {
		e := apiError(http.StatusBadRequest, "invalid_application", "the application has invalid fields")
		e.Problems = ve.Problems
		return e
	}
	return apiError(http.StatusBadRequest, "malformed_application", clip(err.Error()))
}

// checkPhoto accepts a JPEG or PNG of at most MaxPhoto bytes that decodes as
// an image of sane dimensions, and returns its media type.
func checkPhoto(photo []byte) (string, error) {
	if len(photo) > MaxPhoto {
		return "", apiError(http.StatusRequestEntityTooLarge, "photo_too_large", "the photo is larger than 200 KB")
	}
	ct := http.DetectContentType(photo)
	if ct != "image/jpeg" && ct != "image/png" {
		return "", apiError(http.StatusBadRequest, "photo_not_image", "the photo must be a JPEG or PNG image")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(photo))
	if err != nil || "image/"+format != ct || cfg.Width < 32 || cfg.Height < 32 || cfg.Width > maxPhotoSide || cfg.Height > maxPhotoSide {
		return "", apiError(http.StatusBadRequest, "photo_not_image", fmt.Sprintf("the photo must be a readable JPEG or PNG of 32 to %d pixels a side", maxPhotoSide))
	}
	switch cfg.ColorModel {
	case color.RGBA64Model, color.NRGBA64Model, color.Gray16Model:
		return "", apiError(http.StatusBadRequest, "photo_not_image", "16-bit images are not accepted: save the photo with 8 bits a channel")
	}
	if _, _, err := image.Decode(bytes.NewReader(photo)); err != nil {
		return "", apiError(http.StatusBadRequest, "photo_not_image", "the photo is truncated or corrupt")
	}
	return ct, nil
}

// application shows an application to whoever holds its secret.
func (s *Server) application(c echo.Context) error {
	secret, ok := bearer(c.Request())
	if !ok {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="application"`)
		return apiError(http.StatusUnauthorized, "unauthorized", "send the application's secret as a bearer token")
	}
	a, err := s.cfg.Store.Application(c.Param("id"))
	if err != nil || !a.CheckSecret(secret) {
		// The same answer for an unknown id and a wrong secret.
		return apiError(http.StatusNotFound, "not_found", "no application with that id and secret")
	}
	return c.JSON(http.StatusOK, applicationResponse(a, s.issuerOf(a.Authority)))
}
