import CuratorCore
import Foundation

/// A synthetic but believable shop: departments with their own brands, product kinds and
/// price ranges, and shoppers with steady tastes whose views, carts and purchases follow them.
/// It lets the Quick start run with nothing to download but the model.
public struct SampleShop: Sendable {
    public enum Language: String, Sendable, CaseIterable { case en, zh }

    public var products: Int
    public var shoppers: Int
    public var language: Language
    public var seed: UInt64

    public init(products: Int = 600, shoppers: Int = 300, language: Language = .en, seed: UInt64 = 42) {
        self.products = products
        self.shoppers = shoppers
        self.language = language
        self.seed = seed
    }

    struct Kind {
        var name: String
        var variants: [String]
        var phrase: String
        /// Selling points a listing names (Chinese shop only).
        var features: [String] = []
        /// Other names shoppers search for, appended to titles the way marketplaces do (Chinese shop only).
        var keywords: [String] = []
        /// Model names, Latin as in real Chinese listings (Chinese shop only; may be empty).
        var models: [String] = []
        /// Colours (Chinese shop only; may be empty).
        var colours: [String] = []
        /// Selling words that suit this kind ("降噪" for earphones, not for chargers); when
        /// empty the department's adjectives are used (the English shop).
        var adjectives: [String] = []
    }

    struct Department {
        var name: String
        /// In the Chinese shop the Chinese name, a space, then the Latin one ("声悦 Sonora"), as
        /// brands sold in China are listed.
        var brands: [String]
        var adjectives: [String]
        var kinds: [Kind]
        var priceRange: ClosedRange<Double>
    }

