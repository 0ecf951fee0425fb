package verifier

// Code identifies one reason a presentation was refused or warned about.
// Codes are stable: scripts and apps may match on them.
type Code string

// Refusal and warning codes. docs/credential-format.md lists them all.
const (
	CodeMalformed          Code = "malformed"
	CodeTooLarge           Code = "too_large"
	CodeAlgorithm          Code = "alg_not_allowed"
	CodeType               Code = "wrong_typ"
	CodeCritical           Code = "unsupported_crit"
	CodeUnknownKey         Code = "unknown_key"
	CodeUnknownIssuer      Code = "unknown_issuer"
	CodeSignature          Code = "bad_signature"
	CodeNotPermit          Code = "not_a_permit"
	CodeDisclosure         Code = "bad_disclosure"
	CodeDisclosureUnknown  Code = "disclosure_not_in_credential"
	CodeDisclosureTwice    Code = "duplicate_disclosure"
	CodeHolderKeyWeak      Code = "holder_key_weak"
	CodeHolderKeyInvalid   Code = "holder_key_invalid"
	CodeHolderBindingMiss  Code = "holder_binding_missing"
	CodeHolderBindingKey   Code = "holder_binding_wrong_key"
	CodeSDHash             Code = "holder_binding_sd_hash"
	CodeAudience           Code = "wrong_audience"
	CodeNonce              Code = "wrong_nonce"
	CodeStale              Code = "presentation_stale"
	CodeFuture             Code = "presentation_from_future"
	CodeReplay             Code = "replayed"
	CodeNotYetValid        Code = "not_yet_valid"
	CodeEndorsementOverdue Code = "endorsement_overdue"
	CodeRevoked            Code = "revoked"
	CodeSuspended          Code = "suspended"
	CodeSuperseded         Code = "superseded"
	CodeStatusIndex        Code = "status_index_out_of_range"
	CodeStatusMissing      Code = "status_list_missing"
	CodeStatusStale        Code = "status_list_stale"
	CodeStatusNotYetValid  Code = "status_list_not_yet_valid"
	CodePurposeRefused     Code = "purpose_refused"
	CodePurposeUnknown     Code = "purpose_unknown"
	CodeNotDisclosed       Code = "claims_not_disclosed"
	CodeTrustExpired       Code = "trust_list_expired"
	CodeTrustNotYetValid   Code = "trust_list_not_yet_valid"
	CodeTrustMissing       Code = "trust_missing"

	// Warnings only.
	CodeTrustOld       Code = "trust_data_old"
	CodeTrustGrace     Code = "trust_list_in_grace"
	CodeClockBehind    Code = "clock_behind_trust_list"
	CodeNotHolderBound Code = "not_holder_bound"
)

// Reason is one refusal or warning, in Chinese and English.
type Reason struct {
	Code Code `json:"code"`
	// Message is the English text; MessageZH the Chinese.
	Message   string `json:"message"`
	MessageZH string `json:"message_zh"`
	// Detail adds specifics (which claim, how old), in English.
	Detail string `json:"detail,omitempty"`
}

