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
    }

    struct Department {
        var name: String
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
            return [
                Department(name: "户外用品", brands: ["山峰", "远行者", "北岭", "极光"],
                           adjectives: ["轻量", "防水", "专业", "户外", "超轻"],
                           kinds: [Kind(name: "登山背包", variants: ["20升", "30升", "40升", "55升"], phrase: "适合长途徒步，背负舒适"),
                                   Kind(name: "登山鞋", variants: ["男款", "女款", "中帮", "低帮"], phrase: "防滑耐磨，在崎岖山路上稳定可靠"),
                                   Kind(name: "露营帐篷", variants: ["单人", "双人", "四人"], phrase: "几分钟即可搭好，防风防雨"),
                                   Kind(name: "冲锋衣", variants: ["S码", "M码", "L码", "XL码"], phrase: "防水透气，可收纳进口袋"),
                                   Kind(name: "登山杖", variants: ["碳纤维", "铝合金"], phrase: "下坡时减轻膝盖负担")],
                           priceRange: 99...1899),
                Department(name: "厨房用品", brands: ["家厨", "铁匠", "咖啡坊", "炉火"],
                           adjectives: ["不锈钢", "不粘", "铸铁", "专业", "小巧"],
                           kinds: [Kind(name: "厨师刀", variants: ["6英寸", "8英寸"], phrase: "锋利持久，切片切丁都轻松"),
                                   Kind(name: "煎锅", variants: ["24厘米", "28厘米", "32厘米"], phrase: "受热均匀，少油不粘"),
                                   Kind(name: "磨豆机", variants: ["电动", "手摇"], phrase: "研磨均匀，适合意式和手冲"),
                                   Kind(name: "珐琅锅", variants: ["4升", "6升"], phrase: "炖煮烘焙皆宜，可直接进烤箱"),
                                   Kind(name: "砧板", variants: ["竹制", "胡桃木", "大号"], phrase: "不伤刀刃，清洗方便")],
                           priceRange: 39...999),
                Department(name: "美妆护肤", brands: ["柔光", "纯肌", "丝绒", "花漾"],
                           adjectives: ["补水", "维C", "温和", "哑光", "夜间修护"],
                           kinds: [Kind(name: "精华液", variants: ["30毫升", "50毫升"], phrase: "提亮肤色，改善暗沉"),
                                   Kind(name: "口红", variants: ["玫瑰色", "正红色", "裸色", "莓果色"], phrase: "显色持久，一整天不脱妆"),
                                   Kind(name: "洗发水", variants: ["250毫升", "500毫升"], phrase: "温和清洁，不带走头皮油脂"),
                                   Kind(name: "面霜", variants: ["50毫升", "100毫升"], phrase: "锁水保湿，肌肤柔软舒缓"),
                                   Kind(name: "眼影盘", variants: ["暖色", "冷色", "烟熏"], phrase: "易于晕染，日常晚宴皆宜")],
                           priceRange: 29...599),
                Department(name: "数码电子", brands: ["伏特", "声悦", "像素", "弧光"],
                           adjectives: ["无线", "降噪", "便携", "快充", "智能"],
                           kinds: [Kind(name: "蓝牙耳机", variants: ["头戴式", "入耳式", "黑色", "白色"], phrase: "音质清晰，续航30小时"),
                                   Kind(name: "蓝牙音箱", variants: ["迷你", "大号", "户外"], phrase: "低音浑厚，充满整个房间"),
                                   Kind(name: "充电器", variants: ["30瓦", "65瓦", "100瓦"], phrase: "可同时为笔记本和手机充电"),
                                   Kind(name: "充电宝", variants: ["10000毫安", "20000毫安"], phrase: "出门几天也不怕没电"),
                                   Kind(name: "智能手表", variants: ["40毫米", "44毫米"], phrase: "记录步数、睡眠和心率")],
                           priceRange: 59...2999),
                Department(name: "运动健身", brands: ["核心", "铁峰", "天顶", "步履"],
                           adjectives: ["可调节", "防滑", "折叠", "加厚", "环保"],
                           kinds: [Kind(name: "瑜伽垫", variants: ["4毫米", "6毫米", "8毫米"], phrase: "缓冲关节，各种体式都稳稳抓地"),
                                   Kind(name: "哑铃套装", variants: ["10公斤", "20公斤", "32公斤"], phrase: "满足从弯举到推举的各种训练"),
                                   Kind(name: "跑步鞋", variants: ["男款", "女款", "越野"], phrase: "减震回弹，跑得更远"),
                                   Kind(name: "弹力带", variants: ["轻度", "中度", "重度"], phrase: "随时随地进行力量训练"),
                                   Kind(name: "跳绳", variants: ["竞速", "负重"], phrase: "转动顺滑，适合高强度有氧")],
                           priceRange: 29...1299),
                Department(name: "家居生活", brands: ["北欧巢", "明光", "暖居", "橡木"],
                           adjectives: ["现代", "亚麻", "可调光", "手工", "简约"],
                           kinds: [Kind(name: "台灯", variants: ["黄铜", "白色", "黑色"], phrase: "光线柔和均匀，适合阅读"),
                                   Kind(name: "被套", variants: ["单人", "双人", "加大"], phrase: "夏季清凉，冬季温暖"),
                                   Kind(name: "毛毯", variants: ["灰色", "姜黄", "浅绿"], phrase: "为沙发增添质感与温暖"),
                                   Kind(name: "香薰蜡烛", variants: ["雪松", "香草", "无花果"], phrase: "燃烧干净，可持续四十小时"),
                                   Kind(name: "挂钟", variants: ["30厘米", "40厘米"], phrase: "静音走时，百搭各种房间")],
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

    /// Writes `products.csv` and `events.csv` in the interchange format into `folder`.
    public func write(to folder: String) throws -> Output {
        guard products > 0, shoppers > 0 else { throw CuratorError.configuration("--products and --shoppers must be at least 1") }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: seed)
        let departments = Self.departments(language)

        struct Item { var department: Int; var kind: Int; var popularity: Double }
        var items: [Item] = []
        var usedTitles = Set<String>()
        var productCSV = "product_id,title,description,brand,category,price\n"
        for index in 0..<products {
            let d = index % departments.count
            let department = departments[d]
            // Draw until the title is new (a few tries; a huge catalogue may repeat some).
            var k = 0, brand = "", adjective = "", variant = ""
            for _ in 0..<25 {
                k = Int.random(in: 0..<department.kinds.count, using: &rng)
                brand = department.brands.randomElement(using: &rng)!
                adjective = department.adjectives.randomElement(using: &rng)!
                variant = department.kinds[k].variants.randomElement(using: &rng)!
                if usedTitles.insert("\(d)|\(k)|\(brand)|\(adjective)|\(variant)").inserted { break }
            }
            let kind = department.kinds[k]
            let title: String
            let description: String
            switch language {
            case .en:
                title = "\(brand) \(adjective) \(kind.name) \(variant)"
                description = "The \(brand) \(adjective.lowercased()) \(kind.name.lowercased()) \(kind.phrase). \(variant) version."
            case .zh:
                title = "\(brand)\(adjective)\(kind.name) \(variant)"
                description = "\(brand)\(adjective)\(kind.name)，\(kind.phrase)。规格：\(variant)。"
            }
            let low = log(department.priceRange.lowerBound), high = log(department.priceRange.upperBound)
            let price = exp(Double.random(in: low...high, using: &rng))
            let priceText = language == .en ? String(format: "%.2f", price) : String(format: "%.0f", price)
            // Zipf-like popularity: a few products draw most of the attention.
            let popularity = 1.0 / pow(Double(index / departments.count + 1), 0.8) * Double.random(in: 0.5...1.5, using: &rng)
            items.append(Item(department: d, kind: k, popularity: popularity))
            let category = language == .en ? "\(department.name) > \(kind.name)" : "\(department.name) > \(kind.name)"
            productCSV += [String(format: "P%05d", index + 1), title, description, brand, category, priceText]
                .map(Self.csvField).joined(separator: ",") + "\n"
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