    static func departments(_ language: Language) -> [Department] {
        switch language {
        case .en:
            return [
                Department(name: "Outdoor", brands: ["Summit", "TrailCo", "NorthRidge", "Alpenglow"],
                           adjectives: ["Lightweight", "Waterproof", "Trail", "Expedition", "Ultralight"],
                           kinds: [Kind(name: "Hiking Backpack", variants: ["20L", "30L", "40L", "55L"], phrase: "carries your gear on long day hikes"),
                                   Kind(name: "Hiking Boots", variants: ["Men's", "Women's", "Mid", "Low"], phrase: "keeps your feet dry and steady on rocky trails"),
                                   Kind(name: "Camping Tent", variants: ["1-Person", "2-Person", "4-Person"], phrase: "pitches in minutes and stands up to wind and rain"),
                                   Kind(name: "Rain Jacket", variants: ["S", "M", "L", "XL"], phrase: "sheds rain and packs into its own pocket"),
                                   Kind(name: "Trekking Poles", variants: ["Carbon", "Aluminium"], phrase: "take the strain off your knees on descents")],
                           priceRange: 25...260),
                Department(name: "Kitchen", brands: ["Casa", "IronChef", "Brewly", "Hearth"],
                           adjectives: ["Stainless", "Non-Stick", "Cast Iron", "Professional", "Compact"],
                           kinds: [Kind(name: "Chef Knife", variants: ["6 inch", "8 inch", "10 inch"], phrase: "holds a razor edge for slicing and dicing"),
                                   Kind(name: "Frying Pan", variants: ["24cm", "28cm", "32cm"], phrase: "heats evenly and releases eggs with no oil"),
                                   Kind(name: "Coffee Grinder", variants: ["Burr", "Manual", "Electric"], phrase: "grinds beans evenly for espresso or filter"),
                                   Kind(name: "Dutch Oven", variants: ["4qt", "6qt"], phrase: "braises, bakes bread and goes from stove to oven"),
                                   Kind(name: "Cutting Board", variants: ["Bamboo", "Walnut", "Large"], phrase: "is gentle on knife edges and easy to clean")],
                           priceRange: 12...180),
                Department(name: "Beauty", brands: ["Lumiere", "PureSkin", "Velvet", "Bloom"],
                           adjectives: ["Hydrating", "Vitamin C", "Gentle", "Matte", "Overnight"],
                           kinds: [Kind(name: "Face Serum", variants: ["30ml", "50ml"], phrase: "brightens and evens out skin tone"),
                                   Kind(name: "Lipstick", variants: ["Rose", "Red", "Nude", "Berry"], phrase: "gives rich colour that lasts all day"),
                                   Kind(name: "Shampoo", variants: ["250ml", "500ml"], phrase: "cleans without stripping natural oils"),
                                   Kind(name: "Moisturiser", variants: ["50ml", "100ml"], phrase: "locks in moisture for soft, calm skin"),
                                   Kind(name: "Eyeshadow Palette", variants: ["Warm", "Cool", "Smoky"], phrase: "blends easily from soft day looks to evening drama")],
                           priceRange: 6...75),
                Department(name: "Electronics", brands: ["Voltix", "Sonora", "Pixelon", "Arc"],
                           adjectives: ["Wireless", "Noise-Cancelling", "Portable", "Fast-Charging", "Smart"],
                           kinds: [Kind(name: "Headphones", variants: ["Over-Ear", "On-Ear", "Black", "White"], phrase: "delivers clear sound with 30 hours of battery"),
                                   Kind(name: "Bluetooth Speaker", variants: ["Mini", "Max", "Outdoor"], phrase: "fills a room with deep bass"),
                                   Kind(name: "USB-C Charger", variants: ["30W", "65W", "100W"], phrase: "charges a laptop and a phone at once"),
                                   Kind(name: "Power Bank", variants: ["10000mAh", "20000mAh"], phrase: "keeps your phone going for days away from a socket"),
                                   Kind(name: "Smartwatch", variants: ["40mm", "44mm"], phrase: "tracks steps, sleep and heart rate")],
                           priceRange: 15...350),
                Department(name: "Fitness", brands: ["CoreFlex", "IronPeak", "Zenith", "Stride"],
                           adjectives: ["Adjustable", "Non-Slip", "Foldable", "Heavy-Duty", "Eco"],
                           kinds: [Kind(name: "Yoga Mat", variants: ["4mm", "6mm", "8mm"], phrase: "cushions joints and grips in every pose"),
                                   Kind(name: "Dumbbell Set", variants: ["10kg", "20kg", "32kg"], phrase: "covers every exercise from curls to presses"),
                                   Kind(name: "Running Shoes", variants: ["Men's", "Women's", "Trail"], phrase: "absorbs impact mile after mile"),
                                   Kind(name: "Resistance Bands", variants: ["Light", "Medium", "Heavy"], phrase: "builds strength anywhere, even in a hotel room"),
                                   Kind(name: "Jump Rope", variants: ["Speed", "Weighted"], phrase: "turns smoothly for fast cardio sessions")],
                           priceRange: 8...220),
                Department(name: "Home", brands: ["Nordic Nest", "Lumen", "Cozy", "Oakline"],
                           adjectives: ["Modern", "Linen", "Dimmable", "Handmade", "Minimalist"],
                           kinds: [Kind(name: "Table Lamp", variants: ["Brass", "White", "Black"], phrase: "casts a warm, even light for reading"),
                                   Kind(name: "Duvet Cover", variants: ["Single", "Double", "King"], phrase: "feels cool in summer and cosy in winter"),
                                   Kind(name: "Throw Blanket", variants: ["Grey", "Mustard", "Sage"], phrase: "adds texture and warmth to any sofa"),
                                   Kind(name: "Scented Candle", variants: ["Cedar", "Vanilla", "Fig"], phrase: "burns cleanly for forty hours"),
                                   Kind(name: "Wall Clock", variants: ["30cm", "40cm"], phrase: "ticks silently and suits any room")],
                           priceRange: 10...160),
            ]
        case .zh:
            // Titles the way JD and Taobao list them: Chinese brand with its Latin name, a model
            // name, selling point + kind, spec in Latin units, colour, and search keywords; the
            // descriptions list features (GORE-TEX, PD快充) as real listings do.
            return [
                Department(name: "户外用品", brands: ["山峰 Summit", "远行者 TrailCo", "北岭 NorthRidge", "极光 Alpenglow"],
                           adjectives: ["轻量", "防水", "专业", "户外", "超轻"],
                           kinds: [Kind(name: "登山背包", variants: ["20L", "30L", "40L", "55L"], phrase: "背负系统贴合背部，长途徒步也不累",
                                        features: ["透气背板", "防泼水面料", "附防雨罩", "多隔层收纳"], keywords: ["户外徒步双肩包", "大容量旅行包"],
                                        models: ["Trail", "Ascent", "Alpine Pro"], colours: ["黑色", "军绿", "橙色"],
                                        adjectives: ["轻量", "防水", "大容量", "专业", "超轻"]),
                                   Kind(name: "登山鞋", variants: ["男款", "女款", "中帮", "低帮"], phrase: "防滑耐磨，在崎岖山路上稳定可靠",
                                        features: ["GORE-TEX防水透气", "Vibram橡胶大底", "防撞鞋头", "缓震中底"], keywords: ["户外徒步鞋", "防滑越野登山靴"],
                                        models: ["Hiker Mid", "X-Trek", "Peak GTX"], colours: ["棕色", "灰色", "黑色"],
                                        adjectives: ["防水", "防滑", "轻量", "专业", "耐磨"]),
                                   Kind(name: "露营帐篷", variants: ["单人", "双人", "3-4人"], phrase: "几分钟即可搭好，防风防雨",
                                        features: ["铝合金帐杆", "双层防暴雨", "PU3000涂层", "自动速开"], keywords: ["户外露营装备", "野营帐篷"],
                                        models: ["Camp 2", "Dome Plus", "Cloud Up"], colours: ["军绿", "沙色"],
                                        adjectives: ["防雨", "速开", "轻量", "专业", "加厚"]),
                                   Kind(name: "冲锋衣", variants: ["S码", "M码", "L码", "XL码"], phrase: "防风防水，透气不闷",
                                        features: ["三合一可拆卸内胆", "全压胶防水", "腋下透气拉链", "可收纳帽"], keywords: ["户外防风外套", "登山服"],
                                        models: ["Storm Shell", "Gale"], colours: ["黑色", "藏青", "红色"],
                                        adjectives: ["防水", "三合一", "轻量", "专业", "防风"]),
                                   Kind(name: "登山杖", variants: ["碳纤维", "铝合金"], phrase: "下坡时减轻膝盖负担",
                                        features: ["三节伸缩", "外锁快调", "EVA防滑手柄", "减震弹簧"], keywords: ["徒步手杖", "户外拐杖"],
                                        models: ["Carbon 3", "Trek Lite"],
                                        adjectives: ["超轻", "伸缩", "折叠", "专业", "减震"])],
                           priceRange: 99...1899),
                Department(name: "厨房用品", brands: ["家厨 Casa", "铁匠 IronChef", "咖啡坊 Brewly", "炉火 Hearth"],
                           adjectives: ["不锈钢", "不粘", "铸铁", "专业", "小巧"],
                           kinds: [Kind(name: "厨师刀", variants: ["6英寸", "8英寸", "10英寸"], phrase: "锋利持久，切片切丁都轻松",
                                        features: ["德国1.4116钢", "锻打刀身", "人体工学刀柄", "出厂开刃"], keywords: ["家用切菜刀", "主厨刀"],
                                        models: ["Gyuto 200", "Santoku"],
                                        adjectives: ["锻打", "不锈钢", "大马士革", "专业", "锋利"]),
                                   Kind(name: "煎锅", variants: ["24cm", "28cm", "32cm"], phrase: "受热均匀，少油不粘",
                                        features: ["麦饭石不粘涂层", "电磁炉燃气灶通用", "加厚复合锅底", "少油烟"], keywords: ["平底锅", "牛排煎蛋锅"],
                                        adjectives: ["不粘", "麦饭石", "加厚", "家用", "少油烟"]),
                                   Kind(name: "磨豆机", variants: ["电动", "手摇"], phrase: "研磨均匀，适合意式和手冲",
                                        features: ["锥形钢刀盘", "40档研磨粗细", "低速防过热", "可拆洗粉仓"], keywords: ["咖啡豆研磨机", "家用磨粉机"],
                                        models: ["Grind S1", "Barista Mini"], colours: ["黑色", "银色"],
                                        adjectives: ["家用", "小巧", "专业", "静音", "便携"]),
                                   Kind(name: "珐琅锅", variants: ["4L", "6L"], phrase: "炖煮烘焙皆宜，可直接进烤箱",
                                        features: ["铸铁珐琅内壁", "锁水锅盖", "明火电磁炉通用", "一锅多用"], keywords: ["铸铁炖锅", "汤锅"],
                                        colours: ["樱桃红", "奶白", "墨绿"],
                                        adjectives: ["铸铁", "加厚", "家用", "多功能", "专业"]),
                                   Kind(name: "砧板", variants: ["竹制", "胡桃木", "大号"], phrase: "不伤刀刃，清洗方便",
                                        features: ["整木无拼接", "防霉抗菌", "双面可用", "导流槽设计"], keywords: ["菜板", "案板"],
                                        adjectives: ["实木", "抗菌", "加厚", "双面", "家用"])],
                           priceRange: 39...999),
                Department(name: "美妆护肤", brands: ["柔光 Lumiere", "纯肌 PureSkin", "丝绒 Velvet", "花漾 Bloom"],
                           adjectives: ["补水", "维C", "温和", "哑光", "夜间修护"],
                           kinds: [Kind(name: "精华液", variants: ["30ml", "50ml"], phrase: "提亮肤色，改善暗沉",
                                        features: ["烟酰胺", "玻尿酸", "维C衍生物", "温和无酒精"], keywords: ["提亮肤色精华", "护肤品"],
                                        models: ["小金瓶", "Glow Serum"],
                                        adjectives: ["补水", "维C", "美白", "修护", "抗皱"]),
                                   Kind(name: "口红", variants: ["#01玫瑰色", "#02正红色", "#03裸色", "#04莓果色"], phrase: "显色持久，一整天不脱妆",
                                        features: ["丝绒哑光", "滋润不拔干", "高显色", "不沾杯"], keywords: ["唇膏", "口红礼盒"],
                                        models: ["Velvet Matte", "Rouge 999"],
                                        adjectives: ["哑光", "滋润", "丝绒", "持久", "显白"]),
                                   Kind(name: "洗发水", variants: ["250ml", "500ml"], phrase: "温和清洁，不带走头皮油脂",
                                        features: ["氨基酸配方", "无硅油", "控油蓬松", "去屑止痒"], keywords: ["洗发露", "男女通用"],
                                        adjectives: ["控油", "去屑", "柔顺", "温和", "蓬松"]),
                                   Kind(name: "面霜", variants: ["50ml", "100ml"], phrase: "锁水保湿，肌肤柔软舒缓",
                                        features: ["神经酰胺修护", "保湿锁水", "敏感肌可用", "清爽不油腻"], keywords: ["保湿霜", "护肤面霜"],
                                        adjectives: ["补水", "保湿", "修护", "温和", "夜间修护"]),
                                   Kind(name: "眼影盘", variants: ["12色 暖色", "12色 冷色", "9色 烟熏"], phrase: "易于晕染，日常晚宴皆宜",
                                        features: ["珠光哑光搭配", "粉质细腻", "易晕染", "附化妆刷"], keywords: ["眼影", "彩妆盘"],
                                        adjectives: ["哑光", "珠光", "大地色", "持久", "新手"])],
                           priceRange: 29...599),
                Department(name: "数码电子", brands: ["伏特 Voltix", "声悦 Sonora", "像素 Pixelon", "弧光 Arc"],
                           adjectives: ["无线", "降噪", "便携", "快充", "智能"],
                           kinds: [Kind(name: "蓝牙耳机", variants: ["头戴式", "入耳式", "半入耳式"], phrase: "音质清晰，续航30小时",
                                        features: ["主动降噪ANC", "蓝牙5.3", "30小时续航", "通话降噪麦克风"], keywords: ["无线耳机", "运动耳机"],
                                        models: ["X3", "Buds Pro", "Air 2"], colours: ["黑色", "白色", "星空蓝"],
                                        adjectives: ["降噪", "无线", "运动", "主动降噪", "HiFi"]),
                                   Kind(name: "蓝牙音箱", variants: ["迷你", "大号", "户外"], phrase: "低音浑厚，充满整个房间",
                                        features: ["IPX7防水", "360°环绕立体声", "TWS串联", "重低音"], keywords: ["无线音响", "便携音箱"],
                                        models: ["Boom 2", "Pulse Mini"], colours: ["黑色", "灰色", "红色"],
                                        adjectives: ["便携", "防水", "无线", "重低音", "智能"]),
                                   Kind(name: "充电器", variants: ["30W", "65W", "100W"], phrase: "可同时为笔记本和手机充电",
                                        features: ["氮化镓GaN", "PD快充", "双Type-C口", "折叠插脚"], keywords: ["USB-C充电头", "快充头"],
                                        models: ["Nano", "GaN Pro"], colours: ["白色", "黑色"],
                                        adjectives: ["快充", "氮化镓", "多口", "便携", "折叠"]),
                                   Kind(name: "充电宝", variants: ["10000mAh", "20000mAh"], phrase: "出门几天也不怕没电",
                                        features: ["22.5W超级快充", "自带双线", "可带上飞机", "LED电量显示"], keywords: ["移动电源", "大容量"],
                                        models: ["PowerCore", "Slim 10"], colours: ["白色", "黑色"],
                                        adjectives: ["快充", "大容量", "便携", "超薄", "磁吸"]),
                                   Kind(name: "智能手表", variants: ["40mm", "44mm"], phrase: "记录步数、睡眠和心率",
                                        features: ["心率血氧监测", "NFC支付", "14天续航", "5ATM防水"], keywords: ["运动手表", "智能手环"],
                                        models: ["Watch S", "Fit 3", "GT Pro"], colours: ["曜石黑", "星光银"],
                                        adjectives: ["智能", "运动", "长续航", "防水", "商务"])],
                           priceRange: 59...2999),
                Department(name: "运动健身", brands: ["核心 CoreFlex", "铁峰 IronPeak", "天顶 Zenith", "步履 Stride"],
                           adjectives: ["可调节", "防滑", "折叠", "加厚", "环保"],
                           kinds: [Kind(name: "瑜伽垫", variants: ["4mm", "6mm", "8mm"], phrase: "缓冲关节，各种体式都稳稳抓地",
                                        features: ["TPE环保材质", "双面防滑纹理", "体位线设计", "附收纳绑带"], keywords: ["健身垫", "加宽加长地垫"],
                                        colours: ["紫色", "蓝色", "粉色"],
                                        adjectives: ["防滑", "加厚", "环保", "加宽", "折叠"]),
                                   Kind(name: "哑铃套装", variants: ["10kg", "20kg", "32kg"], phrase: "满足从弯举到推举的各种训练",
                                        features: ["可调节重量", "包胶防滑", "可拆卸杠铃杆", "静音防撞"], keywords: ["家用健身器材", "杠铃哑铃组合"],
                                        adjectives: ["可调节", "包胶", "家用", "电镀", "环保"]),
                                   Kind(name: "跑步鞋", variants: ["男款", "女款", "越野"], phrase: "减震回弹，跑得更远",
                                        features: ["轻量缓震", "透气飞织鞋面", "碳板推进", "耐磨橡胶底"], keywords: ["运动鞋", "马拉松竞速跑鞋"],
                                        models: ["Run 5", "Speed Pro", "Glide"], colours: ["黑白", "荧光绿", "浅灰"],
                                        adjectives: ["轻量", "缓震", "透气", "竞速", "防滑"]),
                                   Kind(name: "弹力带", variants: ["轻度", "中度", "重度"], phrase: "随时随地进行力量训练",
                                        features: ["天然乳胶", "五条阻力套装", "防滑手柄", "门扣固定"], keywords: ["拉力带", "阻力带"],
                                        adjectives: ["乳胶", "加长", "环保", "防滑", "多档"]),
                                   Kind(name: "跳绳", variants: ["竞速", "负重"], phrase: "转动顺滑，适合高强度有氧",
                                        features: ["钢丝绳芯", "轴承顺滑", "智能计数", "可调绳长"], keywords: ["健身跳绳", "中考专用"],
                                        adjectives: ["计数", "钢丝", "轴承", "专业", "防缠绕"])],
                           priceRange: 29...1299),
                Department(name: "家居生活", brands: ["北欧巢 Nordic Nest", "明光 Lumen", "暖居 Cozy", "橡木 Oakline"],
                           adjectives: ["现代", "亚麻", "可调光", "手工", "简约"],
                           kinds: [Kind(name: "台灯", variants: ["黄铜", "白色", "黑色"], phrase: "光线柔和均匀，适合阅读",
                                        features: ["无频闪护眼", "三档调光", "Type-C充电", "可折叠灯臂"], keywords: ["LED护眼灯", "床头灯"],
                                        models: ["Lumi", "Desk Pro"],
                                        adjectives: ["护眼", "可调光", "LED", "简约", "无线"]),
                                   Kind(name: "被套", variants: ["单人 150×200cm", "双人 200×230cm", "加大 220×240cm"], phrase: "夏季清凉，冬季温暖",
                                        features: ["60支长绒棉", "亲肤透气", "隐形拉链", "不起球"], keywords: ["床上用品", "被罩"],
                                        colours: ["灰色", "米白", "浅蓝"],
                                        adjectives: ["纯棉", "亚麻", "全棉", "简约", "水洗棉"]),
                                   Kind(name: "毛毯", variants: ["灰色", "姜黄", "浅绿"], phrase: "为沙发增添质感与温暖",
                                        features: ["法兰绒", "双面可用", "不掉毛", "可机洗"], keywords: ["沙发毯", "午睡毯"],
                                        adjectives: ["加厚", "珊瑚绒", "法兰绒", "简约", "针织"]),
                                   Kind(name: "香薰蜡烛", variants: ["雪松", "香草", "无花果"], phrase: "燃烧干净，可持续四十小时",
                                        features: ["天然大豆蜡", "纯棉烛芯", "无烟燃烧", "礼盒装"], keywords: ["香氛", "卧室香薰"],
                                        adjectives: ["手工", "大豆蜡", "无烟", "助眠", "礼盒"]),
                                   Kind(name: "挂钟", variants: ["30cm", "40cm"], phrase: "静音走时，百搭各种房间",
                                        features: ["静音扫秒机芯", "北欧简约", "免打孔安装", "高清玻璃镜面"], keywords: ["客厅钟表", "时钟"],
                                        adjectives: ["静音", "简约", "现代", "北欧", "创意"])],
                           priceRange: 29...899),
            ]
        }
    }

