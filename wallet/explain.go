package wallet

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/url"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/trust"
)

// CodeUpToDate is the issuer's answer to a refresh when the permit has not
// been endorsed since the credential held was issued (Wallet.Refresh).
const CodeUpToDate = "up_to_date"

// issuerCodes are the words for the error codes of an issuer that a wallet
// meets: OAuth and OpenID4VCI codes, which come in English alone, and the
// service's own codes, for an answer without message_zh.
var issuerCodes = map[string]trust.Text{
	"invalid_grant": {
		ZH: "领取码无效、已使用或已过期（领取码 15 分钟内有效，只能用一次）。请到窗口重新获取领取码。",
		EN: "The offer code is unknown, used or expired (an offer lasts 15 minutes and works once). Ask the counter for a new one.",
	},
	"invalid_token": {
		ZH: "领取授权已使用或已过期，请重新扫描领取码。",
		EN: "The authorization to receive the permit was used or has expired: scan the offer code again.",
	},
	"invalid_proof": {
		ZH: "签发机关未接受本设备的密钥证明。如果此居住证已在另一部手机上领取，请使用那部手机出示；如那部手机已不在您手中，请到窗口申请补发。",
		EN: "The issuer did not accept this device's proof of its key. If the permit was received on another phone, show it from that phone; if you no longer have it, ask the counter for a re-issue.",
	},
	"invalid_nonce": {
		ZH: "签名所用的一次性随机数已失效，请重试。",
		EN: "The one-time number the proof was signed over is no longer valid: try again.",
	},
	"invalid_request": {
		ZH: "签发机关认为请求不完整或格式有误，请更新钱包后重试。",
		EN: "The issuer found the request incomplete or malformed: update the wallet and try again.",
	},
	"unsupported_grant_type": {
		ZH: "签发机关不支持这种领取方式。",
		EN: "The issuer does not support this way of receiving a permit.",
	},
	"unknown_credential_configuration": {
		ZH: "签发机关不签发这种证照，此领取码可能不是给电子居住证钱包的。",
		EN: "The issuer does not issue this kind of credential: the offer may be meant for another wallet.",
	},
	"unsupported_credential_format": {
		ZH: "签发机关不签发这种格式的证照。",
		EN: "The issuer does not issue credentials in this format.",
	},
	"invalid_credential_request": {
		ZH: "签发机关拒绝了领取请求，请更新钱包后重试。",
		EN: "The issuer refused the credential request: update the wallet and try again.",
	},
	"credential_request_denied": {
		ZH: "签发机关拒绝签发，请联系签发机关。",
		EN: "The issuer refused to issue the credential: contact the issuing authority.",
	},
	CodeUpToDate: {
		ZH: "电子居住证已是最新，无需更新。如需年度签注，请在签注期内到窗口办理。",
		EN: "The credential is up to date: nothing to refresh. The yearly endorsement is done at the counter, in its window.",
	},
	"permit_suspended": {
		ZH: "居住证已被暂停使用，暂时不能领取或更新。请联系签发机关。",
		EN: "The permit is suspended: it cannot be received or refreshed for now. Contact the issuing authority.",
	},
	"permit_revoked": {
		ZH: "居住证已被注销，不能再领取。请联系签发机关；如仍符合条件，可重新申领。",
		EN: "The permit was revoked and cannot be received any more. Contact the issuing authority; if you still qualify, apply again.",
	},
	"rate_limited": {
		ZH: "请求过于频繁，请稍后再试。",
		EN: "Too many requests: try again shortly.",
	},
}

// CodeText returns the words for an error code of the issuer service (an
// OAuth or OpenID4VCI code, or one of the service's own), for a page that
// reads the code itself; ok is false for a code the wallet does not know.
func CodeText(code string) (text trust.Text, ok bool) {
	text, ok = issuerCodes[code]
	return text, ok
}

