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

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/permit"
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
	State     issuer.AppState    `json:"state"`
	Authority string             `json:"authority"`
	Eligible  bool               `json:"eligible"`
	Unmet     []permit.Condition `json:"unmet,omitempty"`
	Rejected  []string           `json:"reject_reasons,omitempty"`
	PermitNo  string             `json:"permit_no,omitempty"`
	MaskedID  string             `json:"masked_id"`
}

func applicationResponse(a issuer.Application, iss string) ApplicationResponse {
	return ApplicationResponse{ID: a.ID, State: a.State, Authority: iss, Eligible: a.Decision.Eligible,
		Unmet: a.Decision.Unmet, Rejected: a.RejectReasons, PermitNo: a.PermitNo, MaskedID: a.MaskedID}
}

// submit takes an application, decides its eligibility and stores it. The
// answer depends on the form alone: it says nothing of other records.
func (s *Server) submit(c echo.Context) error {
	var req SubmitRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Application) == 0 {
		return apiErrorZH(http.StatusBadRequest, "malformed_body", "缺少申请表（application）", "the application is missing")
	}
	form, err := permit.ParseApplication(req.Application)
	if err != nil {
		return applicationError(err)
	}
	photoType := ""
	if len(req.Photo) > 0 {
		if photoType, err = checkPhoto(req.Photo); err != nil {
			return err
		}
	}
	rec, secret, err := s.svc.Submit(c.Request().Context(), issuer.Submission{Form: form, Photo: req.Photo, PhotoType: photoType}, s.cfg.Now())
	var e *issuer.Error
	if errors.As(err, &e) && e.Code == "no_authority" {
		return apiErrorZH(http.StatusUnprocessableEntity, e.Code, e.ZH, e.EN)
	}
	if err != nil {
		return err
	}
	resp := applicationResponse(rec, s.svc.IssuerOf(rec.Authority))
	resp.Secret = secret
	c.Response().Header().Set("Location", "/v1/applications/"+rec.ID)
	return c.JSON(http.StatusCreated, resp)
}

// applicationError answers an application that does not parse or validate
// with every problem.
func applicationError(err error) error {
	var ve *permit.ValidationError
	if errors.As(err, &ve) {
		return serviceError(err)
	}
	return apiErrorZH(http.StatusBadRequest, "malformed_application", "申请表格式错误："+clip(err.Error()), "malformed application: "+clip(err.Error()))
}

// checkPhoto accepts a JPEG or PNG of at most MaxPhoto bytes that decodes as
// an image of sane dimensions, and returns its media type.
func checkPhoto(photo []byte) (string, error) {
	if len(photo) > MaxPhoto {
		return "", apiErrorZH(http.StatusRequestEntityTooLarge, "photo_too_large", "照片大于 200 KB", "the photo is larger than 200 KB")
	}
	ct := http.DetectContentType(photo)
	if ct != "image/jpeg" && ct != "image/png" {
		return "", apiErrorZH(http.StatusBadRequest, "photo_not_image", "照片须为 JPEG 或 PNG 图片", "the photo must be a JPEG or PNG image")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(photo))
	if err != nil || "image/"+format != ct || cfg.Width < 32 || cfg.Height < 32 || cfg.Width > maxPhotoSide || cfg.Height > maxPhotoSide {
		return "", apiErrorZH(http.StatusBadRequest, "photo_not_image", fmt.Sprintf("照片须为可读的 JPEG 或 PNG，每边 32 至 %d 像素", maxPhotoSide), fmt.Sprintf("the photo must be a readable JPEG or PNG of 32 to %d pixels a side", maxPhotoSide))
	}
	switch cfg.ColorModel {
	case color.RGBA64Model, color.NRGBA64Model, color.Gray16Model:
		return "", apiErrorZH(http.StatusBadRequest, "photo_not_image", "不接受 16 位图片，请以每通道 8 位保存", "16-bit images are not accepted: save the photo with 8 bits a channel")
	}
	if _, _, err := image.Decode(bytes.NewReader(photo)); err != nil {
		return "", apiErrorZH(http.StatusBadRequest, "photo_not_image", "照片不完整或已损坏", "the photo is truncated or corrupt")
	}
	return ct, nil
}

// application shows an application: to an officer (token or console
// session) with its particulars and flags, the read audited; to whoever
// holds its secret, as its applicant sees it.
func (s *Server) application(c echo.Context) error {
	if t, ok := c.Get(officialKey).(issuer.Official); ok {
		v, err := s.svc.Application(c.Request().Context(), t, c.Param("id"), s.cfg.Now())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	}
	secret, ok := bearer(c.Request())
	if !ok {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="application"`)
		return apiErrorZH(http.StatusUnauthorized, "unauthorized", "请以申请时得到的密钥作为 Bearer 令牌", "send the application's secret as a bearer token")
	}
	a, err := s.svc.ApplicationBySecret(c.Request().Context(), c.Param("id"), secret)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, applicationResponse(a, s.svc.IssuerOf(a.Authority)))
}