    public struct Output: Sendable {
        public var productsPath: String
        public var eventsPath: String
        public var productCount: Int
        public var eventCount: Int
    }

    /// A sample product with the department and kind it was drawn from, which the shop's text
    /// only implies: what a check of a language model's similarities compares against.
    public struct SampleProduct: Sendable {
        public var product: Product
        /// Index of the department (the same index names the same department in both languages).
        public var department: Int
        /// Index of the kind within its department (parallel across languages too).
        public var kind: Int
        /// Relative attention the product draws (Zipf-like), for the shoppers' events.
        var popularity: Double
    }

    /// A kind of product as the shop names it, in both languages: the ground truth for searches.
    public struct KindName: Sendable {
        public var department: Int
        public var kind: Int
        /// "Outdoor > Hiking Boots" / "户外用品 > 登山鞋".
        public var category: String
        /// "Hiking Boots" / "登山鞋".
        public var name: String
    }

    /// Every kind of product the shop of `language` sells, department by department.
    public static func kinds(_ language: Language) -> [KindName] {
        departments(language).enumerated().flatMap { d, department in
            department.kinds.enumerated().map { k, kind in
                KindName(department: d, kind: k, category: "\(department.name) > \(kind.name)", name: kind.name)
            }
        }
    }

    /// The products `write(to:)` writes, in the same order (the same seed gives the same ones).
    public func catalogue() throws -> [SampleProduct] {
        guard products > 0 else { throw CuratorError.configuration("--products must be at least 1") }
        var rng = SeededGenerator(seed: seed)
        return makeProducts(using: &rng)
    }

