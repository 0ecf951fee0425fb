package permit

// Service is one right, basic public service or convenience that the holder of a permit in use enjoys in the
// city of residence (Art. 12 and 13), with a stable code and names in Chinese and English.
type Service struct {
	Code    string `json:"code"`
	Article string `json:"article"`
	ZH      string `json:"zh"`
	EN      string `json:"en"`
}

// services lists Art. 12 (rights, then the basic public services, items 1-6) and Art. 13 (conveniences,
// items 1-7) in the order of the Regulations.
var services = []Service{
	{"employment", "Art. 12", "劳动就业", "Employment"},
	{"social_insurance", "Art. 12", "参加社会保险", "Social insurance"},
	{"housing_fund", "Art. 12", "缴存、提取和使用住房公积金", "Paying into, drawing on and using the housing provident fund"},
	{"compulsory_education", "Art. 12", "义务教育", "Compulsory education"},
	{"public_employment_services", "Art. 12", "基本公共就业服务", "Basic public employment services"},
	{"public_health_services", "Art. 12", "基本公共卫生服务和计划生育服务", "Basic public health and family planning services"},
	{"culture_sports", "Art. 12", "公共文化体育服务", "Public cultural and sports services"},
	{"legal_aid", "Art. 12", "法律援助和其他法律服务", "Legal aid and other legal services"},
	{"other_public_services", "Art. 12", "国家规定的其他基本公共服务", "Other basic public services prescribed by the State"},
	{"exit_entry_documents", "Art. 13", "按照国家有关规定办理出入境证件", "Applying for exit and entry documents as the State prescribes"},
	{"identity_card", "Art. 13", "按照国家有关规定换领、补领居民身份证", "Renewing or replacing the resident identity card as the State prescribes"},
	{"vehicle_registration", "Art. 13", "机动车登记", "Motor vehicle registration"},
	{"driving_licence", "Art. 13", "申领机动车驾驶证", "Applying for a driving licence"},
	{"vocational_qualification", "Art. 13", "报名参加职业资格考试、申请授予职业资格", "Sitting vocational qualification examinations and applying for qualifications"},
	{"birth_services", "Art. 13", "办理生育服务登记和其他计划生育证明材料", "Birth service registration and other family planning certificates"},
	{"other_conveniences", "Art. 13", "国家规定的其他便利", "Other conveniences prescribed by the State"},
}

// AllServices returns the rights, basic public services and conveniences of Art. 12 and 13, in the order of the
// Regulations. The slice is a copy.
func AllServices() []Service {
	return append([]Service(nil), services...)
}

// Services returns what the holder may use on day today: [AllServices] while the permit is usable
// ([State.Usable]), and nil while it is suspended for want of an endorsement or not yet valid (Art. 10).
func (p Permit) Services(today Date) []Service {
	if !p.State(today).Usable() {
		return nil
	}
	return AllServices()
}
