import CuratorCore

/// Writes the one-sentence reason shown with a recommendation, in English or Chinese.
/// It only says what `Evidence` holds: no history item is named unless it is in the evidence.
public struct ReasonWriter: Sendable {
    public var language: ReasonLanguage

    public init(language: ReasonLanguage) { self.language = language }

    public func reason(for product: Product, evidence: Evidence) -> String {
        let title = displayTitle(product)
        switch evidence.source {
        case .popular:
            return language == .en
                ? "Popular with shoppers right now: \(title)."
                : "近期热门商品，为您推荐「\(title)」。"
        case .personalisationOff:
            return language == .en
                ? "Popular with shoppers right now (personalised recommendations are off): \(title)."
                : "近期热门商品（您已关闭个性化推荐），为您推荐「\(title)」。"
        case .featured:
            return language == .en ? "Featured: \(title)." : "精选推荐：「\(title)」。"
        case .similarToProduct:
            guard let item = evidence.historyItems.first else { return fallback(title) }
            return language == .en
                ? "Similar to \(displayTitle(item.title, id: item.productID))\(sharedPhraseEN(evidence))."
                : "与「\(displayTitle(item.title, id: item.productID))」相似\(sharedPhraseZH(evidence))。"
        case .personalModel, .similarToHistory:
            if evidence.historyItems.isEmpty { return fallback(title) }
            return language == .en ? english(title, evidence) : chinese(title, evidence)
        }
    }

    private func fallback(_ title: String) -> String {
        language == .en
            ? "Picked for you from your shopping history: \(title)."
            : "根据您的购物记录，为您推荐「\(title)」。"
    }

    private func english(_ title: String, _ evidence: Evidence) -> String {
        let names = evidence.historyItems.map { displayTitle($0.title, id: $0.productID) }
        if let category = evidence.sharedCategory.map(Self.departmentName) {
            // "Because you recently viewed similar outdoor items such as A and B, we recommend C."
            var verbs: [String] = []
            for item in evidence.historyItems where !verbs.contains(Self.verbEN(item.event)) { verbs.append(Self.verbEN(item.event)) }
            return "Because you recently \(Self.list(verbs, and: "and")) similar \(category.lowercased()) items such as \(Self.list(names, and: "and")), we recommend \(title)."
        }
        // "Because you recently bought A and viewed B, we recommend C."
        var clauses: [(EventType, [String])] = []
        for (item, name) in zip(evidence.historyItems, names) {
            if let i = clauses.firstIndex(where: { $0.0 == item.event }) { clauses[i].1.append(name) } else { clauses.append((item.event, [name])) }
        }
        let text = clauses.map { Self.clauseEN($0.0, Self.list($0.1, and: "and")) }
        return "Because you recently \(Self.list(text, and: "and")), we recommend \(title)."
    }

    private func chinese(_ title: String, _ evidence: Evidence) -> String {
        var byEvent: [(EventType, [String])] = []
        for item in evidence.historyItems {
            let name = "「\(displayTitle(item.title, id: item.productID))」"
            if let i = byEvent.firstIndex(where: { $0.0 == item.event }) { byEvent[i].1.append(name) } else { byEvent.append((item.event, [name])) }
        }
        let similar = evidence.sharedCategory.map { "类似的\(Self.chineseDepartment($0))" } ?? ""
        let clauses = byEvent.map { "\(Self.verbZH($0.0))了\(similar)\($0.1.joined(separator: "和"))" }
        return "因为您最近\(clauses.joined(separator: "，还"))，为您推荐「\(title)」。"
    }

    private func sharedPhraseEN(_ evidence: Evidence) -> String {
        if let brand = evidence.sharedBrand { return ", from the same brand (\(brand))" }
        if let category = evidence.sharedCategory { return ", in \(Self.departmentName(category))" }
        return ""
    }

    private func sharedPhraseZH(_ evidence: Evidence) -> String {
        if let brand = evidence.sharedBrand { return "，同为\(brand)品牌" }
        if let category = evidence.sharedCategory { return "，同属\(Self.chineseDepartment(category))" }
        return ""
    }

    /// A department as a Chinese sentence names it: a Chinese name as is ("户外用品"); a
    /// shop's name in another script set apart and called a kind of goods (" Outdoor 类商品").
    static func chineseDepartment(_ category: String) -> String {
        let name = departmentName(category)
        let isChinese = name.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }
        return isChinese ? name : " \(name) 类商品"
    }

    private func displayTitle(_ product: Product) -> String { displayTitle(product.title, id: product.id) }

    /// Some real catalogues have products with empty titles; name them by id rather than by nothing.
    private func displayTitle(_ title: String, id: String) -> String {
        if !title.isEmpty { return title }
        return language == .en ? "product \(id)" : "商品 \(id)"
    }

    /// "Outdoor > Hiking Backpack" reads as its department, "Outdoor".
    static func departmentName(_ category: String) -> String {
        let parts = category.split(separator: ">").map { $0.trimmingCharacters(in: " ") }
        return parts.first.map { String($0) } ?? category
    }

    /// The verb alone, for "you recently VERB similar … items".
    static func verbEN(_ event: EventType) -> String {
        switch event {
        case .view, .click: "viewed"
        case .cart: "shortlisted"
        case .favorite: "saved"
        case .purchase: "bought"
        }
    }

    /// The verb with its object: "added A to your cart".
    static func clauseEN(_ event: EventType, _ object: String) -> String {
        switch event {
        case .view: "viewed \(object)"
        case .click: "looked at \(object)"
        case .cart: "added \(object) to your cart"
        case .favorite: "saved \(object)"
        case .purchase: "bought \(object)"
        }
    }

    static func verbZH(_ event: EventType) -> String {
        switch event {
        case .view: "浏览"
        case .click: "点击"
        case .cart: "加购"
        case .favorite: "收藏"
        case .purchase: "购买"
        }
    }

    static func list(_ items: [String], and word: String) -> String {
        switch items.count {
        case 0: ""
        case 1: items[0]
        case 2: "\(items[0]) \(word) \(items[1])"
        default: items.dropLast().joined(separator: ", ") + ", \(word) " + items[items.count - 1]
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in characters: Character) -> Substring {
        var s = self
        while s.first == characters { s = s.dropFirst() }
        while s.last == characters { s = s.dropLast() }
        return s
    }
}