    /// Draws the products from `rng`; the shoppers' events are drawn from it afterwards, so the
    /// order of draws here fixes every sample shop ever written with a given seed.
    func makeProducts(using rng: inout SeededGenerator) -> [SampleProduct] {
        let departments = Self.departments(language)
        var items: [SampleProduct] = []
        var usedTitles = Set<String>()
        for index in 0..<products {
            let d = index % departments.count
            let department = departments[d]
            // Draw until the title is new (a few tries). Past about 1,700 products the words run
            // out: a product whose draws all repeat gets a model number of its own, as a large
            // shop's listings do, so that no two products share a text (and a vector).
            var k = 0, brand = "", adjective = "", variant = "", repeated = true
            for _ in 0..<25 {
                k = Int.random(in: 0..<department.kinds.count, using: &rng)
                brand = department.brands.randomElement(using: &rng)!
                // As many words either way, so the draw is the same as from the department's list.
                let words = department.kinds[k].adjectives.isEmpty ? department.adjectives : department.kinds[k].adjectives
                adjective = words.randomElement(using: &rng)!
                variant = department.kinds[k].variants.randomElement(using: &rng)!
                if usedTitles.insert("\(d)|\(k)|\(brand)|\(adjective)|\(variant)").inserted {
                    repeated = false
                    break
                }
            }
            let model = repeated ? " Model \(index + 1)" : ""
            let kind = department.kinds[k]
            let text: Listing
            switch language {
            case .en:
                text = Listing(
                    title: "\(brand) \(adjective) \(kind.name) \(variant)\(model)",
                    description: "The \(brand) \(adjective.lowercased()) \(kind.name.lowercased()) \(kind.phrase). \(variant) version.\(model)",
                    brand: brand)
            case .zh:
                // Drawn only for the Chinese shop, so the English shop's draws stay as they were.
                text = Self.chineseListing(brand: brand, adjective: adjective, kind: kind, variant: variant, using: &rng)
            }
            let low = log(department.priceRange.lowerBound), high = log(department.priceRange.upperBound)
            let price = exp(Double.random(in: low...high, using: &rng))
            let priceText = language == .en ? String(format: "%.2f", price) : String(format: "%.0f", price)
            // Zipf-like popularity: a few products draw most of the attention.
            let popularity = 1.0 / pow(Double(index / departments.count + 1), 0.8) * Double.random(in: 0.5...1.5, using: &rng)
            let product = Product(id: String(format: "P%05d", index + 1), title: text.title, description: text.description,
                                  brand: text.brand, category: "\(department.name) > \(kind.name)", price: priceText)
            items.append(SampleProduct(product: product, department: d, kind: k, popularity: popularity))
        }
        return items
    }

