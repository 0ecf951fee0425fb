package synthetic

// county is a county-level division of GB/T 2260 with its full name.
type county struct {
	code, name string
}

// city is a prefecture-level city of Zhejiang with its counties and its
// weight: roughly its share of the province's people living away from
// their household registration (7th national census, 2020; rounded, for
// the shape of the data only).
type city struct {
	name     string
	weight   int
	counties []county
}

// zhejiang lists the 11 prefecture-level cities of Zhejiang (3301…3311) and
// their county-level divisions (GB/T 2260, 2023).
var zhejiang = []city{
	{"杭州市", 26, []county{{"330102", "上城区"}, {"330105", "拱墅区"}, {"330106", "西湖区"}, {"330108", "滨江区"},
		{"330109", "萧山区"}, {"330110", "余杭区"}, {"330111", "富阳区"}, {"330112", "临安区"}, {"330113", "临平区"},
		{"330114", "钱塘区"}, {"330122", "桐庐县"}, {"330127", "淳安县"}, {"330182", "建德市"}}},
	{"宁波市", 19, []county{{"330203", "海曙区"}, {"330205", "江北区"}, {"330206", "北仑区"}, {"330211", "镇海区"},
		{"330212", "鄞州区"}, {"330213", "奉化区"}, {"330225", "象山县"}, {"330226", "宁海县"}, {"330281", "余姚市"},
		{"330282", "慈溪市"}}},
	{"温州市", 12, []county{{"330302", "鹿城区"}, {"330303", "龙湾区"}, {"330304", "瓯海区"}, {"330305", "洞头区"},
		{"330324", "永嘉县"}, {"330326", "平阳县"}, {"330327", "苍南县"}, {"330328", "文成县"}, {"330329", "泰顺县"},
		{"330381", "瑞安市"}, {"330382", "乐清市"}, {"330383", "龙港市"}}},
	{"嘉兴市", 9, []county{{"330402", "南湖区"}, {"330411", "秀洲区"}, {"330421", "嘉善县"}, {"330424", "海盐县"},
		{"330481", "海宁市"}, {"330482", "平湖市"}, {"330483", "桐乡市"}}},
	{"湖州市", 4, []county{{"330502", "吴兴区"}, {"330503", "南浔区"}, {"330521", "德清县"}, {"330522", "长兴县"},
		{"330523", "安吉县"}}},
	{"绍兴市", 7, []county{{"330602", "越城区"}, {"330603", "柯桥区"}, {"330604", "上虞区"}, {"330624", "新昌县"},
		{"330681", "诸暨市"}, {"330683", "嵊州市"}}},
	{"金华市", 12, []county{{"330702", "婺城区"}, {"330703", "金东区"}, {"330723", "武义县"}, {"330726", "浦江县"},
		{"330727", "磐安县"}, {"330781", "兰溪市"}, {"330782", "义乌市"}, {"330783", "东阳市"}, {"330784", "永康市"}}},
	{"衢州市", 1, []county{{"330802", "柯城区"}, {"330803", "衢江区"}, {"330822", "常山县"}, {"330824", "开化县"},
		{"330825", "龙游县"}, {"330881", "江山市"}}},
	{"舟山市", 2, []county{{"330902", "定海区"}, {"330903", "普陀区"}, {"330921", "岱山县"}, {"330922", "嵊泗县"}}},
	{"台州市", 7, []county{{"331002", "椒江区"}, {"331003", "黄岩区"}, {"331004", "路桥区"}, {"331022", "三门县"},
		{"331023", "天台县"}, {"331024", "仙居县"}, {"331081", "温岭市"}, {"331082", "临海市"}, {"331083", "玉环市"}}},
	{"丽水市", 1, []county{{"331102", "莲都区"}, {"331121", "青田县"}, {"331122", "缙云县"}, {"331123", "遂昌县"},
		{"331124", "松阳县"}, {"331125", "云和县"}, {"331126", "庆元县"}, {"331127", "景宁畲族自治县"}, {"331181", "龙泉市"}}},
}