var messages = map[Code][2]string{
	CodeMalformed:          {"the code is not an e-permit presentation", "二维码内容不是电子居住证"},
	CodeTooLarge:           {"the code is too large", "二维码内容过长"},
	CodeAlgorithm:          {"signature algorithm not allowed (Ed25519; ES256 for a device key)", "签名算法不被接受（仅限 Ed25519；设备密钥可用 ES256）"},
	CodeType:               {"wrong token type", "令牌类型错误"},
	CodeCritical:           {"unsupported critical header", "含有无法识别的关键头部参数"},
	CodeUnknownKey:         {"signed by a key that is not in the trust list", "签名密钥不在信任列表中"},
	CodeUnknownIssuer:      {"issuer is not a trusted authority", "签发机关不在信任列表中"},
	CodeSignature:          {"issuer signature does not verify: the permit was altered or forged", "签发机关签名无效：证件被篡改或伪造"},
	CodeNotPermit:          {"not a residence permit credential", "不是居住证凭证"},
	CodeDisclosure:         {"a disclosed field is malformed", "披露的字段格式错误"},
	CodeDisclosureUnknown:  {"a disclosed field is not part of the signed permit", "披露的字段不属于签发的证件"},
	CodeDisclosureTwice:    {"a field is disclosed twice", "字段被重复披露"},
	CodeHolderKeyWeak:      {"the permit is bound to a device key anyone can sign for: it is forged or was issued in error", "证件绑定的设备密钥任何人都能签名：证件系伪造或签发有误"},
	CodeHolderKeyInvalid:   {"the permit is bound to a device key that is not a valid public key", "证件绑定的设备密钥不是有效的公钥"},
	CodeHolderBindingMiss:  {"no proof that the phone showing the code holds the permit", "缺少持证设备的绑定证明"},
	CodeHolderBindingKey:   {"holder proof is not signed by the permit holder's device", "持证人绑定签名不是持证设备所签"},
	CodeSDHash:             {"holder proof does not cover this presentation", "持证人绑定证明与出示内容不符"},
	CodeAudience:           {"the code was made for another verifier", "二维码为其他核验方生成"},
	CodeNonce:              {"the code does not answer this verifier's challenge", "二维码未响应本次核验挑战"},
	CodeStale:              {"the code is too old: ask for a fresh live code (a screenshot goes stale)", "二维码已过期：请出示实时二维码（截图无效）"},
	CodeFuture:             {"the code is dated in the future: check the clocks", "二维码时间在未来：请检查设备时间"},
	CodeReplay:             {"the same code was already presented", "该二维码已被出示过"},
	CodeNotYetValid:        {"the permit is not yet valid", "居住证尚未生效"},
	CodeEndorsementOverdue: {"endorsement overdue: the permit is suspended until its yearly endorsement (Art. 10)", "逾期未签注：居住证暂停使用，签注后恢复（第十条）"},
	CodeRevoked:            {"the permit has been revoked", "居住证已被注销"},
	CodeSuspended:          {"the permit is suspended", "居住证已暂停使用"},
	CodeSuperseded:         {"this credential was replaced by a newer one for the same permit (a new phone or an endorsement): ask the holder to show the current one", "此电子证照已被同一居住证的新证照取代（更换手机或签注后重新领取），请持证人出示最新的电子居住证"},
	CodeStatusIndex:        {"the permit's status entry is outside its status list", "居住证状态索引超出状态列表范围"},
	CodeStatusMissing:      {"no status list for this permit: revocation cannot be checked", "缺少状态列表，无法核查是否注销"},
	CodeStatusStale:        {"the status list is out of date: sync the verifier", "状态列表已过时，请同步核验设备"},
	CodeStatusNotYetValid:  {"the status list is not valid yet: check this device's clock", "状态列表尚未生效：请检查本设备时间"},
	CodePurposeRefused:     {"this purpose is refused", "不接受此用途"},
	CodePurposeUnknown:     {"unknown purpose", "未知用途"},
	CodeNotDisclosed:       {"the fields this purpose needs were not shown", "未出示此用途所需的字段"},
	CodeTrustExpired:       {"the trust list has expired: sync the verifier", "信任列表已失效，请同步核验设备"},
	CodeTrustNotYetValid:   {"the trust list is not valid yet: check this device's clock", "信任列表尚未生效：请检查本设备时间"},
	CodeTrustMissing:       {"no trust data", "缺少信任数据"},
	CodeTrustOld:           {"trust data is older than the policy allows: sync soon", "信任数据较旧，请尽快同步"},
	CodeTrustGrace:         {"the trust list has expired and is used within its grace period", "信任列表已过期，正在宽限期内使用"},
	CodeClockBehind:        {"this device's clock is behind the trust list: check the time", "本设备时间早于信任列表签发时间，请检查时间"},
	CodeNotHolderBound:     {"not bound to the holder's device (a copy would pass too)", "未与持证设备绑定（复制件同样可通过）"},
}

func reason(c Code, detail string) Reason {
	m := messages[c]
	return Reason{Code: c, Message: m[0], MessageZH: m[1], Detail: detail}
}