// The words for the wallet's own errors.
var (
	textNotMyKey = trust.Text{
		ZH: "此证照绑定在另一台设备的密钥上，本钱包不能保存或出示它。",
		EN: "This credential is bound to another device's key: this wallet cannot keep or show it.",
	}
	textIssuerSignature = trust.Text{
		ZH: "签发机关的签名核验未通过，已拒收（可能是伪造的证照）。",
		EN: "The issuer's signature did not verify: refused (the credential may be forged).",
	}
	textInvalidCredential = trust.Text{
		ZH: "收到的内容不是有效的电子居住证。",
		EN: "What was received is not a valid e-permit credential.",
	}
	textOlder = trust.Text{
		ZH: "钱包中已有这张居住证更新的证照，保留现有证照。",
		EN: "The wallet already holds a newer credential of this permit and keeps it.",
	}
	textIssuerConflict = trust.Text{
		ZH: "钱包已持有另一签发机关签发的同号居住证，已拒收（可能是钓鱼链接）。",
		EN: "The wallet holds a permit of this number from another issuer: refused (this may be a phishing link).",
	}
	textUntrusted = trust.Text{
		ZH: "签发机关不在钱包的信任列表中（或信任列表已过期），已拒绝（可能是钓鱼链接）。",
		EN: "The issuer is not in the wallet's trust list (or the list has expired): refused (this may be a phishing link).",
	}
	textNoTrustList = trust.Text{
		ZH: "钱包没有信任列表，无法辨别真假签发机关：请先获取信任列表（permit wallet trust）。",
		EN: "The wallet holds no trust list and cannot tell a genuine issuer: get one first (permit wallet trust).",
	}
	textNotFound = trust.Text{
		ZH: "钱包中没有这张居住证。",
		EN: "The wallet holds no such permit.",
	}
	textAmbiguous = trust.Text{
		ZH: "钱包中有多张居住证，请指明居住证号。",
		EN: "The wallet holds several permits: name the permit number.",
	}
	textUnknownPurpose = trust.Text{
		ZH: "没有这种出示用途。",
		EN: "There is no such purpose.",
	}
	textMissingGroup = trust.Text{
		ZH: "此证照缺少该用途需要的信息，请到窗口重新领取。",
		EN: "The credential lacks what this purpose needs: have it issued again at the counter.",
	}
	textRevoked = trust.Text{
		ZH: "此居住证已被签发机关注销，不能再出示。请联系签发机关；如仍符合条件，可重新申领。",
		EN: "The permit was revoked by the issuing authority and can no longer be shown. Contact the issuing authority; if you still qualify, apply again.",
	}
	textSuperseded = trust.Text{
		ZH: "此电子证照已被新证照取代（已在另一部手机上领取，或签注后已换发），本机的二维码不再有效。请用持有新证照的手机出示；如那部手机已不在您手中，请到窗口申请补发。",
		EN: "This credential was replaced by a newer one (received on another phone, or after an endorsement): this wallet's code is no longer accepted. Show the permit from the phone that holds the newer credential; if you no longer have it, ask the counter for a re-issue.",
	}
	textMetadata = trust.Text{
		ZH: "无法读取签发机关公布的信息，请稍后再试。",
		EN: "The issuer's published metadata could not be read: try again later.",
	}
	textOffer = trust.Text{
		ZH: "这不是有效的居住证领取码。",
		EN: "This is not a valid permit offer.",
	}
	textInsecure = trust.Text{
		ZH: "钱包目录或设备密钥文件可被其他用户读取，钱包拒绝使用：请按提示修改权限。",
		EN: "The wallet directory or the device key file can be read by other users, so the wallet refuses to use it: change the permissions as shown.",
	}
	textExists = trust.Text{
		ZH: "该目录中已有设备密钥（钱包已存在）。",
		EN: "The directory already holds a device key (the wallet exists).",
	}
	textNoWallet = trust.Text{
		ZH: "找不到钱包或其中的文件，请检查目录，或先创建钱包（permit wallet init）。",
		EN: "The wallet, or a file in it, was not found: check the directory, or create the wallet first (permit wallet init).",
	}
	textNetwork = trust.Text{
		ZH: "无法连接签发机关，请检查网络后重试。",
		EN: "The issuer could not be reached: check the network and try again.",
	}
	textRefused = trust.Text{
		ZH: "签发机关拒绝了请求。",
		EN: "The issuer refused the request.",
	}
	textOther = trust.Text{
		ZH: "操作未能完成，原因见下方英文说明。",
		EN: "The operation did not complete.",
	}
)

// Explain returns what to tell a resident about err, in Chinese and
// English: what happened and, where there is something to do, what. It
// knows the wallet's errors, an issuer's refusals (in the service's own
// words when it gave them in Chinese too, else the words of CodeText for
// the code), and failures to reach the issuer; ok is false for any other
// error, for which text is a general sentence and the error's own words
// are the detail to show.
func Explain(err error) (text trust.Text, ok bool) {
	var ie *IssuerError
	var refused *RefusedError
	var se *StatusError
	var ne net.Error
	var ue *url.Error
	switch {
	case err == nil:
		return trust.Text{}, false
	case errors.As(err, &refused):
		return refused.Refusal, true
	case errors.As(err, &se):
		if se.Status == StatusRevoked {
			return textRevoked, true
		}
		return textSuperseded, true
	case errors.As(err, &ie):
		if ie.MessageZH != "" {
			return trust.Text{ZH: ie.MessageZH, EN: ie.Message}, true
		}
		if t, known := CodeText(ie.Code); known {
			return t, true
		}
		return textRefused, true
	case errors.Is(err, ErrNotMyKey):
		return textNotMyKey, true
	case errors.Is(err, ErrIssuerSignature):
		return textIssuerSignature, true
	case errors.Is(err, ErrSuperseded):
		return textOlder, true
	case errors.Is(err, ErrIssuerConflict):
		return textIssuerConflict, true
	case errors.Is(err, ErrUntrustedIssuer):
		return textUntrusted, true
	case errors.Is(err, ErrNoTrustList):
		return textNoTrustList, true
	case errors.Is(err, ErrNotFound):
		return textNotFound, true
	case errors.Is(err, ErrAmbiguous):
		return textAmbiguous, true
	case errors.Is(err, ErrUnknownPurpose):
		return textUnknownPurpose, true
	case errors.Is(err, ErrMissingGroup):
		return textMissingGroup, true
	case errors.Is(err, ErrIssuerMetadata):
		return textMetadata, true
	case errors.Is(err, oid4vci.ErrInvalidOffer):
		return textOffer, true
	case errors.Is(err, ErrInvalidCredential):
		return textInvalidCredential, true
	case errors.Is(err, keys.ErrInsecurePermissions):
		return textInsecure, true
	case errors.Is(err, fs.ErrExist):
		return textExists, true
	case errors.Is(err, fs.ErrNotExist):
		return textNoWallet, true
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne), errors.As(err, &ue):
		return textNetwork, true
	}
	return textOther, false
}