    /// A product's title, description and brand as the shop lists them.
    struct Listing {
        var title: String
        var description: String
        var brand: String
    }

    /// A listing as on JD or Taobao: "声悦 Sonora X3 降噪蓝牙耳机 头戴式 黑色 无线耳机", the spec
    /// sometimes first ("山峰 Summit 30L 轻量登山背包"), a description of selling points and specs,
    /// and the brand as "声悦（Sonora）".
    static func chineseListing(brand: String, adjective: String, kind: Kind, variant: String,
                               using rng: inout SeededGenerator) -> Listing {
        let parts = brand.split(separator: " ", maxSplits: 1).map(String.init)
        let brandZH = parts[0], brandLatin = parts.count > 1 ? parts[1] : ""
        let model = !kind.models.isEmpty && Double.random(in: 0..<1, using: &rng) < 0.7 ? kind.models.randomElement(using: &rng) : nil
        let colour = kind.colours.randomElement(using: &rng)
        let keyword = Double.random(in: 0..<1, using: &rng) < 0.5 ? kind.keywords.randomElement(using: &rng) : nil
        let specFirst = variant.contains(where: \.isNumber) && Double.random(in: 0..<1, using: &rng) < 0.5
        var features = kind.features
        features.shuffle(using: &rng)
        let named = "\(adjective)\(kind.name)"
        let title = [brand, model, specFirst ? variant : nil, named, specFirst ? nil : variant, colour, keyword]
            .compactMap { $0 }.joined(separator: " ")
        let modelText = model.map { "\($0) " } ?? ""
        var description = "\(brandZH)\(brandLatin.isEmpty ? "" : "（\(brandLatin)）")\(modelText)\(named)：\(features.prefix(2).joined(separator: "，"))，\(kind.phrase)。"
        description += "规格：\(variant)"
        if let colour { description += "；颜色：\(colour)" }
        description += "。" + (Self.services.randomElement(using: &rng) ?? "")
        return Listing(title: title, description: description,
                       brand: brandLatin.isEmpty ? brandZH : "\(brandZH)（\(brandLatin)）")
    }