// origin is a household registration outside Zhejiang, weighted roughly
// by the provinces people come from (Anhui, Jiangxi, Henan, Guizhou,
// Sichuan, Hunan, Hubei, Yunnan, Chongqing, Guangxi, Jiangsu).
type origin struct {
	weight int
	county county
	// province is the provincial part of the address.
	province string
	// ethnicities are GB/T 3304 codes drawn for people born there besides
	// Han (01), one in ten.
	ethnicities []string
}

var origins = []origin{
	{7, county{"341221", "阜阳市临泉县"}, "安徽省", nil},
	{6, county{"341222", "阜阳市太和县"}, "安徽省", nil},
	{4, county{"341623", "亳州市利辛县"}, "安徽省", []string{"03"}},
	{3, county{"341321", "宿州市砀山县"}, "安徽省", nil},
	{3, county{"340421", "淮南市凤台县"}, "安徽省", []string{"03"}},
	{5, county{"360424", "九江市修水县"}, "江西省", nil},
	{3, county{"360681", "鹰潭市贵溪市"}, "江西省", nil},
	{4, county{"411521", "信阳市罗山县"}, "河南省", []string{"03"}},
	{4, county{"411627", "周口市太康县"}, "河南省", []string{"03"}},
	{3, county{"411723", "驻马店市平舆县"}, "河南省", nil},
	{5, county{"520526", "毕节市威宁彝族回族苗族自治县"}, "贵州省", []string{"07", "03", "06"}},
	{3, county{"520524", "毕节市织金县"}, "贵州省", []string{"06", "09", "07"}},
	{4, county{"511623", "广安市邻水县"}, "四川省", nil},
	{3, county{"511321", "南充市南部县"}, "四川省", nil},
	{3, county{"513723", "巴中市平昌县"}, "四川省", nil},
	{3, county{"430524", "邵阳市隆回县"}, "湖南省", []string{"06", "13"}},
	{2, county{"430626", "岳阳市平江县"}, "湖南省", nil},
	{3, county{"421127", "黄冈市黄梅县"}, "湖北省", nil},
	{2, county{"421126", "黄冈市蕲春县"}, "湖北省", nil},
	{3, county{"532128", "昭通市镇雄县"}, "云南省", []string{"07", "06"}},
	{2, county{"500235", "云阳县"}, "重庆市", []string{"15"}},
	{2, county{"500101", "万州区"}, "重庆市", []string{"15"}},
	{2, county{"450921", "玉林市容县"}, "广西壮族自治区", []string{"08"}},
	{2, county{"320382", "徐州市邳州市"}, "江苏省", nil},
}

// fromZhejiang is the share, in percent, of people whose household
// registration is in another city of Zhejiang.
const fromZhejiang = 20

var surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")

var givenChars = []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英玉兰辉鹏华红梅建国志强海燕宇浩然思雨欣怡子涵梓轩晨阳佳琪文博雅婷俊杰家豪嘉怡天宇晓东春燕丹丹")

var streets = []string{"文一西路", "学院路", "解放路", "人民路", "中山路", "建设路", "新华路", "江南大道", "环城北路", "科技路",
	"工业园路", "创业大道", "金桥路", "湖滨路", "振兴路", "世纪大道", "东风路", "幸福路", "青年路", "和平路"}

var towns = []string{"城关镇", "新集镇", "高桥镇", "王庄乡", "柳河镇", "石桥镇", "大河乡", "东岗镇", "三里镇", "杨湾乡"}

// revokeReasons and suspendReasons are what officials write.
var revokeReasons = []string{"持证人离开本市 the holder left the city", "已落户本市 household registered in this city",
	"信息有误，已重新申领 particulars wrong, applied again", "持证人死亡 the holder died"}

var suspendReasons = []string{"核查居住信息 checking the residence", "涉嫌冒用 suspected misuse, under review"}