    /// The after-sales line Chinese listings end with, whatever the product.
    static let services = ["官方正品，全国联保。", "顺丰包邮，支持七天无理由退货。", "下单送运费险，售后无忧。", "品牌直营，假一赔十。"]

    /// Writes `products.csv` and `events.csv` in the interchange format into `folder`.
    public func write(to folder: String) throws -> Output {
        guard products > 0, shoppers > 0 else { throw CuratorError.configuration("--products and --shoppers must be at least 1") }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: seed)
        let departments = Self.departments(language)
        let items = makeProducts(using: &rng)
        var productCSV = "product_id,title,description,brand,category,price\n"
        for item in items {
            let p = item.product
            productCSV += [p.id, p.title, p.description, p.brand, p.category, p.price ?? ""].map(Self.csvField).joined(separator: ",") + "\n"
        }

        // Popularity-weighted sampling tables: per department, and per (department, kind).
        struct Table {
            var items: [Int] = []
            var cumulative: [Double] = []
            mutating func add(_ item: Int, weight: Double) {
                items.append(item)
                cumulative.append((cumulative.last ?? 0) + weight)
            }
            func draw(using rng: inout SeededGenerator) -> Int {
                let r = Double.random(in: 0..<cumulative[cumulative.count - 1], using: &rng)
                var lo = 0, hi = cumulative.count - 1
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if cumulative[mid] > r { hi = mid } else { lo = mid + 1 }
                }
                return items[lo]
            }
        }
        var byDepartment = [Table](repeating: Table(), count: departments.count)
        var byKind = [[Table]](repeating: [], count: departments.count)
        for d in departments.indices { byKind[d] = [Table](repeating: Table(), count: departments[d].kinds.count) }
        for (i, item) in items.enumerated() {
            byDepartment[item.department].add(i, weight: item.popularity)
            byKind[item.department][item.kind].add(i, weight: item.popularity)
        }

        /// A product of the department, leaning to the shopper's favourite kind when there is one.
        func pick(_ department: Int, favouriteKind: Int?, using rng: inout SeededGenerator) -> Int {
            if let favouriteKind, !byKind[department][favouriteKind].items.isEmpty, Double.random(in: 0..<1, using: &rng) < 0.5 {
                return byKind[department][favouriteKind].draw(using: &rng)
            }
            return byDepartment[department].draw(using: &rng)
        }

        var eventCSV = "user_id,product_id,event,timestamp\n"
        var eventCount = 0
        let start: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z
        for s in 0..<shoppers {
            let shopper = String(format: "S%05d", s + 1)
            let nonEmpty = (0..<departments.count).filter { !byDepartment[$0].items.isEmpty }
            let favourite = nonEmpty.randomElement(using: &rng)!
            let second = Double.random(in: 0..<1, using: &rng) < 0.5 ? nonEmpty.randomElement(using: &rng)! : favourite
            let favouriteKind = Int.random(in: 0..<departments[favourite].kinds.count, using: &rng)
            var time = start + Int64.random(in: 0..<(30 * 86_400_000), using: &rng)
            let sessions = Int.random(in: 2...6, using: &rng)
            for _ in 0..<sessions {
                let roll = Double.random(in: 0..<1, using: &rng)
                let department = roll < 0.7 ? favourite : roll < 0.9 ? second : nonEmpty.randomElement(using: &rng)!
                let kind = department == favourite ? favouriteKind : nil
                for _ in 0..<Int.random(in: 2...5, using: &rng) {
                    let product = pick(department, favouriteKind: kind, using: &rng)
                    let id = String(format: "P%05d", product + 1)
                    time += Int64.random(in: 20_000...400_000, using: &rng)
                    eventCSV += "\(shopper),\(id),view,\(FieldParsing.iso8601(millis: time))\n"
                    eventCount += 1
                    let act = Double.random(in: 0..<1, using: &rng)
                    if act < 0.12 {
                        time += Int64.random(in: 5_000...60_000, using: &rng)
                        eventCSV += "\(shopper),\(id),favorite,\(FieldParsing.iso8601(millis: time))\n"
                        eventCount += 1
                    } else if act < 0.2 {
                        time += Int64.random(in: 2_000...30_000, using: &rng)
                        eventCSV += "\(shopper),\(id),click,\(FieldParsing.iso8601(millis: time))\n"
                        eventCount += 1
                    } else if act < 0.43 {
                        time += Int64.random(in: 5_000...60_000, using: &rng)
                        eventCSV += "\(shopper),\(id),cart,\(FieldParsing.iso8601(millis: time))\n"
                        eventCount += 1
                        if Double.random(in: 0..<1, using: &rng) < 0.5 {
                            time += Int64.random(in: 30_000...600_000, using: &rng)
                            eventCSV += "\(shopper),\(id),purchase,\(FieldParsing.iso8601(millis: time))\n"
                            eventCount += 1
                        }
                    }
                }
                time += Int64.random(in: 3_600_000...(10 * 86_400_000), using: &rng)
            }
        }
        let productsPath = (folder as NSString).appendingPathComponent("products.csv")
        let eventsPath = (folder as NSString).appendingPathComponent("events.csv")
        try productCSV.write(toFile: productsPath, atomically: true, encoding: .utf8)
        try eventCSV.write(toFile: eventsPath, atomically: true, encoding: .utf8)
        return Output(productsPath: productsPath, eventsPath: eventsPath, productCount: products, eventCount: eventCount)
    }

    static func csvField(_ field: String) -> String { RejectsFile.quote(field) }
}
